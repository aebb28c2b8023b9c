"""The `learnreport` command: run the server, migrate the database, manage tenants and access.

Every command that touches the database first brings it to the newest schema (a no-op
when it is already there), so a newcomer can point `DATABASE_URL` at a fresh file and
run any command. Settings and the engine are built inside each command, never at import.
"""

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Annotated, NoReturn

import orjson
import sqlalchemy as sa
import typer
import uvicorn
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy.engine import make_url

from learnreport.api.tokens import REFRESH_EVERY
from learnreport.config import Settings
from learnreport.domain.access import InvalidRole
from learnreport.ingest import demo as demo_data
from learnreport.store import credentials, signing_keys, tenants
from learnreport.store.credentials import Credential, CredentialError, CredentialNotFound, Kind
from learnreport.store.engine import create_engine
from learnreport.store.migrate import current_revision, upgrade

app = typer.Typer(
    name="learnreport",
    help="An open-source reporting server for learning platforms.",
    no_args_is_help=True,
)
tenants_app = typer.Typer(help="Create, list and change tenants.", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")
clients_app = typer.Typer(help="Create, list and revoke OAuth2 clients.", no_args_is_help=True)
app.add_typer(clients_app, name="clients")
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
signing_keys_app = typer.Typer(
    help="Rotate, list and remove the keys that sign access tokens.", no_args_is_help=True
)
app.add_typer(signing_keys_app, name="signing-keys")

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


# Shared by every command.


def _fail(message: str) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(1)


@contextmanager
def _store() -> Iterator[sa.Engine]:
    """An engine on the configured database, migrated to head and disposed of afterwards.

    Connection failures are reported without the password, which the URL may hold.
    """
    settings = Settings()
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    try:
        engine = create_engine(settings.database_url, pool_size=settings.pool_size)
    except ValueError as exc:
        _fail(str(exc))
    try:
        try:
            upgrade(engine)
        except sa.exc.OperationalError as exc:
            _fail(f"cannot open the database {shown}: {exc.orig}")
        yield engine
    finally:
        engine.dispose()


def _slug(value: str) -> str:
    if not SLUG.match(value):
        raise typer.BadParameter(
            "not a slug (1 to 63 lowercase letters, digits and hyphens, not starting "
            f"with a hyphen): {value!r}"
        )
    return value


SlugArgument = Annotated[
    str,
    typer.Argument(callback=_slug, metavar="SLUG", help="The tenant's short name, e.g. acme-corp."),
]


# Top-level commands: `demo` and the other commands to come join these, each opening the
# database with `_store()`.


@app.command()
def migrate() -> None:
    """Bring the database to the newest schema."""
    with _store() as engine:
        typer.echo(f"Database at revision {current_revision(engine)}.")


@app.command()
def demo(
    users: Annotated[int, typer.Option(min=1, help="People in the main tenant.")] = 300,
    results: Annotated[int, typer.Option(min=1, help="Results in the main tenant.")] = 50_000,
    seed: Annotated[int, typer.Option(help="Same seed, same demo.")] = 7,
    reset: Annotated[bool, typer.Option(help="Rewrite the demo tenants if they exist.")] = False,
    serve_after: Annotated[
        bool, typer.Option("--serve", help="Then serve the APIs on the demo database.")
    ] = False,
    host: Annotated[str, typer.Option(help="Interface to listen on with --serve.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on with --serve.")] = 8000,
) -> None:
    """Fill the database with the demo tenants acme and globex, through the write path."""
    console = Console(stderr=True)
    timing = {"results": 0, "seconds": 0.0}
    with _store() as engine, _demo_progress(console) as advance:

        def progress(kind: str, count: int, seconds: float) -> None:
            if kind == "results":
                timing["results"] += count
                timing["seconds"] += seconds
            advance(kind, count)

        written = demo_data.run(
            engine, users=users, results=results, seed=seed, reset=reset, progress=progress
        )
        client = None if written is None else _demo_client(engine)
    if written is None:
        console.print("The demo tenants acme and globex exist already: nothing changed "
                      "(--reset rewrites them).")  # fmt: skip
        console.print("For credentials: learnreport clients create --tenant acme --role owner")
    else:
        table = Table("Tenant", "Kind", "Records")
        for slug, kinds in written.items():
            for kind, summary in kinds.items():
                table.add_row(slug, kind, f"{summary.inserted:,}")
        console.print(table)
        if timing["seconds"]:
            rate = timing["results"] / timing["seconds"]
            console.print(f"Results written at {rate:,.0f} rows per second.")
    if client is not None:
        console.print(
            f"An owner client of acme, for the docs' Authorize button or POST /oauth/token:\n"
            f"  client_id:     {client.credential.public_id}\n"
            f"  client_secret: {client.secret}\n"
            "Keep the secret now: it is stored hashed and cannot be shown again."
        )
    if serve_after:
        console.print(f"API docs: http://{host}:{port}/api/v2/public/docs/")
        serve(host=host, port=port, workers=1)


def _demo_client(engine: sa.Engine) -> credentials.Created:
    """An owner client for the freshly written acme, so the demo can be queried at once."""
    with engine.begin() as connection:
        acme = tenants.get(connection, "acme")
        return credentials.create(connection, acme, "client", "owner", description="demo")


@contextmanager
def _demo_progress(console: Console) -> Iterator[Callable[[str, int], None]]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("Writing demo records", total=None, rate="")
        started = time.perf_counter()
        done = 0

        def advance(kind: str, count: int) -> None:
            nonlocal done
            done += count
            rate = done / max(time.perf_counter() - started, 1e-9)
            bar.update(task, advance=count, description=f"Writing {kind}", rate=f"{rate:,.0f}/s")

        yield advance


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the reporting APIs over HTTP."""
    with _store():
        pass
    uvicorn.run(
        "learnreport.api.app:create_app", factory=True, host=host, port=port, workers=workers
    )


# `learnreport tenants ...`


@tenants_app.command("create")
def create_tenant(
    slug: SlugArgument,
    name: Annotated[str, typer.Option(help="The tenant's display name.")],
    training_types: Annotated[
        bool, typer.Option(help="Report formal and informal training time apart.")
    ] = False,
    api_access: Annotated[
        bool, typer.Option(help="Let the tenant's clients call the APIs.")
    ] = True,
) -> None:
    """Create a tenant."""
    with _store() as engine, engine.begin() as connection:
        try:
            tenant = tenants.create(
                connection,
                slug,
                name,
                training_types_enabled=training_types,
                api_access_enabled=api_access,
            )
        except tenants.TenantExists:
            _fail(f"tenant {slug!r} already exists.")
    typer.echo(f"Created tenant {tenant.slug} ({tenant.name}).")


@tenants_app.command("list")
def list_tenants(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List every tenant."""
    with _store() as engine, engine.connect() as connection:
        found = tenants.all_tenants(connection)
    if as_json:
        typer.echo(orjson.dumps([asdict(tenant) for tenant in found]).decode())
        return
    table = Table("Slug", "Name", "Training types", "API access", "Created")
    for tenant in found:
        table.add_row(
            tenant.slug,
            tenant.name,
            _yes_no(tenant.training_types_enabled),
            _yes_no(tenant.api_access_enabled),
            tenant.created_at,
        )
    Console().print(table)


@tenants_app.command("set")
def set_tenant(
    slug: SlugArgument,
    name: Annotated[str | None, typer.Option(help="A new display name.")] = None,
    training_types: Annotated[
        bool | None,
        typer.Option(help="Report formal and informal training time apart.", show_default=False),
    ] = None,
    api_access: Annotated[
        bool | None,
        typer.Option(help="Let the tenant's clients call the APIs.", show_default=False),
    ] = None,
) -> None:
    """Change a tenant; options left out keep their value."""
    with _store() as engine, engine.begin() as connection:
        try:
            tenant = tenants.update(
                connection,
                slug,
                name=name,
                training_types_enabled=training_types,
                api_access_enabled=api_access,
            )
        except tenants.TenantNotFound:
            _fail(f"no tenant {slug!r}.")
    typer.echo(
        f"Tenant {tenant.slug} ({tenant.name}): "
        f"training types {_yes_no(tenant.training_types_enabled)}, "
        f"API access {_yes_no(tenant.api_access_enabled)}."
    )


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


# `learnreport clients ...` and `learnreport keys ...`: the same options, two kinds.

TenantOption = Annotated[
    str,
    typer.Option("--tenant", callback=_slug, metavar="SLUG", help="The tenant it belongs to."),
]
RoleOption = Annotated[
    str,
    typer.Option(metavar="ROLE", help="owner, admin, department_admin or custom:NAME."),
]
ScopesOption = Annotated[
    str | None,
    typer.Option(
        metavar="A,B",
        help="One comma-separated list of scopes; by default every scope the role allows, "
        "now and as scopes are added. Required for a custom role.",
    ),
]
GroupsOption = Annotated[
    str | None,
    typer.Option(
        metavar="G1,G2",
        help="One comma-separated list of group names or ids whose subtrees limit what it "
        "sees. Required for a department_admin.",
    ),
]
DescriptionOption = Annotated[
    str | None, typer.Option(help="What it is for, shown by list.", show_default=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]

NOUNS: dict[Kind, str] = {"client": "client", "key": "API key"}
ID_FIELDS: dict[Kind, str] = {"client": "client_id", "key": "id"}
SECRET_FIELDS: dict[Kind, str] = {"client": "client_secret", "key": "key"}
KEY_ID = re.compile(r"^[^.]+\.k_[0-9a-f]{16}$")


@clients_app.command("create")
def create_client(
    tenant: TenantOption,
    role: RoleOption,
    scopes: ScopesOption = None,
    groups: GroupsOption = None,
    description: DescriptionOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a client; its secret is printed once and stored only hashed."""
    _create("client", tenant, role, scopes, groups, description, as_json)


@clients_app.command("list")
def list_clients(tenant: TenantOption, as_json: JsonOption = False) -> None:
    """List a tenant's clients, revoked ones included; never their secrets."""
    _list_credentials("client", tenant, as_json)


@clients_app.command("revoke")
def revoke_client(
    client_id: Annotated[str, typer.Argument(metavar="CLIENT_ID", help="e.g. acme.c_3f9a…")],
) -> None:
    """Revoke a client: its tokens are refused from the next request."""
    _revoke("client", client_id)


@keys_app.command("create")
def create_key(
    tenant: TenantOption,
    role: RoleOption,
    scopes: ScopesOption = None,
    groups: GroupsOption = None,
    description: DescriptionOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API key; it is printed once and stored only hashed."""
    _create("key", tenant, role, scopes, groups, description, as_json)


@keys_app.command("list")
def list_keys(tenant: TenantOption, as_json: JsonOption = False) -> None:
    """List a tenant's API keys, revoked ones included; never the keys themselves."""
    _list_credentials("key", tenant, as_json)


@keys_app.command("revoke")
def revoke_key(
    key_id: Annotated[
        str, typer.Argument(metavar="KEY_ID", help="The key's id: the part before its last dot.")
    ],
) -> None:
    """Revoke an API key: it is refused from the next request."""
    if not KEY_ID.match(key_id):
        _fail("expected a key id such as acme.k_9f8e7d6c5b4a3f21 (the key before its last dot).")
    _revoke("key", key_id)


def _create(
    kind: Kind,
    slug: str,
    role: str,
    scopes: str | None,
    groups: str | None,
    description: str | None,
    as_json: bool,
) -> None:
    with _store() as engine, engine.begin() as connection:
        found = tenants.find(connection, slug)
        if found is None:
            _fail(f"no tenant {slug!r}.")
        try:
            created = credentials.create(
                connection,
                found,
                kind,
                role,
                scopes=_items(scopes),
                groups=_items(groups),
                description=description,
            )
        except (InvalidRole, CredentialError) as error:
            _fail(f"{error}.")
    credential = created.credential
    if as_json:
        shown = {
            ID_FIELDS[kind]: credential.public_id,
            SECRET_FIELDS[kind]: created.secret,
            **_described(credential),
        }
        typer.echo(orjson.dumps(shown).decode())
        return
    typer.echo(
        f"Created {NOUNS[kind]} {credential.public_id} for tenant {credential.tenant} "
        f"(role {credential.role})."
    )
    typer.echo(f"{ID_FIELDS[kind]}: {credential.public_id}")
    typer.echo(f"{SECRET_FIELDS[kind]}: {created.secret}")
    typer.echo("Keep it now: it is stored hashed and cannot be shown again.")


def _list_credentials(kind: Kind, slug: str, as_json: bool) -> None:
    with _store() as engine, engine.connect() as connection:
        found = tenants.find(connection, slug)
        if found is None:
            _fail(f"no tenant {slug!r}.")
        listed = credentials.list_credentials(connection, found, kind)
    if as_json:
        rows = [{ID_FIELDS[kind]: c.public_id, **_described(c)} for c in listed]
        typer.echo(orjson.dumps(rows).decode())
        return
    table = Table(
        "Id", "Role", "Scopes", "Groups", "Description", "Created", "Last used", "Revoked"
    )
    for credential in listed:
        table.add_row(
            credential.public_id,
            str(credential.role),
            "every scope" if credential.scopes is None else ", ".join(credential.scopes),
            ", ".join(credential.groups) if credential.groups is not None else "all",
            credential.description or "",
            credential.created_at,
            credential.last_used_at or "never",
            credential.revoked_at or "",
        )
    Console().print(table)


def _revoke(kind: Kind, public_id: str) -> None:
    slug = credentials.tenant_slug(public_id)
    with _store() as engine, engine.begin() as connection:
        found = tenants.find(connection, slug) if slug is not None else None
        try:
            if found is None:
                raise CredentialNotFound(public_id)
            credential = credentials.revoke(connection, found, public_id, kind)
        except CredentialNotFound:
            _fail(f"no {NOUNS[kind]} {public_id!r}.")
    typer.echo(f"Revoked {NOUNS[kind]} {credential.public_id} at {credential.revoked_at}.")


def _items(text: str | None) -> list[str] | None:
    """`a, b,c` -> `["a", "b", "c"]`; an option left out stays `None`."""
    return None if text is None else [item.strip() for item in text.split(",") if item.strip()]


def _described(credential: Credential) -> dict[str, object]:
    """What JSON output shows of a credential besides its id: never its secret."""
    return {
        "tenant": credential.tenant,
        "role": str(credential.role),
        "scopes": sorted(credential.granted),
        "every_scope": credential.scopes is None,
        "groups": None if credential.groups is None else list(credential.groups),
        "description": credential.description,
        "created_at": credential.created_at,
        "last_used_at": credential.last_used_at,
        "revoked_at": credential.revoked_at,
    }


# `learnreport signing-keys ...`


@signing_keys_app.command("rotate")
def rotate_signing_key() -> None:
    """Add a signing key for new tokens; tokens signed by older keys stay valid."""
    with _store() as engine, engine.begin() as connection:
        key = signing_keys.rotate(connection)
    typer.echo(
        f"Added signing key {key.kid}: running servers sign with it within "
        f"{REFRESH_EVERY:.0f} seconds."
    )


@signing_keys_app.command("list")
def list_signing_keys(as_json: JsonOption = False) -> None:
    """List the signing keys, the one that signs first; never their private parts."""
    with _store() as engine, engine.connect() as connection:
        found = signing_keys.all_keys(connection)
    rows = [
        {"kid": key.kid, "algorithm": key.algorithm, "created_at": key.created_at, "signs": i == 0}
        for i, key in enumerate(found)
    ]
    if as_json:
        typer.echo(orjson.dumps(rows).decode())
        return
    if not rows:
        typer.echo("No signing key yet: the first token issued makes one.")
        return
    table = Table("Key id", "Algorithm", "Created", "Signs")
    for row in rows:
        table.add_row(row["kid"], row["algorithm"], row["created_at"], _yes_no(row["signs"]))
    Console().print(table)


@signing_keys_app.command("remove")
def remove_signing_key(
    kid: Annotated[str, typer.Argument(metavar="KID", help="The key id, as listed.")],
) -> None:
    """Remove a signing key: every token it signed is refused from then on."""
    with _store() as engine, engine.begin() as connection:
        try:
            signing_keys.remove(connection, kid)
        except signing_keys.SigningKeyNotFound:
            _fail(f"no signing key {kid!r}.")
        except signing_keys.LastSigningKey:
            _fail(f"{kid} is the only signing key: rotate first, then remove it.")
    typer.echo(
        f"Removed signing key {kid}: running servers refuse its tokens within "
        f"{REFRESH_EVERY:.0f} seconds."
    )
