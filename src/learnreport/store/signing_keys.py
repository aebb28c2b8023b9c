"""The keys that sign access tokens, shared by every process of a deployment.

The newest key signs; every stored key verifies, so a rotation cuts off no token already
issued, and a key stops verifying only when it is removed. A key id starts with the time it
was made to the microsecond, so two keys made in the same second still sort in order.
"""

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from learnreport.store.schema import signing_keys
from learnreport.store.types import Timestamp, format_timestamp

ALGORITHM = "ES256"


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    algorithm: str
    private_key: str = field(repr=False)
    """PEM text: kept out of `repr` so that no log line or traceback ever shows it."""
    created_at: str


class SigningKeyNotFound(Exception):
    pass


class LastSigningKey(Exception):
    """Removing the only key would leave the server unable to verify any token it issued."""


_COLUMNS = [signing_keys.c[name] for name in SigningKey.__dataclass_fields__]


def all_keys(connection: sa.Connection) -> list[SigningKey]:
    """Every key, the one that signs first."""
    query = sa.select(*_COLUMNS).order_by(
        signing_keys.c.created_at.desc(), signing_keys.c.kid.desc()
    )
    return [SigningKey(*row) for row in connection.execute(query)]


def rotate(connection: sa.Connection) -> SigningKey:
    """Add a key, which signs from now on; the older keys keep verifying."""
    key = _new_key()
    connection.execute(
        signing_keys.insert().values(
            kid=key.kid,
            algorithm=key.algorithm,
            private_key=key.private_key,
            created_at=key.created_at,
        )
    )
    return key


def ensure(engine: sa.Engine) -> None:
    """Create a first key if there is none, committed at once.

    One statement both checks and inserts, so two processes starting together never fail;
    on PostgreSQL both may insert, which leaves two valid keys and harms nothing.
    """
    key = _new_key()
    values = sa.select(
        sa.literal(key.kid, sa.String),
        sa.literal(key.algorithm, sa.String),
        sa.literal(key.private_key, sa.Text),
        sa.cast(sa.literal(key.created_at, sa.String), Timestamp),
    ).where(~sa.exists(sa.select(signing_keys.c.kid)))
    with engine.begin() as connection:
        connection.execute(signing_keys.insert().from_select(_COLUMNS, values))


def remove(connection: sa.Connection, kid: str) -> None:
    """Remove a key: tokens it signed are refused from then on."""
    kids = connection.execute(sa.select(signing_keys.c.kid)).scalars().all()
    if kid not in kids:
        raise SigningKeyNotFound(kid)
    if len(kids) == 1:
        raise LastSigningKey(kid)
    connection.execute(signing_keys.delete().where(signing_keys.c.kid == kid))


def _new_key() -> SigningKey:
    now = datetime.now(UTC)
    private_key = ec.generate_private_key(ec.SECP256R1())
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return SigningKey(
        kid=f"{now:%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}",
        algorithm=ALGORITHM,
        private_key=pem,
        created_at=format_timestamp(now),
    )
