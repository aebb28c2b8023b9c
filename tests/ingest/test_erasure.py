"""Erasure takes everything the store holds about one person, and nothing about anyone else."""

import copy

import sqlalchemy as sa

from learnreport.ingest import ingest, xapi
from learnreport.ingest.erasure import erase_person
from learnreport.ingest.statements import store
from learnreport.store.schema import results, statements, users
from learnreport.store.tenants import Tenant
from xapi_examples import CMI5, SIMPLE, add_people_and_activities

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "http://lrs.example/", "name": "k"}}


def tally(engine: sa.Engine, tenant: Tenant) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            str(table.name): connection.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.tenant_id == tenant.id)
            ).scalar_one()
            for table in (users, results, statements)
        }


def test_erasing_a_person_removes_their_statements_matched_or_waiting_and_nothing_else(
    engine: sa.Engine, world: Tenant, other_tenant: Tenant
) -> None:
    add_people_and_activities(engine, world)
    add_people_and_activities(engine, other_tenant)
    waiting = {**copy.deepcopy(SIMPLE), "actor": {"mbox": "mailto:later@acme.example"}}
    waiting["id"] = "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"
    for tenant in (world, other_tenant):
        with engine.begin() as connection:
            received = xapi.parse(copy.deepcopy([SIMPLE, CMI5, waiting]))
            store(connection, tenant.id, received, authority=AUTHORITY)
    ingest(engine, world.id, "users", [{"id": "later", "email": "LATER@acme.example"}])
    with engine.begin() as connection:  # as a statement stored but not yet matched lies
        connection.execute(statements.update().where(statements.c.tenant_id == world.id)
                           .where(statements.c.actor == "mailto:later@acme.example")
                           .values(user_id=None))  # fmt: skip
    before, theirs = tally(engine, world), tally(engine, other_tenant)

    with engine.begin() as connection:
        gert = erase_person(connection, world.id, "p-gert")
        later = erase_person(connection, world.id, "later")

    assert gert is not None and gert["users"] == 1
    assert gert["statements"] == 1 and gert["results"] == 1
    assert later is not None and later["statements"] == 1
    assert tally(engine, world) == {
        "users": before["users"] - 2,
        "results": before["results"] - 1,
        "statements": before["statements"] - 2,
    }
    assert tally(engine, other_tenant) == theirs


def test_erasing_someone_who_is_not_there_changes_nothing(engine: sa.Engine, world: Tenant) -> None:
    before = tally(engine, world)
    with engine.begin() as connection:
        assert erase_person(connection, world.id, "nobody") is None
    assert tally(engine, world) == before
