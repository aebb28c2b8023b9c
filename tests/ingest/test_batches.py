"""The write path's rules, on SQLite and PostgreSQL: all-or-nothing, idempotent, by external id."""

import pickle
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, get_args

import msgspec
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from learnreport.ingest import BatchRejected, UnknownKind, convert, ingest, upsert
from learnreport.ingest.batches import canonical
from learnreport.ingest.kinds import TARGETS
from learnreport.store.engine import writing
from learnreport.store.schema import contents, groups, results, users
from learnreport.store.tenants import Tenant


def count(engine: sa.Engine, table: sa.Table, tenant: Tenant) -> int:
    with engine.connect() as connection:
        query = sa.select(sa.func.count()).select_from(table).where(table.c.tenant_id == tenant.id)
        return int(connection.execute(query).scalar_one())


def rejected(engine: sa.Engine, tenant: Tenant, kind: str, records: list[Any]) -> list[tuple]:
    with pytest.raises(BatchRejected) as caught:
        ingest(engine, tenant.id, kind, records)
    return [(error.index, error.field, error.reason) for error in caught.value.errors]


@pytest.fixture
def people(engine: sa.Engine, tenant: Tenant) -> None:
    ingest(engine, tenant.id, "users", [{"id": "u1", "email": "u1@example.com"}, {"id": "u2"}])
    ingest(engine, tenant.id, "activities", [{"id": "a1", "name": "Bite", "duration": 10}])


def test_a_batch_with_one_bad_record_writes_nothing_and_names_record_field_and_reason(
    engine: sa.Engine, tenant: Tenant, people: None
) -> None:
    good = {"id": "r1", "user_id": "u1", "content_id": "a1", "state": "completed"}
    bad = {"id": "r2", "user_id": "u2", "content_id": "a1", "state": "completed", "progress": 101}
    errors = rejected(engine, tenant, "results", [good, bad])
    assert errors == [(1, "progress", "Expected `float` <= 100.0")]
    assert count(engine, results, tenant) == 0


def test_a_text_holding_nul_is_refused_naming_its_record_and_field_on_both_databases(
    engine: sa.Engine, tenant: Tenant, people: None
) -> None:
    """PostgreSQL cannot store NUL in text; SQLite could, and is held to the same rule."""
    paths = [
        {"id": "p1", "name": "Onboarding"},
        {"id": "p2", "name": "On\x00boarding"},
        {"id": "p3", "name": "Sales", "steps": [{"activity_id": "a1"}, {"activity_id": "a\x001"}]},
        {"id": "p\x004", "name": "Ops"},
    ]
    errors = rejected(engine, tenant, "paths", paths)
    reason = "must not contain the NUL character"
    assert errors == [(1, "name", reason), (2, "steps[1].activity_id", reason), (3, "id", reason)]
    with engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT count(*) FROM contents WHERE kind = 'path'")
        assert stored.scalar_one() == 0


def test_every_bad_record_of_a_batch_is_named_not_only_the_first(
    engine: sa.Engine, tenant: Tenant, people: None
) -> None:
    records = [
        {"id": "r1", "user_id": "u1", "content_id": "a1", "state": "completed"},
        {"id": "r2", "user_id": "u1", "content_id": "a1", "state": "done"},
        {"id": "r3", "user_id": "nobody", "content_id": "a1", "state": "passed"},
        {"id": "r4", "user_id": "u2", "content_id": "a1", "state": "passed", "colour": "red"},
        {"id": "r1", "user_id": "u2", "content_id": "a1", "state": "passed"},
        {"id": "r6", "user_id": "u1", "content_id": "a1", "state": "failed"},
        {"user_id": "u1", "content_id": "a1", "state": "failed"},
        {"id": "r8", "user_id": "u2", "content_id": "a1", "state": "passed", "started_at": "soon"},
    ]
    errors = rejected(engine, tenant, "results", records)
    assert [(index, field) for index, field, _ in errors] == [
        (1, "state"),
        (2, "user_id"),
        (3, "colour"),
        (4, "id"),
        (5, "user_id, content_id, attempt"),
        (6, "id"),
        (7, "started_at"),
    ]
    assert "no user with id 'nobody'" in errors[1][2]
    assert count(engine, results, tenant) == 0


def test_sending_the_same_batch_twice_changes_nothing(
    engine: sa.Engine, tenant: Tenant, people: None
) -> None:
    batch = [
        {"id": "r1", "user_id": "u1", "content_id": "a1", "state": "in_progress", "progress": 40},
        {"id": "r2", "user_id": "u2", "content_id": "a1", "state": "passed", "score": 8.5,
         "modified_at": "2025-03-01T10:00:00+01:00"},
    ]  # fmt: skip
    first = ingest(engine, tenant.id, "results", batch)
    with engine.connect() as connection:
        before = connection.execute(sa.select(results).order_by(results.c.id)).all()
    second = ingest(engine, tenant.id, "results", batch)
    with engine.connect() as connection:
        after = connection.execute(sa.select(results).order_by(results.c.id)).all()
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 2)
    assert before == after


def test_a_record_older_than_the_stored_one_is_skipped_and_counted(
    engine: sa.Engine, tenant: Tenant, people: None
) -> None:
    newer = {"id": "r1", "user_id": "u1", "content_id": "a1", "state": "passed",
             "modified_at": "2025-03-02T00:00:00Z"}  # fmt: skip
    older = {**newer, "state": "failed", "modified_at": "2025-03-01T00:00:00Z"}
    ingest(engine, tenant.id, "results", [newer])
    summary = ingest(engine, tenant.id, "results", [older])
    assert (summary.skipped, summary.updated) == (1, 0)
    with engine.connect() as connection:
        assert connection.execute(sa.select(results.c.state)).scalar_one() == "passed"


def test_a_record_without_modified_at_that_differs_updates_the_row_and_its_stamp(
    engine: sa.Engine, tenant: Tenant, people: None
) -> None:
    record = {"id": "r1", "user_id": "u1", "content_id": "a1", "state": "in_progress"}
    ingest(engine, tenant.id, "results", [record], now="2025-01-01T00:00:00Z")
    summary = ingest(
        engine, tenant.id, "results", [{**record, "progress": 50}], now="2025-01-02T00:00:00Z"
    )
    assert summary.updated == 1
    with engine.connect() as connection:
        row = connection.execute(sa.select(results)).mappings().one()
    assert (row["progress"], row["created_at"], row["modified_at"]) == (
        50.0,
        "2025-01-01T00:00:00Z",
        "2025-01-02T00:00:00Z",
    )


def test_references_never_reach_into_another_tenant(
    engine: sa.Engine, tenant: Tenant, other_tenant: Tenant, people: None
) -> None:
    ingest(engine, other_tenant.id, "activities", [{"id": "a2", "name": "Elsewhere"}])
    errors = rejected(
        engine,
        other_tenant,
        "results",
        [{"id": "r1", "user_id": "u1", "content_id": "a2", "state": "passed"}],
    )
    assert errors == [(0, "user_id", "no user with id 'u1'")]


def test_the_same_external_id_may_exist_in_two_tenants(
    engine: sa.Engine, tenant: Tenant, other_tenant: Tenant
) -> None:
    ingest(engine, tenant.id, "users", [{"id": "u1", "email": "same@example.com"}])
    ingest(engine, other_tenant.id, "users", [{"id": "u1", "email": "same@example.com"}])
    assert count(engine, users, tenant) == count(engine, users, other_tenant) == 1


def test_emails_are_stored_in_lower_case_and_unique_within_a_batch(
    engine: sa.Engine, tenant: Tenant
) -> None:
    errors = rejected(
        engine,
        tenant,
        "users",
        [{"id": "u1", "email": "Ann@X.com"}, {"id": "u2", "email": "ann@x.com"}],
    )
    assert errors == [(1, "email", "duplicates record 0 of this batch")]
    ingest(engine, tenant.id, "users", [{"id": "u1", "email": "Ann@X.com"}])
    with engine.connect() as connection:
        assert connection.execute(sa.select(users.c.email)).scalar_one() == "ann@x.com"


def test_a_result_keeps_its_contents_kind_when_written_and_when_moved_to_another_content(
    engine: sa.Engine, tenant: Tenant, people: None
) -> None:
    ingest(engine, tenant.id, "skills", [{"id": "k1", "name": "Skill"}])
    ingest(engine, tenant.id, "results", [
        {"id": "r1", "user_id": "u1", "content_id": "a1", "state": "completed"},
        {"id": "r2", "user_id": "u2", "content_id": "k1", "state": "completed"},
    ])  # fmt: skip
    kinds = stored_kinds(engine, tenant)
    assert kinds == {"r1": ("activity", "activity"), "r2": ("skill", "skill")}

    ingest(engine, tenant.id, "results", [
        {"id": "r1", "user_id": "u1", "content_id": "k1", "state": "completed"},
    ])  # fmt: skip
    assert stored_kinds(engine, tenant)["r1"] == ("skill", "skill")


def stored_kinds(engine: sa.Engine, tenant: Tenant) -> dict[str, tuple[str, str]]:
    """Each result's copy of its content's kind beside the catalog's own."""
    query = (
        sa.select(results.c.external_id, results.c.content_kind, contents.c.kind)
        .join(contents, sa.and_(contents.c.tenant_id == results.c.tenant_id,
                                contents.c.id == results.c.content_id))
        .where(results.c.tenant_id == tenant.id)
    )  # fmt: skip
    with engine.connect() as connection:
        return {external: (copied, kind) for external, copied, kind in connection.execute(query)}


def test_a_kind_the_write_path_does_not_know_is_refused(engine: sa.Engine, tenant: Tenant) -> None:
    with pytest.raises(ValueError, match="unknown kind 'badges'"):
        ingest(engine, tenant.id, "badges", [{"id": "b1"}])


def test_a_batch_that_is_not_an_array_is_refused(engine: sa.Engine, tenant: Tenant) -> None:
    assert rejected(engine, tenant, "users", {"id": "u1"}) == [  # type: ignore[arg-type]
        (0, None, "expected an array of records")
    ]


@settings(max_examples=200)
@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1),
        max_value=datetime(2999, 12, 31),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
        ),
    )
)
def test_any_aware_timestamp_is_stored_as_the_same_instant_in_canonical_text(
    moment: datetime,
) -> None:
    text = canonical(moment.isoformat().replace("+00:00", "Z"))
    assert len(text) == 20 and text.endswith("Z")
    assert datetime.fromisoformat(text) == moment.replace(microsecond=0)


def test_uuids_are_stored_in_lowercase_so_every_dialect_matches_them(
    engine: sa.Engine, tenant: Tenant
) -> None:
    given = "ABCDEF12-3456-4789-8ABC-DEF123456789"
    ingest(engine, tenant.id, "users", [{"id": "u1", "uuid": given}])
    with engine.connect() as connection:
        stored = connection.execute(
            sa.select(users.c.uuid).where(users.c.tenant_id == tenant.id)
        ).scalar_one()
    assert stored == given.lower()


def test_a_unique_value_held_by_a_stored_record_is_refused_by_record_not_by_the_database(
    engine: sa.Engine, tenant: Tenant, people: None
) -> None:
    ingest(engine, tenant.id, "results", [
        {"id": "r1", "user_id": "u1", "content_id": "a1", "attempt": 1, "state": "completed"},
    ])  # fmt: skip
    records = [
        {"id": "u3", "email": "U1@example.com"},
        {"id": "u4", "email": "u4@example.com"},
    ]
    assert rejected(engine, tenant, "users", records) == [
        (0, "email", "is taken by the stored record 'u1'")
    ]
    again = {"id": "r2", "user_id": "u1", "content_id": "a1", "attempt": 1, "state": "failed"}
    assert rejected(engine, tenant, "results", [again]) == [
        (0, "user_id, content_id, attempt", "is taken by the stored record 'r1'")
    ]
    assert count(engine, users, tenant) == 2
    assert count(engine, results, tenant) == 1


def test_a_record_may_keep_its_own_unique_values_and_a_freed_value_may_be_taken_later(
    engine: sa.Engine, tenant: Tenant, people: None
) -> None:
    ingest(engine, tenant.id, "users", [{"id": "u1", "email": "U1@example.com", "last_name": "A"}])
    ingest(engine, tenant.id, "users", [{"id": "u1", "email": "new@example.com"}])
    summary = ingest(engine, tenant.id, "users", [{"id": "u3", "email": "u1@example.com"}])
    assert summary.inserted == 1


def test_a_writer_limited_to_departments_writes_only_records_of_their_people(
    engine: sa.Engine, tenant: Tenant, people: None
) -> None:
    ingest(engine, tenant.id, "groups", [
        {"id": "g-sales", "name": "Sales"},
        {"id": "g-benelux", "name": "Benelux", "parent_id": "g-sales"},
        {"id": "g-eng", "name": "Engineering"},
    ])  # fmt: skip
    ingest(engine, tenant.id, "memberships", [
        {"user_id": "u1", "group_id": "g-benelux"}, {"user_id": "u2", "group_id": "g-eng"},
    ])  # fmt: skip
    with engine.connect() as connection:
        sales = connection.execute(
            sa.select(groups.c.id).where(groups.c.tenant_id == tenant.id, groups.c.name == "Sales")
        ).scalar_one()

    def limited(kind: str, records: list[Any]) -> list[tuple]:
        with pytest.raises(BatchRejected) as caught, engine.begin() as connection:
            upsert(connection, tenant.id, kind, records, limited_to=(sales,))
        return [(error.index, error.field, error.reason) for error in caught.value.errors]

    outside = "is not a person of your departments"
    assert limited("results", [
        {"id": "r1", "user_id": "u1", "content_id": "a1", "state": "completed"},
        {"id": "r2", "user_id": "u2", "content_id": "a1", "state": "completed"},
    ]) == [(1, "user_id", outside)]  # fmt: skip
    assert limited("users", [{"id": "u1", "first_name": "Ann"}, {"id": "u2"}]) == [
        (1, "id", outside)
    ]
    assert limited("memberships", [
        {"user_id": "u2", "group_id": "g-sales"}, {"user_id": "u1", "group_id": "g-eng"},
    ]) == [(0, "user_id", outside), (1, "group_id", "is not one of your departments")]  # fmt: skip
    with pytest.raises(PermissionError), engine.begin() as connection:
        upsert(connection, tenant.id, "groups", [{"id": "g-x", "name": "X"}], limited_to=(sales,))
    assert count(engine, results, tenant) == 0

    with engine.begin() as connection:
        upsert(connection, tenant.id, "users", [{"id": "u9"}], limited_to=(sales,))
        upsert(
            connection, tenant.id, "memberships", [{"user_id": "u9", "group_id": "g-benelux"}],
            limited_to=(sales,),
        )  # fmt: skip
        summary = upsert(connection, tenant.id, "results", [
            {"id": "r9", "user_id": "u9", "content_id": "a1", "state": "passed"},
        ], limited_to=(sales,))  # fmt: skip
    assert summary.inserted == 1


def test_no_record_field_admits_text_longer_than_its_column_holds() -> None:
    """PostgreSQL refuses such text with an error that names no record; the record's own
    limit names it."""
    too_long = []
    for kind, target in TARGETS.items():
        for field in msgspec.structs.fields(target.record):
            column = target.table.c.get(target.renamed.get(field.name, field.name))
            length = getattr(getattr(column, "type", None), "length", None)
            limits = [
                meta.max_length
                for arg in get_args(field.type)
                for meta in getattr(arg, "__metadata__", ())
                if getattr(meta, "max_length", None) is not None
            ]
            if length is not None and field.name != "id" and any(m > length for m in limits):
                too_long.append(f"{kind}.{field.name}")
    assert too_long == []


RESULTS = [
    {"id": "r1", "user_id": "u1", "content_id": "a1", "state": "completed", "progress": 100,
     "completed_at": "2025-03-01T10:00:00.250+02:00"},
    {"id": "r2", "user_id": "u2", "content_id": "a1", "state": "in_progress", "score": 40.5},
]  # fmt: skip


def stored(engine: sa.Engine, tenant: Tenant) -> list[tuple[Any, ...]]:
    """The tenant's results as stored, without the columns that name the tenant's rows."""
    names = [c for c in results.c if c.name not in ("tenant_id", "user_id", "content_id")]
    query = sa.select(*names).where(results.c.tenant_id == tenant.id).order_by(results.c.id)
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]


def test_a_batch_converted_ahead_in_another_process_writes_what_the_batch_writes(
    engine: sa.Engine, tenant: Tenant, other_tenant: Tenant
) -> None:
    for each in (tenant, other_tenant):
        ingest(engine, each.id, "users", [{"id": "u1"}, {"id": "u2"}])
        ingest(engine, each.id, "activities", [{"id": "a1", "name": "Bite"}])
    converted = pickle.loads(pickle.dumps(convert("results", RESULTS)))
    with writing(engine) as connection:
        upsert(connection, tenant.id, "results", RESULTS, now="2026-01-01T00:00:00Z")
        upsert(connection, other_tenant.id, "results", converted, now="2026-01-01T00:00:00Z")
    assert stored(engine, other_tenant) == stored(engine, tenant)
    assert len(stored(engine, tenant)) == 2


def test_a_batch_converted_ahead_is_refused_naming_every_bad_record(
    engine: sa.Engine, tenant: Tenant, people: None
) -> None:
    bad = [RESULTS[0], {**RESULTS[1], "progress": 101}, {"id": "r3", "user_id": "u9"}]
    converted = pickle.loads(pickle.dumps(convert("results", bad)))
    with pytest.raises(BatchRejected) as caught, writing(engine) as connection:
        upsert(connection, tenant.id, "results", converted)
    assert [(error.index, error.field) for error in caught.value.errors] == [
        (1, "progress"),
        (2, "content_id"),
    ]
    assert count(engine, results, tenant) == 0


def test_memberships_are_not_converted_ahead() -> None:
    with pytest.raises(UnknownKind):
        convert("memberships", [])
