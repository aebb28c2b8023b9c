from learnreport.domain.access import SCOPES, WRITE_KINDS
from learnreport.ingest import KINDS


def test_there_is_one_write_scope_for_every_kind_the_write_path_accepts_and_one_for_xapi() -> None:
    assert set(WRITE_KINDS) == set(KINDS)
    assert {scope for scope in SCOPES if scope.startswith("write.")} == {
        *(f"write.{kind}" for kind in KINDS),
        "write.xapi",
    }
