"""Random secrets the server keeps for itself, such as the key that signs paging cursors.

Each is created on first use and never changes, so every process of one deployment shares
it without configuration. A secret is created in a transaction of its own and committed at
once: a value handed out must stay valid whatever becomes of the caller's transaction.
"""

import base64
import secrets
import threading
import weakref
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from learnreport.store.schema import server_secrets
from learnreport.store.types import format_timestamp

_known: "weakref.WeakKeyDictionary[sa.Engine, dict[str, bytes]]" = weakref.WeakKeyDictionary()
"""Secrets already read, per database: they never change, so one read per process is enough."""
_lock = threading.Lock()


def server_secret(connection: sa.Connection, name: str) -> bytes:
    """The 32 random bytes named `name`, created on first use.

    Two processes creating the same secret at once both insert; the second insert does
    nothing and both read the one value that won.
    """
    known = _known.get(connection.engine, {})
    if name in known:
        return known[name]
    value = _read(connection, name)
    if value is None:
        value = _create(connection.engine, name)
    secret = base64.urlsafe_b64decode(value)
    with _lock:
        _known.setdefault(connection.engine, {})[name] = secret
    return secret


def _read(connection: sa.Connection, name: str) -> str | None:
    query = sa.select(server_secrets.c.value).where(server_secrets.c.name == name)
    value: str | None = connection.execute(query).scalar_one_or_none()
    return value


def _create(engine: sa.Engine, name: str) -> str:
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(server_secrets)
        .values(
            name=name,
            value=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            created_at=format_timestamp(datetime.now(UTC)),
        )
        .on_conflict_do_nothing(index_elements=["name"])
    )
    with engine.begin() as connection:
        connection.execute(statement)
        query = sa.select(server_secrets.c.value).where(server_secrets.c.name == name)
        return str(connection.execute(query).scalar_one())
