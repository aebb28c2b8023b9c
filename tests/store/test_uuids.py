"""The uuids the store mints are version 7: in time order, so that their index grows at
its end."""

from uuid import UUID

from learnreport.store.uuids import mint, minted


def test_a_minted_uuid_is_version_7_of_rfc_9562() -> None:
    found = UUID(minted())
    assert (found.version, found.variant) == (7, "specified in RFC 4122")


def test_uuids_minted_later_sort_after_earlier_ones_by_their_millisecond() -> None:
    first = minted()
    later = [minted() for _ in range(1000)]
    assert all(uuid[:13] >= first[:13] for uuid in later)
    assert len({first, *later}) == 1001


def test_uuids_minted_together_are_distinct_canonical_version_7_uuids() -> None:
    batch = mint(5000)
    assert len(set(batch)) == 5000
    for text in batch:
        found = UUID(text)
        assert (str(found), found.version, found.variant) == (text, 7, "specified in RFC 4122")


def test_uuids_minted_together_carry_one_millisecond_and_differ_in_their_random_bits() -> None:
    batch = mint(2)
    assert batch[0][:13] == batch[1][:13]
    assert batch[0][15:] != batch[1][15:]
