"""Access tokens: JWTs in the RFC 9068 shape, signed with ES256 by the newest signing key.

The algorithm is pinned: a token whose header names any other (`none`, `HS256` with the
public key as secret, ...) is refused before its signature is looked at. Each process keeps
the parsed keys for `REFRESH_EVERY` seconds, so a request parses no PEM and queries no key,
and a rotation or removal made by another process is seen within that time. A token naming
an unknown key triggers an early reload, at most every `RELOAD_AT_MOST_EVERY` seconds, so a
stream of forged key ids cannot turn into a stream of queries.

The keys also remember the tokens they verified, until they are next loaded: a client
sends the same token with every request for up to an hour, and decoding and checking it
again cost 0.2 ms of CPU for an owner's token (PyJWT checks its base64 a character at a
time), as much as the query of a small page. A remembered token is still refused once
outside its validity, and forgotten with the keys, so that a key removed anywhere stops
its tokens within `REFRESH_EVERY` seconds, as before.
"""

import secrets
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

import jwt
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ec import (
    EllipticCurvePrivateKey,
    EllipticCurvePublicKey,
)
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from learnreport.config import Settings
from learnreport.domain.access import Principal
from learnreport.store import signing_keys
from learnreport.store.credentials import tenant_slug

ALGORITHM = signing_keys.ALGORITHM
TYPE = "at+jwt"
LEEWAY = 30
"""Seconds of clock difference tolerated between the servers that issue and verify."""
MAX_LENGTH = 4096
"""Longer than any token issued here: a longer one is refused without being decoded."""
REFRESH_EVERY = 30.0
RELOAD_AT_MOST_EVERY = 5.0
REQUIRED = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]
REMEMBERED_AT_MOST = 10_000
"""Verified tokens kept per process between two loads of the keys; beyond it, they start over."""


class InvalidToken(Exception):
    """A refused token; the message is safe to show the client and quotes nothing of it."""


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str = field(repr=False)
    expires_in: int
    scopes: frozenset[str]

    @property
    def scope(self) -> str:
        """The scopes as OAuth2 spells them: sorted, separated by spaces."""
        return " ".join(sorted(self.scopes))


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token says: which credential, of which tenant, holding what."""

    subject: str
    tenant: str
    scopes: frozenset[str]


def issue(engine: sa.Engine, settings: Settings, principal: Principal) -> AccessToken:
    """A token for `principal`, holding exactly its scopes."""
    kid, key = _ring(engine).signer(engine)
    now = int(time.time())
    scope = " ".join(sorted(principal.scopes))
    claims = {
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
        "sub": principal.credential,
        "client_id": principal.credential,
        "tenant": principal.tenant,
        "role": str(principal.role),
        "scope": scope,
        "iat": now,
        "nbf": now,
        "exp": now + settings.token_ttl,
        "jti": secrets.token_urlsafe(16),
    }
    token = jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid, "typ": TYPE})
    return AccessToken(token, settings.token_ttl, principal.scopes)


def verify(engine: sa.Engine, settings: Settings, token: str) -> Claims:
    """The claims of a token this server issued and still vouches for; else `InvalidToken`."""
    if len(token) > MAX_LENGTH:
        raise InvalidToken("the token is malformed")
    ring = _ring(engine)
    seen = (token, settings.token_audience, settings.token_issuer)
    remembered = ring.remembered(engine, seen)
    if remembered is not None:
        return remembered
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidToken("the token is malformed") from None
    if header.get("alg") != ALGORITHM:
        raise InvalidToken(f"the token must be signed with {ALGORITHM}")
    if header.get("typ") != TYPE:
        raise InvalidToken(f"the token is not of type {TYPE}")
    kid = header.get("kid")
    key = ring.verifier(engine, kid) if isinstance(kid, str) else None
    if key is None:
        raise InvalidToken("the token is signed with an unknown key")
    claims = _decode(token, key, settings)
    subject, tenant, scope = claims["sub"], claims.get("tenant"), claims.get("scope")
    if not (isinstance(subject, str) and isinstance(tenant, str) and isinstance(scope, str)):
        raise InvalidToken("the token lacks its tenant or scope")
    if tenant_slug(subject) != tenant:
        raise InvalidToken("the token's client belongs to another tenant")
    verified = Claims(subject, tenant, frozenset(scope.split()))
    ring.remember(seen, verified, valid=(claims["nbf"], claims["exp"]))
    return verified


def rotate(engine: sa.Engine) -> signing_keys.SigningKey:
    """Add a signing key, which this process signs with at once."""
    with engine.begin() as connection:
        key = signing_keys.rotate(connection)
    _ring(engine).forget()
    return key


def remove(engine: sa.Engine, kid: str) -> None:
    """Remove a signing key: this process refuses its tokens at once."""
    with engine.begin() as connection:
        signing_keys.remove(connection, kid)
    _ring(engine).forget()


_ERRORS: list[tuple[type[jwt.PyJWTError], str]] = [
    (jwt.ExpiredSignatureError, "the token has expired"),
    (jwt.ImmatureSignatureError, "the token is not valid yet"),
    (jwt.InvalidAudienceError, "the token is meant for another audience"),
    (jwt.InvalidIssuerError, "the token was issued by another issuer"),
    (jwt.MissingRequiredClaimError, "the token lacks a required claim"),
    (jwt.InvalidSignatureError, "the token's signature does not verify"),
]


def _decode(token: str, key: EllipticCurvePublicKey, settings: Settings) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=settings.token_audience,
            issuer=settings.token_issuer,
            leeway=LEEWAY,
            options={"require": REQUIRED},
        )
    except jwt.PyJWTError as error:
        reason = next((text for kind, text in _ERRORS if isinstance(error, kind)), None)
        raise InvalidToken(reason or "the token is malformed") from None
    return claims


class _KeyRing:
    """One process's parsed copy of the signing keys of one database."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._private: dict[str, EllipticCurvePrivateKey] = {}
        self._public: dict[str, EllipticCurvePublicKey] = {}
        self._verified: dict[tuple[str, str, str], tuple[Claims, float, float]] = {}
        self._loaded_at = float("-inf")

    def signer(self, engine: sa.Engine) -> tuple[str, EllipticCurvePrivateKey]:
        with self._lock:
            if self._age() >= REFRESH_EVERY or not self._private:
                self._load(engine)
            if not self._private:
                signing_keys.ensure(engine)
                self._load(engine)
            kid = next(iter(self._private))
            return kid, self._private[kid]

    def verifier(self, engine: sa.Engine, kid: str) -> EllipticCurvePublicKey | None:
        with self._lock:
            if self._age() >= REFRESH_EVERY or (
                kid not in self._public and self._age() >= RELOAD_AT_MOST_EVERY
            ):
                self._load(engine)
            return self._public.get(kid)

    def remembered(self, engine: sa.Engine, seen: tuple[str, str, str]) -> Claims | None:
        """The claims of a token verified since the keys were loaded, while it is valid.

        The window is PyJWT's, leeway included, so a token is refused at the same moment
        whether it was remembered or not.
        """
        with self._lock:
            if self._age() >= REFRESH_EVERY:
                self._load(engine)
            found = self._verified.get(seen)
        if found is None:
            return None
        claims, not_before, expires = found
        now = time.time()
        return claims if not_before <= now + LEEWAY and now - LEEWAY < expires else None

    def remember(
        self, seen: tuple[str, str, str], claims: Claims, *, valid: tuple[float, float]
    ) -> None:
        with self._lock:
            if len(self._verified) >= REMEMBERED_AT_MOST:
                self._verified.clear()
            self._verified[seen] = (claims, *valid)

    def forget(self) -> None:
        with self._lock:
            self._loaded_at = float("-inf")

    def _age(self) -> float:
        return time.monotonic() - self._loaded_at

    def _load(self, engine: sa.Engine) -> None:
        """Read the keys, newest first, parsing only those not seen before."""
        with engine.connect() as connection:
            stored = signing_keys.all_keys(connection)
        self._private = {
            key.kid: self._private.get(key.kid) or _parse(key.private_key)
            for key in stored
            if key.algorithm == ALGORITHM
        }
        self._public = {
            kid: self._public.get(kid) or key.public_key() for kid, key in self._private.items()
        }
        self._verified.clear()
        self._loaded_at = time.monotonic()


def _parse(pem: str) -> EllipticCurvePrivateKey:
    key = load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, EllipticCurvePrivateKey):
        raise TypeError("a stored ES256 signing key is not an elliptic curve key")
    return key


_rings: "weakref.WeakKeyDictionary[sa.Engine, _KeyRing]" = weakref.WeakKeyDictionary()
_databases: "weakref.WeakValueDictionary[str, _KeyRing]" = weakref.WeakValueDictionary()
_rings_lock = threading.Lock()


def _ring(engine: sa.Engine) -> _KeyRing:
    """The ring of the engine's database, which every engine of that database in the process
    shares (the server's, and its quick reader's, `api.inline`), so that a key rotated or
    removed through one is forgotten by all; it lives as long as one of them."""
    with _rings_lock:
        ring = _rings.get(engine)
        if ring is None:
            database = engine.url.render_as_string(hide_password=False)
            ring = _databases.get(database) or _KeyRing()
            _rings[engine] = _databases[database] = ring
        return ring
