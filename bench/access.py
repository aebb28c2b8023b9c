"""Credentials for a run, created in-process on the dataset, and their bearer tokens.

Each run creates its own clients (an owner, and a department administrator limited to the
dataset's mid-tree department) so that no secret needs to be kept between runs.
"""

import base64
from dataclasses import dataclass

import httpx
import sqlalchemy as sa

from learnreport.domain.access import Principal
from learnreport.store import credentials, tenants


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str
    principal: Principal


@dataclass(frozen=True)
class Access:
    tenant_id: int
    owner: Client
    department_admin: Client
    ingest_key: str
    """An owner API key, which the ingest routes take."""


def create(engine: sa.Engine, slug: str, department_id: str) -> Access:
    with engine.begin() as connection:
        tenant = tenants.get(connection, slug)
        owner = credentials.create(connection, tenant, "client", "owner")
        admin = credentials.create(
            connection, tenant, "client", "department_admin", groups=[department_id]
        )
        key = credentials.create(connection, tenant, "key", "owner")
        clients = [
            Client(c.credential.public_id, c.secret, _principal(connection, c))
            for c in (owner, admin)
        ]
    return Access(tenant.id, clients[0], clients[1], key.secret)


def _principal(connection: sa.Connection, created: credentials.Created) -> Principal:
    principal = credentials.load_principal(connection, created.credential.public_id)
    if principal is None:
        raise RuntimeError("a client just created has no principal")
    return principal


def token(base_url: str, client: Client) -> str:
    """A bearer token from `POST /oauth/token`, client credentials in HTTP Basic."""
    basic = base64.b64encode(f"{client.client_id}:{client.secret}".encode()).decode()
    answer = httpx.post(
        f"{base_url}/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])
