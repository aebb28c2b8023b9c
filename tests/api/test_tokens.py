"""Access tokens: ES256 only, this server's claims only, and keys that rotate without cutting
off the tokens already issued."""

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import jwt
import orjson
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)

from learnreport.api import tokens
from learnreport.api.tokens import InvalidToken
from learnreport.config import Settings
from learnreport.domain.access import Principal, Role, RoleName
from learnreport.store import signing_keys
from learnreport.store.tenants import Tenant

Token = Callable[..., str]
Forge = Callable[..., str]

SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
"""For what no backend tells apart: the token itself, and key handling another test runs on
both."""

SETTINGS = Settings()


def principal(
    tenant: Tenant, scopes: frozenset[str] = frozenset({"read.user.reports"})
) -> Principal:
    return Principal(
        tenant.id, tenant.slug, f"{tenant.slug}.c_0123456789abcdef", RoleName(Role.OWNER), scopes
    )


def verify(engine: sa.Engine, token: str, settings: Settings = SETTINGS) -> tokens.Claims:
    return tokens.verify(engine, settings, token)


def refused(engine: sa.Engine, token: str, settings: Settings = SETTINGS) -> str:
    with pytest.raises(InvalidToken) as refusal:
        verify(engine, token, settings)
    return str(refusal.value)


def kids(engine: sa.Engine) -> list[str]:
    with engine.connect() as connection:
        return [key.kid for key in signing_keys.all_keys(connection)]


def private_key(key: signing_keys.SigningKey) -> EllipticCurvePrivateKey:
    loaded = load_pem_private_key(key.private_key.encode(), password=None)
    assert isinstance(loaded, EllipticCurvePrivateKey)
    return loaded


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, object], claims: dict[str, object]) -> str:
    return f"{b64(orjson.dumps(header))}.{b64(orjson.dumps(claims))}"


@contextmanager
def queries(engine: sa.Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


@SQLITE_ONLY
def test_a_token_carries_the_principal_and_verifies(engine: sa.Engine, tenant: Tenant) -> None:
    issued = tokens.issue(engine, SETTINGS, principal(tenant))

    header = jwt.get_unverified_header(issued.token)
    claims = jwt.decode(issued.token, options={"verify_signature": False})
    assert header == {"alg": "ES256", "typ": "at+jwt", "kid": kids(engine)[0]}
    assert claims["iss"] == "learnreport"
    assert claims["aud"] == "learnreport-api"
    assert claims["sub"] == claims["client_id"] == "acme.c_0123456789abcdef"
    assert (claims["tenant"], claims["role"], claims["scope"]) == (
        "acme",
        "owner",
        "read.user.reports",
    )
    assert claims["exp"] - claims["iat"] == 3600 == issued.expires_in
    assert claims["nbf"] == claims["iat"]
    assert len(claims["jti"]) >= 16
    assert verify(engine, issued.token) == tokens.Claims(
        "acme.c_0123456789abcdef", "acme", frozenset({"read.user.reports"})
    )


@SQLITE_ONLY
def test_the_lifetime_comes_from_the_settings(engine: sa.Engine, tenant: Tenant) -> None:
    issued = tokens.issue(engine, Settings(token_ttl=60), principal(tenant))

    claims = jwt.decode(issued.token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 60 == issued.expires_in


@SQLITE_ONLY
def test_scopes_are_sorted_and_separated_by_spaces(engine: sa.Engine, tenant: Tenant) -> None:
    scopes = frozenset({"read.user.reports", "read.group.reports"})

    issued = tokens.issue(engine, SETTINGS, principal(tenant, scopes))

    assert issued.scope == "read.group.reports read.user.reports"
    assert verify(engine, issued.token).scopes == scopes


def test_the_first_token_makes_the_first_signing_key(engine: sa.Engine, tenant: Tenant) -> None:
    assert kids(engine) == []

    tokens.issue(engine, SETTINGS, principal(tenant))
    signing_keys.ensure(engine)
    tokens.issue(engine, SETTINGS, principal(tenant))

    assert len(kids(engine)) == 1


@SQLITE_ONLY
@pytest.mark.parametrize(
    "claims, reason",
    [
        ({"exp": -120}, "expired"),
        ({"nbf": 120}, "not valid yet"),
        ({"iat": 120}, "not valid yet"),
        ({"aud": "another-api"}, "another audience"),
        ({"iss": "someone-else"}, "another issuer"),
        ({"exp": None}, "lacks a required claim"),
        ({"iat": None}, "lacks a required claim"),
        ({"sub": None}, "lacks a required claim"),
        ({"aud": None}, "lacks a required claim"),
        ({"iss": None}, "lacks a required claim"),
        ({"tenant": None}, "lacks its tenant"),
        ({"scope": None}, "lacks its tenant or scope"),
        ({"tenant": "globex"}, "another tenant"),
        ({"exp": "tomorrow"}, "malformed"),
    ],
)
def test_a_token_with_a_bad_claim_is_refused(
    engine: sa.Engine, tenant: Tenant, forge: Forge, claims: dict[str, object], reason: str
) -> None:
    """Times are given as seconds from now, and made absolute only when the test runs."""
    good = tokens.issue(engine, SETTINGS, principal(tenant)).token
    now = int(time.time())
    timed = {"exp", "nbf", "iat"}
    claims = {
        name: now + value if name in timed and isinstance(value, int) else value
        for name, value in claims.items()
    }

    assert reason in refused(engine, forge(good, claims))


@SQLITE_ONLY
def test_a_small_clock_difference_is_tolerated(
    engine: sa.Engine, tenant: Tenant, forge: Forge
) -> None:
    good = tokens.issue(engine, SETTINGS, principal(tenant)).token
    now = int(time.time())

    assert verify(engine, forge(good, {"exp": now - 5, "nbf": now + 5, "iat": now + 5}))


@SQLITE_ONLY
def test_a_token_for_another_audience_or_issuer_setting_is_refused(
    engine: sa.Engine, tenant: Tenant
) -> None:
    good = tokens.issue(engine, SETTINGS, principal(tenant)).token

    assert "audience" in refused(engine, good, Settings(token_audience="other"))
    assert "issuer" in refused(engine, good, Settings(token_issuer="other"))


@SQLITE_ONLY
def test_a_token_with_a_bad_signature_is_refused(engine: sa.Engine, tenant: Tenant) -> None:
    good = tokens.issue(engine, SETTINGS, principal(tenant)).token
    header, payload, signature = good.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    other_claims = jwt.decode(good, options={"verify_signature": False}) | {"scope": "write.users"}
    swapped = f"{header}.{b64(orjson.dumps(other_claims))}.{signature}"

    assert "signature" in refused(engine, f"{header}.{payload}.{flipped}")
    assert "signature" in refused(engine, swapped)


@SQLITE_ONLY
def test_a_token_signed_by_a_key_of_our_own_but_not_stored_is_refused(
    engine: sa.Engine, tenant: Tenant
) -> None:
    good = tokens.issue(engine, SETTINGS, principal(tenant)).token
    claims = jwt.decode(good, options={"verify_signature": False})
    stranger = ec.generate_private_key(ec.SECP256R1())
    headers = {"kid": kids(engine)[0], "typ": "at+jwt"}

    assert "signature" in refused(
        engine, jwt.encode(claims, stranger, algorithm="ES256", headers=headers)
    )


@SQLITE_ONLY
def test_an_unsigned_token_is_refused(engine: sa.Engine, tenant: Tenant) -> None:
    good = tokens.issue(engine, SETTINGS, principal(tenant)).token
    claims = jwt.decode(good, options={"verify_signature": False})
    header = {"alg": "none", "typ": "at+jwt", "kid": kids(engine)[0]}

    assert "must be signed with ES256" in refused(engine, unsigned(header, claims) + ".")
    assert refused(engine, unsigned(header, claims))


@SQLITE_ONLY
def test_a_token_signed_with_hs256_and_the_public_key_as_secret_is_refused(
    engine: sa.Engine, tenant: Tenant
) -> None:
    good = tokens.issue(engine, SETTINGS, principal(tenant)).token
    claims = jwt.decode(good, options={"verify_signature": False})
    with engine.connect() as connection:
        key = signing_keys.all_keys(connection)[0]
    public = (
        private_key(key).public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    signing_input = unsigned({"alg": "HS256", "typ": "at+jwt", "kid": key.kid}, claims)
    mac = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()

    assert "must be signed with ES256" in refused(engine, f"{signing_input}.{b64(mac)}")


@SQLITE_ONLY
@pytest.mark.parametrize(
    "header, reason",
    [
        ({"kid": "20200101T000000000000-deadbeef"}, "unknown key"),
        ({"kid": None}, "unknown key"),
        ({"typ": "JWT"}, "not of type at+jwt"),
    ],
)
def test_a_token_with_a_bad_header_is_refused(
    engine: sa.Engine, tenant: Tenant, forge: Forge, header: dict[str, object], reason: str
) -> None:
    good = tokens.issue(engine, SETTINGS, principal(tenant)).token

    assert reason in refused(engine, forge(good, header=header))


@SQLITE_ONLY
@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b.c", "a.b", "....", "eyJhbGciOiJFUzI1NiJ9.e30.x" * 200, "é.é.é"],
)
def test_a_malformed_token_is_refused(engine: sa.Engine, token: str) -> None:
    assert refused(engine, token)


def test_a_token_signed_by_the_previous_key_verifies_after_a_rotation_until_it_is_removed(
    engine: sa.Engine, tenant: Tenant
) -> None:
    old = tokens.issue(engine, SETTINGS, principal(tenant)).token
    (old_kid,) = kids(engine)

    tokens.rotate(engine)
    new = tokens.issue(engine, SETTINGS, principal(tenant)).token

    assert jwt.get_unverified_header(new)["kid"] != old_kid
    assert kids(engine)[0] == jwt.get_unverified_header(new)["kid"]
    assert verify(engine, old)
    assert verify(engine, new)

    tokens.remove(engine, old_kid)

    assert "unknown key" in refused(engine, old)
    assert verify(engine, new)


@SQLITE_ONLY
def test_the_only_key_cannot_be_removed(engine: sa.Engine, tenant: Tenant) -> None:
    tokens.issue(engine, SETTINGS, principal(tenant))

    with pytest.raises(signing_keys.LastSigningKey):
        tokens.remove(engine, kids(engine)[0])
    with pytest.raises(signing_keys.SigningKeyNotFound):
        tokens.remove(engine, "no-such-key")


@SQLITE_ONLY
def test_a_rotation_by_another_process_is_picked_up(
    engine: sa.Engine, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens.issue(engine, SETTINGS, principal(tenant))
    with engine.begin() as connection:
        rotated = signing_keys.rotate(connection)

    monkeypatch.setattr(tokens, "REFRESH_EVERY", 0.0)
    issued = tokens.issue(engine, SETTINGS, principal(tenant)).token

    assert jwt.get_unverified_header(issued)["kid"] == rotated.kid


@SQLITE_ONLY
def test_a_removal_by_another_process_is_picked_up(
    engine: sa.Engine, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tokens.issue(engine, SETTINGS, principal(tenant)).token
    with engine.begin() as connection:
        signing_keys.rotate(connection)
        signing_keys.remove(connection, jwt.get_unverified_header(old)["kid"])

    assert verify(engine, old)
    monkeypatch.setattr(tokens, "REFRESH_EVERY", 0.0)
    assert "unknown key" in refused(engine, old)


@SQLITE_ONLY
def test_a_key_added_by_another_process_verifies_at_once(
    engine: sa.Engine, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens.issue(engine, SETTINGS, principal(tenant))
    monkeypatch.setattr(tokens, "RELOAD_AT_MOST_EVERY", 0.0)
    with engine.begin() as connection:
        key = signing_keys.rotate(connection)
    claims = jwt.decode(
        tokens.issue(engine, SETTINGS, principal(tenant)).token,
        options={"verify_signature": False},
    )
    headers = {"kid": key.kid, "typ": "at+jwt"}
    token = jwt.encode(claims, private_key(key), algorithm="ES256", headers=headers)

    assert verify(engine, token)


@SQLITE_ONLY
def test_verifying_reads_no_key_from_the_database_and_unknown_keys_rarely(
    engine: sa.Engine, tenant: Tenant, forge: Forge
) -> None:
    good = tokens.issue(engine, SETTINGS, principal(tenant)).token
    unknown = forge(good, header={"kid": "20200101T000000000000-deadbeef"})

    with queries(engine) as seen:
        for _ in range(20):
            verify(engine, good)
            refused(engine, unknown)

    assert len(seen) <= 1


@SQLITE_ONLY
def test_no_key_details_appear_in_a_keys_repr(engine: sa.Engine) -> None:
    signing_keys.ensure(engine)
    with engine.connect() as connection:
        (key,) = signing_keys.all_keys(connection)

    assert "PRIVATE KEY" in key.private_key
    assert "PRIVATE" not in repr(key)


def test_token_fixture_issues_tokens_the_server_accepts(
    engine: sa.Engine, tenant: Tenant, token: Token
) -> None:
    claims = verify(engine, token(tenant, "custom:hr", scopes=["read.user.reports"]))

    assert claims.tenant == "acme"
    assert claims.scopes == {"read.user.reports"}


@SQLITE_ONLY
def test_a_remembered_token_is_verified_again_by_no_signature_check(
    engine: sa.Engine, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tokens.issue(engine, SETTINGS, principal(tenant)).token
    first = verify(engine, good)

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("the token was decoded again")

    monkeypatch.setattr(jwt, "decode", no_decoding)

    assert verify(engine, good) == first


@SQLITE_ONLY
def test_a_remembered_token_is_refused_once_it_expires(
    engine: sa.Engine, tenant: Tenant, forge: Forge
) -> None:
    good = tokens.issue(engine, SETTINGS, principal(tenant)).token
    almost = forge(good, {"exp": int(time.time()) + 1 - tokens.LEEWAY})
    assert verify(engine, almost)

    time.sleep(2)

    assert "expired" in refused(engine, almost)


@SQLITE_ONLY
def test_a_remembered_token_is_refused_under_another_audience_or_issuer_setting(
    engine: sa.Engine, tenant: Tenant
) -> None:
    good = tokens.issue(engine, SETTINGS, principal(tenant)).token
    assert verify(engine, good)

    assert "audience" in refused(engine, good, Settings(token_audience="other"))
    assert "issuer" in refused(engine, good, Settings(token_issuer="other"))


@SQLITE_ONLY
def test_remembered_tokens_are_bounded_and_still_verify_after_starting_over(
    engine: sa.Engine, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens, "REMEMBERED_AT_MOST", 3)
    issued = [tokens.issue(engine, SETTINGS, principal(tenant)).token for _ in range(5)]

    for token in issued * 2:
        assert verify(engine, token)
    assert len(tokens._ring(engine)._verified) <= 3
