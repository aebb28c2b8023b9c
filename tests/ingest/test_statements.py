"""xAPI statements: what is refused and why, how they are stored, matched and voided, and the
results they make through the write path, read back through the modules report."""

import copy
import itertools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learnreport.domain.access import Principal, RoleName
from learnreport.ingest import BatchRejected, ingest, xapi
from learnreport.ingest.statements import Conflict, Forbidden, Stored, store
from learnreport.reports import NATIVE, base
from learnreport.store import tenants
from learnreport.store.schema import groups, results, statements
from learnreport.store.tenants import Tenant
from xapi_examples import (
    ATTEMPTED,
    AU,
    CMI5,
    LONG,
    LONG_CORRECTED,
    SENT,
    SIMPLE,
    VOIDING,
    add_people_and_activities,
    cmi5_session,
)

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "http://lrs.example/", "name": "k"}}
ADL = "http://adlnet.gov/expapi/verbs/"
COURSE = "https://acme.example/courses/safety"


def said(
    verb: str,
    minute: int = 0,
    *,
    email: str = "ann@acme.example",
    activity: str = COURSE,
    **result: Any,
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "actor": {"mbox": f"mailto:{email}"},
        "verb": {"id": ADL + verb},
        "object": {"id": activity},
        "timestamp": f"2025-03-01T09:{minute:02d}:00Z",
    }
    if result:
        statement["result"] = result
    return statement


def voiding(statement_id: str, email: str = "ann@acme.example") -> dict[str, Any]:
    return {
        "actor": {"mbox": f"mailto:{email}"},
        "verb": {"id": ADL + "voided"},
        "object": {"objectType": "StatementRef", "id": statement_id},
    }


def send(
    engine: sa.Engine, tenant: Tenant, *sent: dict[str, Any], groups: tuple[int, ...] | None = None
) -> Stored:
    """Store statements as the xAPI routes do, in one transaction."""
    received = xapi.parse(copy.deepcopy(list(sent)))
    with engine.begin() as connection:
        return store(connection, tenant.id, received, authority=AUTHORITY, limited_to=groups)


def modules(engine: sa.Engine, tenant: Tenant) -> dict[tuple[str, str], dict[str, Any]]:
    """The modules report's rows of results that statements made, by person and activity."""
    owner = Principal(tenant.id, tenant.slug, "test", RoleName.parse("owner"), frozenset())
    with engine.connect() as connection:
        report = NATIVE["modules"].define(connection, tenant.id)
        rows = base.page(connection, report, owner, {}, offset=0, limit=1000)
    found = [dict(zip(report.names, row, strict=True)) for row in rows]
    return {
        (row["user_id"], row["module_identifier"]): row
        for row in found
        if row["id"].startswith("xapi:")
    }


def stored_results(engine: sa.Engine, tenant: Tenant) -> list[dict[str, Any]]:
    query = sa.select(results).where(
        results.c.tenant_id == tenant.id, results.c.external_id.startswith("xapi:")
    )
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query.order_by(results.c.id)).mappings()]


def stored_statements(engine: sa.Engine, tenant: Tenant) -> list[dict[str, Any]]:
    query = sa.select(statements).where(statements.c.tenant_id == tenant.id)
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(statements.c.id)).mappings()
        return [dict(row) for row in rows]


@pytest.fixture
def examples(engine: sa.Engine, tenant: Tenant) -> Tenant:
    add_people_and_activities(engine, tenant)
    return tenant


@pytest.fixture
def acme(engine: sa.Engine, world: Tenant) -> Tenant:
    """The known world, with an activity whose identifier is an IRI."""
    ingest(
        engine,
        world.id,
        "activities",
        [{"id": "a-safety", "name": "Safety course", "identifier": COURSE}],
    )
    return world


# What is refused, and why


@pytest.mark.parametrize("example", [SIMPLE, SENT, ATTEMPTED, LONG_CORRECTED, VOIDING, CMI5])
def test_the_specifications_example_statements_are_valid_as_written(example: Any) -> None:
    [statement] = xapi.parse(copy.deepcopy(example))
    assert statement.id == example.get("id", statement.id)


def test_the_long_example_is_refused_for_its_timestamp_with_a_zone_twice() -> None:
    with pytest.raises(BatchRejected) as refused:
        xapi.parse(copy.deepcopy(LONG))
    [error] = refused.value.errors
    assert (error.index, error.field) == (0, "timestamp")
    assert "not an ISO 8601 timestamp" in error.reason


def changed(path: str, value: Any) -> dict[str, Any]:
    """`SIMPLE` with the property at `path` set to `value` (`...` deletes it)."""
    statement = copy.deepcopy(SIMPLE)
    *parents, name = path.split(".")
    target = statement
    for parent in parents:
        target = target.setdefault(parent, {})
    if value is ...:
        del target[name]
    else:
        target[name] = value
    return statement


@pytest.mark.parametrize(
    ("statement", "field", "reason"),
    [
        (changed("mood", "happy"), "mood", "not a property xAPI 1.0.3 allows"),
        (changed("verb", ...), "verb", "is required"),
        (changed("id", "not-a-uuid"), "id", "not a UUID"),
        (changed("actor.mbox", "xapi@adlnet.gov"), "actor.mbox", "not a mailto IRI"),
        (changed("actor.openid", "http://openid.example/x"), "actor", "it has mbox, openid"),
        (changed("actor", {"name": "Nobody"}), "actor", "it has none"),
        (
            changed("actor", {"objectType": "Group", "name": "Ad hoc"}),
            "actor.member",
            "must list its members",
        ),
        (
            changed(
                "actor",
                {
                    "objectType": "Group",
                    "member": [{"objectType": "Group", "mbox": "mailto:team@example.com"}],
                },
            ),
            "actor.member[0].objectType",
            "Invalid enum value",
        ),
        (changed("actor.objectType", "Person"), "actor.objectType", "Invalid enum value"),
        (changed("verb.id", "created"), "verb.id", "not an IRI"),
        (
            changed("verb.display", {"en_US": "created"}),
            "verb.display",
            "a key is not an RFC 5646 language tag",
        ),
        (changed("object.objectType", "Thing"), "object.objectType", "expected Activity"),
        (changed("object.id", "no-scheme"), "object.id", "not an IRI"),
        (
            changed("object.id", "https://e.example/" + "x" * 2040),
            "object.id",
            "longer than 2048 bytes",
        ),
        (changed("result.score", {"scaled": 1.5}), "result.score.scaled", "<= 1.0"),
        (
            changed("result.score", {"raw": 12, "min": 0, "max": 10}),
            "result.score.raw",
            "more than max",
        ),
        (changed("result.score", {"min": 5, "max": 5}), "result.score.min", "less than max"),
        (changed("result.score", {"raw": "9"}), "result.score.raw", "got `str`"),
        (changed("result.success", "true"), "result.success", "got `str`"),
        (changed("result.duration", "P16559.14S"), "result.duration", "not an ISO 8601 duration"),
        (changed("result", None), "result", "is null"),
        (changed("result.response", "nul\x00"), "result.response", "U+0000"),
        (changed("context.registration", "ec531277"), "context.registration", "not a UUID"),
        (changed("timestamp", "2015-11-18T12:17:00"), "timestamp", "with a zone"),
        (changed("timestamp", "2015-11-18T12:17:00-00:00"), "timestamp", "zero offset"),
        (changed("timestamp", "2015-02-30T12:17:00Z"), "timestamp", "not a valid timestamp"),
        (changed("stored", "yesterday"), "stored", "not an ISO 8601 timestamp"),
        (changed("authority", {"name": "LMS"}), "authority", "it has none"),
        (changed("version", "1.1.0"), "version", "not a 1.0.x version"),
        (
            changed(
                "attachments",
                [
                    {
                        "usageType": "http://e.example/u",
                        "display": {"en": "a"},
                        "contentType": "text/plain",
                        "length": 1,
                        "sha2": "a" * 64,
                    }
                ],
            ),
            "attachments[0].fileUrl",
            "needs a fileUrl",
        ),
        (changed("verb.id", ADL + "voided"), "object.objectType", "must be a StatementRef"),
        (
            changed(
                "object",
                {
                    "objectType": "SubStatement",
                    "actor": SIMPLE["actor"],
                    "verb": SIMPLE["verb"],
                    "object": {
                        "objectType": "SubStatement",
                        "actor": SIMPLE["actor"],
                        "verb": SIMPLE["verb"],
                        "object": SIMPLE["object"],
                    },
                },
            ),
            "object.object.objectType",
            "expected Activity, Agent, Group or StatementRef",
        ),
        (
            changed("object", {"objectType": "Agent", "mbox": "mailto:a@example.com"})
            | {"context": {"platform": "Example LMS"}},
            "context.platform",
            "only be used when the object is an Activity",
        ),
    ],
)
def test_a_bad_statement_is_refused_naming_its_position_property_and_reason(
    statement: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(BatchRejected) as refused:
        xapi.parse([copy.deepcopy(SENT), statement])
    [error] = refused.value.errors
    assert (error.index, error.field) == (1, field)
    assert reason in error.reason


def test_every_bad_statement_of_a_request_is_named() -> None:
    with pytest.raises(BatchRejected) as refused:
        xapi.parse([changed("id", "x"), copy.deepcopy(SIMPLE), changed("verb", ...), 7])
    assert [(error.index, error.field) for error in refused.value.errors] == [
        (0, "id"),
        (2, "verb"),
        (3, None),
    ]


def test_two_statements_with_one_id_in_a_request_are_refused() -> None:
    with pytest.raises(BatchRejected) as refused:
        xapi.parse([copy.deepcopy(SIMPLE), copy.deepcopy(SIMPLE)])
    assert [(e.index, e.field) for e in refused.value.errors] == [(1, "id")]


def test_a_put_statement_takes_the_id_of_the_request_and_refuses_another() -> None:
    [put] = xapi.parse(changed("id", ...), statement_id="E05AA883-ACAF-40AD-BF54-02C8CE485FB0")
    assert put.id == put.document["id"] == "e05aa883-acaf-40ad-bf54-02c8ce485fb0"
    with pytest.raises(BatchRejected, match="differs from the statementId"):
        xapi.parse(copy.deepcopy(SIMPLE), statement_id="e05aa883-acaf-40ad-bf54-02c8ce485fb0")


def test_a_statement_without_an_id_gets_one_and_single_context_activities_become_arrays() -> None:
    statement = changed("id", ...) | {"context": {"contextActivities": {"parent": {"id": COURSE}}}}
    [parsed] = xapi.parse(statement)
    assert len(parsed.id) == 36
    assert parsed.document["context"]["contextActivities"]["parent"] == [{"id": COURSE}]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"actor": {}, "actor": {}}', "occurs more than once"),
        (b'{"result": {"score": {"raw": NaN}}}', "NaN is not a number"),
        (b"[" * 5000 + b"]" * 5000, "nests too deeply"),
        (b"\xff\xfe{", "not a JSON document"),
    ],
)
def test_a_body_that_is_no_json_a_statement_could_be_read_from_is_refused(
    body: bytes, reason: str
) -> None:
    with pytest.raises(xapi.InvalidBody, match=reason):
        xapi.decode(body)


def test_actors_are_keyed_by_their_one_identifier() -> None:
    keys = [
        xapi.agent_key('{"mbox": "mailto:Ann@ACME.example"}'),
        xapi.agent_key('{"account": {"homePage": "http://lms.example", "name": "ann"}}'),
        xapi.agent_key('{"openid": "http://ann.openid.example"}'),
        xapi.agent_key('{"mbox_sha1sum": "EBD31E95054C018B10727CCFFD2EF2EC3A016EE9"}'),
        xapi.agent_key('{"objectType": "Group", "mbox": "mailto:team@acme.example"}'),
    ]
    assert keys == [
        "mailto:ann@acme.example",
        "http://lms.example|ann",
        "openid:http://ann.openid.example",
        "sha1:ebd31e95054c018b10727ccffd2ef2ec3a016ee9",
        "group:mailto:team@acme.example",
    ]
    with pytest.raises(xapi.Invalid, match="identifies no one"):
        xapi.agent_key('{"objectType": "Group", "member": [{"mbox": "mailto:a@acme.example"}]}')


def test_the_same_statement_ignores_what_an_lrs_may_change_and_nothing_else() -> None:
    [first] = xapi.parse(copy.deepcopy(LONG_CORRECTED))
    stored = {
        **first.document,
        "stored": "2025-01-01T00:00:00Z",
        "version": "1.0.0",
        "authority": AUTHORITY,
    }
    again = copy.deepcopy(LONG_CORRECTED)
    again["timestamp"] = "2013-05-18T07:32:34.8049+02:00"
    again["actor"]["member"].reverse()
    again["actor"]["mbox"] = "mailto:teampb@EXAMPLE.com"
    [resent] = xapi.parse(again)
    assert xapi.same_statement(stored, resent.document)
    other = copy.deepcopy(again)
    other["result"]["duration"] = "PT60M"
    [different] = xapi.parse(other)
    assert not xapi.same_statement(stored, different.document)


# Stored, matched and folded


def test_the_cmi5_example_as_written_fails_its_learner_on_the_au(
    engine: sa.Engine, examples: Tenant
) -> None:
    assert send(engine, examples, CMI5) == Stored(
        [CMI5["id"]], inserted=1, unchanged=0, unmatched=0
    )
    row = modules(engine, examples)["p-gert", AU]
    assert (row["state"], row["score"], row["progress"], row["failed_at"], row["attempt"]) == (
        "failed",
        65.0,
        100.0,
        "2012-06-01T19:09:13Z",
        1,
    )
    [result] = stored_results(engine, examples)
    assert (result["time_spent"], result["started_at"]) == (1800, "2012-06-01T19:09:13Z")


def test_a_later_cmi5_session_that_passes_makes_the_failed_result_passed(
    engine: sa.Engine, examples: Tenant
) -> None:
    send(engine, examples, CMI5)
    send(engine, examples, *cmi5_session())
    row = modules(engine, examples)["p-gert", AU]
    assert (row["state"], row["score"], row["completed_at"], row["failed_at"]) == (
        "passed",
        90.0,
        "2012-06-01T19:30:00Z",
        "2012-06-01T19:09:13Z",
    )
    [result] = stored_results(engine, examples)
    assert (result["views"], result["time_spent"]) == (1, 1800)


def test_statements_whose_verb_has_no_effect_are_stored_matched_and_make_no_result(
    engine: sa.Engine, examples: Tenant
) -> None:
    send(engine, examples, SIMPLE, ATTEMPTED, SENT)
    rows = stored_statements(engine, examples)
    assert [
        (row["statement_id"], row["user_id"] is not None, row["content_id"] is not None)
        for row in rows
    ] == [(SIMPLE["id"], True, True), (ATTEMPTED["id"], True, True), (SENT["id"], False, False)]
    assert stored_results(engine, examples) == []


def test_a_stored_statement_is_completed_as_an_lrs_completes_it(
    engine: sa.Engine, examples: Tenant
) -> None:
    send(engine, examples, SIMPLE, LONG_CORRECTED)
    simple, long = (row["document"] for row in stored_statements(engine, examples))
    assert simple["timestamp"] == simple["stored"] and simple["version"] == "1.0.0"
    assert simple["authority"] == long["authority"] == AUTHORITY
    assert long["stored"] != LONG_CORRECTED["stored"]
    assert long["timestamp"] == LONG_CORRECTED["timestamp"]


def test_the_same_statement_sent_again_changes_nothing(engine: sa.Engine, examples: Tenant) -> None:
    send(engine, examples, CMI5)
    before = (stored_statements(engine, examples), stored_results(engine, examples))
    again = copy.deepcopy(CMI5) | {"timestamp": "2012-06-01T21:09:13.245+02:00"}
    assert send(engine, examples, again).unchanged == 1
    assert (stored_statements(engine, examples), stored_results(engine, examples)) == before


def test_a_stored_id_with_other_content_is_a_conflict_and_the_request_writes_nothing(
    engine: sa.Engine, examples: Tenant
) -> None:
    send(engine, examples, CMI5)
    other = copy.deepcopy(CMI5)
    other["result"]["score"]["scaled"] = 0.99
    with pytest.raises(Conflict, match=CMI5["id"]):
        send(engine, examples, SIMPLE, other)
    assert [row["statement_id"] for row in stored_statements(engine, examples)] == [CMI5["id"]]


def test_voiding_a_statement_takes_it_out_of_the_result(
    engine: sa.Engine, examples: Tenant
) -> None:
    session = cmi5_session()
    send(engine, examples, CMI5, *session)
    send(engine, examples, voiding(session[2]["id"], "xapi@adlnet.gov"))
    row = modules(engine, examples)["p-gert", AU]
    assert (row["state"], row["score"], row["completed_at"]) == ("failed", 65.0, None)
    send(engine, examples, *(voiding(s["id"], "xapi@adlnet.gov") for s in [CMI5, *session]))
    row = modules(engine, examples)["p-gert", AU]
    assert (row["state"], row["score"], row["progress"], row["attempt"]) == (
        "not_started",
        None,
        0.0,
        1,
    )
    assert sum(row["voided"] for row in stored_statements(engine, examples)) == 5


def test_a_voiding_statement_cannot_itself_be_voided_stored_or_in_the_same_request(
    engine: sa.Engine, examples: Tenant
) -> None:
    first = voiding(CMI5["id"]) | {"id": "e05aa883-acaf-40ad-bf54-02c8ce485fb0"}
    send(engine, examples, CMI5, first)
    with pytest.raises(BatchRejected, match="cannot itself be voided"):
        send(engine, examples, voiding(first["id"]))
    second = voiding(SIMPLE["id"]) | {"id": "e05aa883-acaf-40ad-bf54-02c8ce485fb1"}
    with pytest.raises(BatchRejected) as refused:
        send(engine, examples, second, voiding(second["id"]))
    assert [(e.index, e.field) for e in refused.value.errors] == [(1, "object.id")]


def test_the_voiding_example_is_stored_though_what_it_voids_is_not_and_voids_it_on_arrival(
    engine: sa.Engine, examples: Tenant
) -> None:
    send(engine, examples, VOIDING)
    late = said(
        "completed",
        email="xapi@adlnet.gov",
        activity="http://example.adlnet.gov/xapi/example/activity",
    )
    send(engine, examples, late | {"id": VOIDING["object"]["id"]})
    voided = {row["statement_id"]: row["voided"] for row in stored_statements(engine, examples)}
    assert voided[VOIDING["object"]["id"]] is True
    assert stored_results(engine, examples) == []


def test_a_statement_about_someone_unknown_waits_and_is_matched_by_the_batch_that_adds_them(
    engine: sa.Engine, acme: Tenant
) -> None:
    stored = send(engine, acme, said("completed", 5, email="newcomer@acme.example"))
    assert stored.unmatched == 1
    assert modules(engine, acme) == {}
    ingest(engine, acme.id, "users", [{"id": "u9", "email": "NewComer@acme.example"}])
    row = modules(engine, acme)["u9", COURSE]
    assert (row["state"], row["completed_at"]) == ("completed", "2025-03-01T09:05:00Z")


def test_an_activity_arriving_later_is_matched_by_its_uuid_in_a_urn(
    engine: sa.Engine, acme: Tenant
) -> None:
    urn = "urn:uuid:0B6E3A52-9A4B-4E0B-9C38-6D2A9E1F7C11"
    send(engine, acme, said("passed", 1, activity=urn, score={"raw": 8, "max": 10}))
    late = {"id": "a-late", "name": "Late", "uuid": "0b6e3a52-9a4b-4e0b-9c38-6d2a9e1f7c11"}
    ingest(engine, acme.id, "activities", [late])
    [result] = stored_results(engine, acme)
    assert (result["state"], result["score"]) == ("passed", 80.0)


def test_an_account_matches_a_username_held_once_then_a_user_id(
    engine: sa.Engine, acme: Tenant
) -> None:
    ingest(
        engine,
        acme.id,
        "users",
        [
            {"id": "u7", "username": "ann.k"},
            {"id": "u8", "username": "shared"},
            {"id": "shared", "username": "shared"},
            {"id": "u10", "username": "u1"},
        ],
    )
    for name, minute in (("ann.k", 1), ("shared", 2), ("u2", 3), ("u1", 4)):
        statement = said("completed", minute)
        statement["actor"] = {"account": {"homePage": "https://lms.acme.example", "name": name}}
        send(engine, acme, statement)
    assert sorted(user for user, _ in modules(engine, acme)) == ["shared", "u10", "u2", "u7"]


def test_the_result_takes_the_attempt_after_the_platforms_and_keeps_it(
    engine: sa.Engine, acme: Tenant
) -> None:
    ingest(
        engine,
        acme.id,
        "results",
        [
            {"id": "rs1", "user_id": "u1", "content_id": "a-safety", "state": "failed"},
            {
                "id": "rs2",
                "user_id": "u1",
                "content_id": "a-safety",
                "state": "failed",
                "attempt": 2,
            },
        ],
    )
    send(engine, acme, said("launched", 1))
    ingest(
        engine,
        acme.id,
        "results",
        [
            {
                "id": "rs4",
                "user_id": "u1",
                "content_id": "a-safety",
                "state": "failed",
                "attempt": 4,
            },
        ],
    )
    send(engine, acme, said("completed", 2))
    row = modules(engine, acme)["u1", COURSE]
    assert (row["attempt"], row["state"]) == (3, "completed")


def test_a_key_limited_to_groups_sends_statements_about_their_people_only(
    engine: sa.Engine, acme: Tenant
) -> None:
    with engine.connect() as connection:
        sales = connection.execute(
            sa.select(groups.c.id).where(groups.c.tenant_id == acme.id, groups.c.name == "Sales")
        ).scalar_one()
    bob = said("completed", 1, email="bob@acme.example")
    assert send(engine, acme, bob, groups=(sales,)).inserted == 1
    with pytest.raises(Forbidden, match="statement 1: its actor is not a person"):
        send(
            engine,
            acme,
            said("launched", 2),
            said("launched", 3, email="cy@acme.example"),
            groups=(sales,),
        )
    with pytest.raises(Forbidden, match="statement 0: its actor"):
        send(engine, acme, said("launched", 4, email="stranger@acme.example"), groups=(sales,))
    with pytest.raises(Forbidden, match="voids a statement that is not stored"):
        send(engine, acme, voiding("e05aa883-acaf-40ad-bf54-02c8ce485fb0"), groups=(sales,))
    assert len(stored_statements(engine, acme)) == 1


def test_requests_at_the_same_time_fold_a_pair_from_all_its_statements(
    engine: sa.Engine, acme: Tenant
) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda minute: send(engine, acme, said("launched", minute)), range(12)))
    row = stored_results(engine, acme)[0]
    assert (row["views"], row["started_at"]) == (12, "2025-03-01T09:00:00Z")


ORDINAL = itertools.count()

VERB_NAMES = [
    "launched",
    "initialized",
    "progressed",
    "completed",
    "passed",
    "failed",
    "scored",
    "terminated",
    "experienced",
]
sessions = st.lists(
    st.tuples(
        st.sampled_from(VERB_NAMES),
        st.integers(0, 59),
        st.fixed_dictionaries(
            {},
            optional={
                "duration": st.sampled_from(["PT1M", "PT10M", "PT1H"]),
                "score": st.fixed_dictionaries({"scaled": st.sampled_from([0.2, 0.5, 0.9])}),
            },
        ),
        st.booleans(),
    ),
    max_size=8,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sent=sessions)
def test_voiding_statements_gives_the_result_of_never_having_sent_them(
    engine: sa.Engine, sent: list[tuple[str, int, dict[str, Any], bool]]
) -> None:
    """Two fresh tenants per example: one is sent everything and then voids some, the
    other is sent only what the first keeps."""
    voided, kept = _tenant(engine), _tenant(engine)
    everything = [
        said(verb, minute, **result) | {"id": f"00000000-0000-4000-8000-{n:012d}"}
        for n, (verb, minute, result, _) in enumerate(sent)
    ]
    chosen = list(zip(everything, [void for *_, void in sent], strict=True))
    send(engine, voided, *everything)
    send(engine, voided, *(voiding(statement["id"]) for statement, void in chosen if void))
    send(engine, kept, *(statement for statement, void in chosen if not void))
    left, right = _figures(engine, voided), _figures(engine, kept)
    assert left == right or (right == [] and left == [NOT_STARTED])


NOT_STARTED = {
    "state": "not_started",
    "progress": 0.0,
    "score": None,
    "time_spent": 0,
    "views": 0,
    "started_at": None,
    "completed_at": None,
    "failed_at": None,
}
"""What a result whose every statement was voided goes back to."""


def _figures(engine: sa.Engine, tenant: Tenant) -> list[dict[str, Any]]:
    return [{name: row[name] for name in NOT_STARTED} for row in stored_results(engine, tenant)]


def _tenant(engine: sa.Engine) -> Tenant:
    with engine.begin() as connection:
        made = tenants.create(connection, f"t{next(ORDINAL)}", "Example")
    ingest(engine, made.id, "users", [{"id": "u1", "email": "ann@acme.example"}])
    ingest(engine, made.id, "activities", [{"id": "a1", "name": "Safety", "identifier": COURSE}])
    return made
