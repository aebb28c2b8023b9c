"""The uuids the store mints are version 7: in time order, so that their index grows at
its end."""

from uuid import UUID

from learnreport.store.uuids import minted


def test_a_minted_uuid_is_version_7_of_rfc_9562() -> None:
    found = UUID(minted())
    assert (found.version, found.variant) == (7, "specified in RFC 4122")


def test_uuids_minted_later_sort_after_earlier_ones_by_their_millisecond() -> None:
    first = minted()
    later = [minted() for _ in range(1000)]
    assert all(uuid[:13] >= first[:13] for uuid in later)
    assert len({first, *later}) == 1001
