"""The adoption report sums each learner's activity per programme in the database, on both
backends, within the tenant and the caller's visibility, in a fixed number of queries."""

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from learnreport.domain.access import Principal, RoleName
from learnreport.ingest import ingest
from learnreport.reports import adoption
from learnreport.reports.adoption import Listing, Scope
from learnreport.store import credentials
from learnreport.store.tenants import Tenant

ANN, BOB, CAT, IDLE = (f"{n}0000000-0000-4000-8000-000000000000" for n in "abcd")

GROUPS = [
    {"id": "g-sales", "name": "Sales"},
    {"id": "g-benelux", "name": "Sales Benelux", "parent_id": "g-sales"},
    {"id": "g-support", "name": "Support"},
]
USERS = [
    {"id": "ann", "uuid": ANN, "first_name": "Ann", "last_name": "Archer",
     "username": "aa", "email": "ann@acme.example", "avatar_url": "https://cdn.example/ann.jpg"},
    {"id": "bob", "uuid": BOB, "username": "bob", "email": "bob@acme.example"},
    {"id": "cat", "uuid": CAT, "email": "cat@acme.example"},
    {"id": "idle", "uuid": IDLE, "first_name": "Idle"},
]  # fmt: skip
MEMBERSHIPS = [
    {"user_id": "ann", "group_id": "g-sales"},
    {"user_id": "bob", "group_id": "g-benelux"},
    {"user_id": "cat", "group_id": "g-support"},
]
ACTIVITIES = [
    {"id": "a1", "name": "Metrics", "duration": 30},
    {"id": "a2", "name": "Interviews", "duration": 15},
    {"id": "a3", "name": "Reading"},
    {"id": "a4", "name": "Elsewhere", "duration": 60},
]
PROGRAMMES = [
    {"id": "pa", "title": "People Analytics", "sku": "PA", "abbreviation": "PA",
     "duration": 1200, "activity_ids": ["a1", "a2"]},
    {"id": "hrbp", "title": "HR Business Partner", "sku": "HRBP", "abbreviation": "HRBP",
     "activity_ids": ["a2", "a3"]},
    {"id": "wfp", "title": "Workforce Planning", "sku": "WFP"},
]  # fmt: skip


def result(id_: str, user: str, content: str, state: str, **fields: Any) -> dict[str, Any]:
    return {"id": id_, "user_id": user, "content_id": content, "state": state, **fields}


RESULTS = [
    # ann: two attempts at People Analytics itself (the latest says 75), and both of its
    # activities; a2 is also in HR Business Partner.
    result("r1", "ann", "pa", "in_progress", attempt=1, progress=40, time_spent=600,
           modified_at="2025-03-01T10:00:00Z"),
    result("r2", "ann", "pa", "in_progress", attempt=2, progress=75, time_spent=1200,
           modified_at="2025-04-01T10:00:00Z"),
    result("r3", "ann", "a1", "completed", progress=100, time_spent=1800,
           modified_at="2025-05-01T10:00:00Z"),
    result("r4", "ann", "a2", "passed", progress=100, time_spent=900,
           modified_at="2025-02-01T10:00:00Z"),
    # bob: passed a1, then started it again; a3 under way. No record of a programme itself.
    result("r5", "bob", "a1", "passed", attempt=1, progress=100, time_spent=1500,
           modified_at="2025-06-01T10:00:00Z"),
    result("r6", "bob", "a1", "in_progress", attempt=2, progress=10, time_spent=60,
           modified_at="2025-06-02T10:00:00Z"),
    result("r7", "bob", "a3", "in_progress", progress=50, time_spent=100,
           modified_at="2025-06-03T10:00:00Z"),
    # cat: only a result not started in HR Business Partner, and time outside every programme.
    result("r8", "cat", "a3", "not_started", modified_at="2025-07-01T10:00:00Z"),
    result("r9", "cat", "a4", "completed", progress=100, time_spent=3600,
           modified_at="2025-07-02T10:00:00Z"),
    # idle: time outside every programme only.
    result("r10", "idle", "a4", "completed", progress=100, time_spent=3600,
           modified_at="2025-07-03T10:00:00Z"),
]  # fmt: skip


def build(engine: sa.Engine, tenant: Tenant) -> None:
    for kind, records in [
        ("groups", GROUPS),
        ("users", USERS),
        ("memberships", MEMBERSHIPS),
        ("activities", ACTIVITIES),
        ("programmes", PROGRAMMES),
        ("results", RESULTS),
    ]:
        ingest(engine, tenant.id, kind, records)


@pytest.fixture
def acme(engine: sa.Engine, tenant: Tenant, other_tenant: Tenant) -> Tenant:
    """Acme's records, and globex's with the same ids and uuids in other case, so that a leak
    across tenants would show."""
    build(engine, tenant)
    ingest(engine, other_tenant.id, "users", [{"id": "zoe", "first_name": "Aaron"}])
    ingest(engine, other_tenant.id, "activities", ACTIVITIES)
    ingest(engine, other_tenant.id, "programmes", PROGRAMMES)
    ingest(
        engine,
        other_tenant.id,
        "results",
        [result("r1", "zoe", "pa", "completed", progress=100, time_spent=99_999)],
    )
    return tenant


def owner(tenant: Tenant) -> Principal:
    return Principal(tenant.id, tenant.slug, "test", RoleName.parse("owner"), frozenset())


def read(
    engine: sa.Engine,
    principal: Principal,
    skus: tuple[str, ...] | None = None,
    users: list[str] | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Listing:
    with engine.connect() as connection:
        return adoption.read(connection, principal, Scope(skus), users, offset=offset, limit=limit)


def figures(listing: Listing) -> dict[str, list[tuple[Any, ...]]]:
    """Per learner uuid, their programmes as (name, abbreviation, own progress, items done,
    items, seconds, minutes of duration, last update)."""
    return {
        uuid: [tuple(row[1:]) for row in listing.programmes.get(learner, [])]
        for learner, uuid, _name, _avatar in listing.learners
    }


def test_each_programme_sums_the_learners_activity_on_it_and_on_its_items(
    engine: sa.Engine, acme: Tenant
) -> None:
    found = figures(read(engine, owner(acme)))
    assert found[ANN] == [
        ("HR Business Partner", "HRBP", None, 1, 2, 900, 15, "2025-02-01T10:00:00Z"),
        ("People Analytics", "PA", 75.0, 1 + 1, 2, 600 + 1200 + 1800 + 900, 1200,
         "2025-05-01T10:00:00Z"),
    ]  # fmt: skip
    assert found[BOB] == [
        ("HR Business Partner", "HRBP", None, 0, 2, 100, 15, "2025-06-03T10:00:00Z"),
        ("People Analytics", "PA", None, 1, 2, 1560, 1200, "2025-06-02T10:00:00Z"),
    ]
    assert found[CAT] == [
        ("HR Business Partner", "HRBP", None, 0, 2, 0, 15, "2025-07-01T10:00:00Z"),
    ]


def test_the_latest_attempt_at_the_programme_itself_gives_its_own_progress(
    engine: sa.Engine, acme: Tenant
) -> None:
    again = result(
        "r11", "ann", "pa", "completed", attempt=3, progress=100, modified_at="2025-08-01T00:00:00Z"
    )
    ingest(engine, acme.id, "results", [again])
    people_analytics = figures(read(engine, owner(acme), ("PA",)))[ANN][0]
    assert (people_analytics[2], people_analytics[-1]) == (100.0, "2025-08-01T00:00:00Z")


def test_a_learners_total_counts_each_result_once_though_two_programmes_list_it(
    engine: sa.Engine, acme: Tenant
) -> None:
    listing = read(engine, owner(acme))
    seconds = {uuid: listing.seconds[learner] for learner, uuid, *_ in listing.learners}
    assert seconds == {ANN: 600 + 1200 + 1800 + 900, BOB: 1500 + 60 + 100, CAT: 0}


def test_a_learner_without_activity_on_a_programme_in_scope_is_not_listed(
    engine: sa.Engine, acme: Tenant
) -> None:
    everyone = read(engine, owner(acme))
    assert [row[1] for row in everyone.learners] == [ANN, BOB, CAT]
    assert everyone.count == 3
    people_analytics = read(engine, owner(acme), ("PA",))
    assert ([row[1] for row in people_analytics.learners], people_analytics.count) == (
        [ANN, BOB],
        2,
    )


def test_the_sku_filter_narrows_the_programmes_of_every_learner(
    engine: sa.Engine, acme: Tenant
) -> None:
    found = figures(read(engine, owner(acme), ("HRBP",)))
    assert {uuid: [row[0] for row in rows] for uuid, rows in found.items()} == {
        ANN: ["HR Business Partner"],
        BOB: ["HR Business Partner"],
        CAT: ["HR Business Partner"],
    }
    only_hrbp = read(engine, owner(acme), ("HRBP",))
    seconds = {uuid: only_hrbp.seconds[learner] for learner, uuid, *_ in only_hrbp.learners}
    assert seconds == {ANN: 900, BOB: 100, CAT: 0}


def test_an_sku_matching_nothing_narrows_to_nothing_and_skus_match_exactly(
    engine: sa.Engine, acme: Tenant
) -> None:
    for skus in [("NOPE",), ("pa",), ("WFP",)]:
        listing = read(engine, owner(acme), skus)
        assert (listing.count, listing.learners) == (0, []), skus
    assert read(engine, owner(acme), ("NOPE", "PA")).count == 2


def test_the_programmes_in_scope_are_named_in_order_within_the_tenant(
    engine: sa.Engine, acme: Tenant
) -> None:
    with engine.connect() as connection:
        names = adoption.programme_names(connection, acme.id, Scope(("WFP", "PA", "NOPE")))
        assert names == ["People Analytics", "Workforce Planning"]
        assert adoption.programme_names(connection, acme.id, Scope(("NOPE",))) == []


def test_the_duration_falls_back_to_the_items_and_then_to_nothing(
    engine: sa.Engine, acme: Tenant
) -> None:
    ingest(engine, acme.id, "results", [result("r12", "cat", "wfp", "in_progress")])
    found = figures(read(engine, owner(acme), ("WFP", "HRBP", "PA")))
    durations = {row[0]: row[6] for rows in found.values() for row in rows}
    assert durations == {
        "People Analytics": 1200,
        "HR Business Partner": 15,
        "Workforce Planning": 0,
    }


def test_the_user_ids_filter_picks_learners_by_uuid_in_any_case(
    engine: sa.Engine, acme: Tenant
) -> None:
    listing = read(engine, owner(acme), users=[BOB.upper(), IDLE, "99999999-0000-4000-8000-0"])
    assert ([row[1] for row in listing.learners], listing.count) == ([BOB], 1)


def test_another_tenants_records_never_appear(
    engine: sa.Engine, acme: Tenant, other_tenant: Tenant
) -> None:
    listing = read(engine, owner(acme))
    assert "Aaron" not in [row[2] for row in listing.learners]
    assert max(listing.seconds.values()) < 99_999
    theirs = read(engine, owner(other_tenant))
    assert ([row[2] for row in theirs.learners], theirs.count) == (["Aaron"], 1)
    assert read(engine, owner(other_tenant), users=[ANN]).count == 0


def limited(engine: sa.Engine, tenant: Tenant, groups: list[str]) -> Principal:
    with engine.begin() as connection:
        created = credentials.create(connection, tenant, "key", "department_admin", groups=groups)
    with engine.connect() as connection:
        principal = credentials.load_principal(connection, created.credential.public_id, kind="key")
    assert principal is not None
    return principal


def test_a_department_administrator_sees_its_departments_and_those_below_only(
    engine: sa.Engine, acme: Tenant
) -> None:
    sales = read(engine, limited(engine, acme, ["Sales"]))
    assert ([row[1] for row in sales.learners], sales.count) == ([ANN, BOB], 2)
    support = read(engine, limited(engine, acme, ["Support"]), users=[ANN, CAT])
    assert ([row[1] for row in support.learners], support.count) == ([CAT], 1)


NAMED = [
    ("zed", {"first_name": "Zed"}),
    ("lower", {"first_name": "amy", "last_name": "lower"}),
    ("e-acute", {"first_name": "élodie"}),
    ("E-acute", {"first_name": "Éric"}),
    ("sam2", {"uuid": "f0000000-0000-4000-8000-000000000000", "first_name": "Sam",
              "last_name": "Lee"}),
    ("sam1", {"uuid": "e0000000-0000-4000-8000-000000000000", "first_name": "Sam",
              "last_name": "Lee"}),
    ("blank", {"first_name": " ", "last_name": " ", "username": " ", "email": "x@acme.example"}),
    ("nameless", {}),
    ("last", {"last_name": "Only"}),
]  # fmt: skip


def test_learners_are_ordered_by_name_alike_on_both_databases_and_nameless_last(
    engine: sa.Engine, acme: Tenant
) -> None:
    ingest(engine, acme.id, "users", [{"id": id_, **fields} for id_, fields in NAMED])
    ingest(
        engine,
        acme.id,
        "results",
        [result(f"n-{id_}", id_, "a1", "in_progress") for id_, _ in NAMED],
    )
    names = [row[2] for row in read(engine, owner(acme), ("PA",)).learners]
    assert names == [
        "amy lower",
        "Ann Archer",
        "bob",
        "Only",
        "Sam Lee",
        "Sam Lee",
        "x@acme.example",
        "Zed",
        "Éric",
        "élodie",
        None,
    ]
    uuids = [row[1] for row in read(engine, owner(acme), ("PA",)).learners if row[2] == "Sam Lee"]
    assert uuids == sorted(uuids)


def test_pages_split_the_order_without_repeating_or_skipping_anyone(
    engine: sa.Engine, acme: Tenant
) -> None:
    ingest(engine, acme.id, "users", [{"id": f"same{n}", "first_name": "Same"} for n in range(7)])
    ingest(
        engine,
        acme.id,
        "results",
        [result(f"s{n}", f"same{n}", "a2", "in_progress") for n in range(7)],
    )
    whole = [row[1] for row in read(engine, owner(acme)).learners]
    pages = [read(engine, owner(acme), offset=offset, limit=3) for offset in range(0, 10, 3)]
    paged = [row[1] for page in pages for row in page.learners]
    assert paged == whole
    assert len(set(whole)) == len(whole) == 10


@pytest.fixture
def statements(engine: sa.Engine) -> Iterator[list[str]]:
    """The queries the engine sends, as they are sent (transaction control left out)."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        if args[2].startswith("SELECT"):
            seen.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


def test_a_page_costs_the_same_few_queries_whatever_the_number_of_learners(
    engine: sa.Engine, acme: Tenant, statements: list[str]
) -> None:
    ingest(engine, acme.id, "users", [{"id": f"m{n}"} for n in range(40)])
    ingest(
        engine,
        acme.id,
        "results",
        [result(f"m{n}-{c}", f"m{n}", c, "completed") for n in range(40) for c in ("a1", "a3")],
    )
    costs = []
    for limit in (1, 43):
        statements.clear()
        listing = read(engine, owner(acme), limit=limit)
        assert len(listing.learners) == limit
        costs.append(len(statements))
    assert costs == [4, 4]
