"""The `learnreport` command: run the server, migrate the database, manage tenants and access.

Every command that touches the database first brings it to the newest schema (a no-op
when it is already there), so a newcomer can point `DATABASE_URL` at a fresh file and
run any command. Settings and the engine are built inside each command, never at import.
"""

import re
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import Annotated, BinaryIO, NoReturn

import orjson
import sqlalchemy as sa
import typer
import uvicorn
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy.engine import make_url

from learnreport import exports
from learnreport.api import audit
from learnreport.api.errors import InvalidParameters
from learnreport.api.tokens import REFRESH_EVERY
from learnreport.collector import collect_less_often
from learnreport.config import Settings
from learnreport.domain.access import InvalidRole
from learnreport.ingest import KINDS, files, imports
from learnreport.ingest import demo as demo_data
from learnreport.reports import NATIVE
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


@app.callback()
def _every_command() -> None:
    collect_less_often()


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
        created = credentials.create(connection, acme, "client", "owner", description="demo")
    _audit("credential.created", created.credential, "learnreport demo")
    return created


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


GRACEFUL_TIMEOUT = 30
"""Seconds a stopping server gives its answers in flight. Without a bound, uvicorn waits for
every one: a client that stopped reading an export kept a stopped server running for good."""

STOPPING = (signal.SIGTERM, signal.SIGINT)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    graceful_timeout: Annotated[
        int,
        typer.Option(
            min=0,
            help="Seconds that answers in flight (an export to a slow client) may take to "
            "finish after SIGTERM or SIGINT before their connections are closed.",
        ),
    ] = GRACEFUL_TIMEOUT,
) -> None:
    """Serve the reporting APIs over HTTP; SIGTERM or SIGINT stops it, exiting with 0."""
    with _store():
        pass
    with _stopped_cleanly():
        uvicorn.run(
            "learnreport.api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            timeout_graceful_shutdown=graceful_timeout,
        )


@contextmanager
def _stopped_cleanly() -> Iterator[None]:
    """Exit with 0 once uvicorn has shut down on SIGTERM or SIGINT.

    uvicorn shuts down gracefully on either, then restores the handlers it found and raises
    the signal again, for the caller to act on: with Python's defaults the process died of
    SIGTERM (status 143) or printed "Aborted!" and exited with 1 after a clean shutdown."""

    def exit_cleanly(number: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    with _on_stop(exit_cleanly):
        yield


@contextmanager
def _on_stop(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """`handler` for SIGTERM and SIGINT meanwhile, the handlers found restored afterwards."""
    found = {number: signal.getsignal(number) for number in STOPPING}
    for number in STOPPING:
        signal.signal(number, handler)
    try:
        yield
    finally:
        for number, previous in found.items():
            signal.signal(number, previous)


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
COMMANDS: dict[Kind, str] = {"client": "clients", "key": "keys"}
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
    _audit("credential.created", credential, f"learnreport {COMMANDS[kind]} create")
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


def _audit(event: str, credential: Credential, command: str) -> None:
    """The audit line of a credential created or revoked, where the settings send the
    server's; the command stands in the line's route."""
    audit.direct(Settings().audit_log)
    audit.record(event, tenant=credential.tenant, principal=credential.public_id, route=command)


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
    _audit("credential.revoked", credential, f"learnreport {COMMANDS[kind]} revoke")
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


# `learnreport export` and `learnreport import`: files in and out.

FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        metavar="FORMAT",
        help=f"{', '.join(files.FORMATS)}; by default the one the file's suffix names.",
        show_default=False,
    ),
]


def _one_of(allowed: Iterable[str]) -> Callable[[str | None], str | None]:
    """A callback refusing a value outside `allowed`, listing them."""
    choices = tuple(allowed)

    def check(value: str | None) -> str | None:
        if value is not None and value not in choices:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}")
        return value

    return check


@app.command("export")
def export_file(
    tenant: TenantOption,
    report: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            callback=_one_of(NATIVE),
            help=f"A native report, with the columns its API shows: {', '.join(NATIVE)}.",
        ),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            metavar="KIND",
            callback=_one_of(KINDS),
            help=f"Every record of a kind, in the shape import takes: {', '.join(KINDS)}.",
        ),
    ] = None,
    fmt: FormatOption = None,
    out: Annotated[
        Path | None, typer.Option(help="The file to write; standard output without it.")
    ] = None,
    filters: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            metavar="NAME=VALUE",
            help="A filter of the report, as its API takes it; repeatable.",
        ),
    ] = None,
) -> None:
    """Write a report or every record of a kind to a CSV, NDJSON or Parquet file."""
    if (report is None) == (kind is None):
        _fail("give either --report NAME or --kind KIND.")
    if kind is not None and filters:
        _fail("--filter applies to --report only: a kind's export holds every record.")
    chosen = _file_format(fmt, out)
    pairs = [_filter(text) for text in filters or []]
    console = Console(stderr=True)
    with _store() as engine, engine.connect() as connection:
        found = _tenant(connection, tenant)
        try:
            if report is not None:
                layout, batches = exports.report(connection, found, report, pairs)
            else:
                layout, batches = exports.kind(connection, found.id, str(kind))
        except InvalidParameters as error:
            _fail("; ".join(f"--filter {name}: {reason}" for name, reason in error.errors))
        with closing(batches), _output(out) as stream, _counting(console) as advance:
            for count in exports.write(stream, chosen, layout, batches):
                advance("Exporting", count)


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The file to read.")],
    tenant: TenantOption,
    kind: Annotated[
        str,
        typer.Option(
            metavar="KIND",
            callback=_one_of(KINDS),
            help=f"The kind of the file's records: {', '.join(KINDS)}.",
        ),
    ],
    fmt: FormatOption = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Records per batch, each its own transaction; by default "
            "LEARNREPORT_INGEST_BATCH_SIZE (10,000).",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Check the whole file, tell what it would change, write nothing.")
    ] = False,
    resume: Annotated[
        bool,
        typer.Option(help="Go on with the unfinished import of this file after its last batch."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Write a file of one kind of record through the write path: checked whole first,
    then in batches, resumable."""
    chosen = _file_format(fmt, file)
    if not file.exists():
        _fail(f"there is no file {file}.")
    size = batch_size or Settings().ingest_batch_size
    console = Console(stderr=True)
    stopped_by: list[int] = []

    def stop(number: int, frame: FrameType | None) -> None:
        """The import stops before its next batch or commit, the first signal telling the
        exit status."""
        stopped_by.append(number)

    with _store() as engine:
        with engine.connect() as connection:
            found = _tenant(connection, tenant)
        try:
            with _on_stop(stop), _counting(console) as advance:
                outcome = imports.run(
                    engine,
                    found.id,
                    kind,
                    file,
                    fmt=chosen,
                    batch_size=size,
                    dry_run=dry_run,
                    resume=resume,
                    progress=advance,
                    stop=lambda: bool(stopped_by),
                )
        except (files.FileRejected, imports.ImportRefused) as error:
            _fail(f"{file}: {error}")
    _tell(outcome, file, as_json)
    if outcome.stopped:
        raise typer.Exit(128 + stopped_by[0])
    if outcome.failed:
        raise typer.Exit(1)


def _file_format(given: str | None, path: Path | None) -> str:
    if given is not None:
        if given not in files.FORMATS:
            _fail(f"--format {given!r} is not one of {', '.join(files.FORMATS)}.")
        return given
    if path is None:
        _fail(f"give --format ({', '.join(files.FORMATS)}) to write to standard output.")
    try:
        return files.format_of(path)
    except ValueError as error:
        _fail(f"{error}.")


def _filter(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        _fail(f"--filter {text!r} is not NAME=VALUE.")
    return name.strip(), value


def _tenant(connection: sa.Connection, slug: str) -> tenants.Tenant:
    found = tenants.find(connection, slug)
    if found is None:
        _fail(f"no tenant {slug!r}.")
    return found


@contextmanager
def _output(path: Path | None) -> Iterator[BinaryIO]:
    if path is None:
        yield typer.get_binary_stream("stdout")
        return
    with path.open("wb") as stream:
        yield stream


@contextmanager
def _counting(console: Console) -> Iterator[Callable[[str, int], None]]:
    """A bar per stage with the records done and their rate, drawn on a terminal only."""
    columns = (
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,.0f} records"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        stages: dict[str, tuple[TaskID, float]] = {}
        last = time.perf_counter()

        def advance(stage: str, count: int) -> None:
            """A stage's clock starts when the one before it last advanced."""
            nonlocal last
            if stage not in stages:
                stages[stage] = (bar.add_task(stage, total=None, rate=""), last)
            last = time.perf_counter()
            task, started = stages[stage]
            bar.advance(task, count)
            done = next(found.completed for found in bar.tasks if found.id == task)
            rate = done / max(last - started, 1e-9)
            bar.update(task, rate=f"{rate:,.0f}/s")

        yield advance


def _tell(outcome: imports.Outcome, file: Path, as_json: bool) -> None:
    """The summary on standard output, and the errors (on standard error unless JSON)."""
    summary = outcome.summary
    counts = {
        "received": summary.received,
        "inserted": summary.inserted,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "skipped": summary.skipped,
    }
    if as_json:
        shown = {
            "kind": outcome.kind,
            "dry_run": outcome.dry_run,
            "import_id": outcome.import_id,
            **counts,
            "committed": outcome.committed,
            "resumed_after": outcome.resumed_after,
            "unit": outcome.unit,
            "errors": [asdict(error) for error in outcome.errors],
            "more_errors": outcome.more_errors,
            "stopped": outcome.stopped,
        }
        typer.echo(orjson.dumps(shown).decode())
        return
    for error in outcome.errors:
        where = f"{file} {outcome.unit} {error.line}"
        if error.field:
            where += f", field {error.field}"
        typer.echo(f"{where}: {error.reason}", err=True)
    if outcome.more_errors:
        typer.echo(f"… and {outcome.more_errors:,} more", err=True)
    figures = ", ".join(f"{count:,} {name}" for name, count in counts.items())
    if outcome.stopped and not outcome.committed:
        typer.echo(f"Stopped by a signal before a batch of {file} was committed: nothing written.")
    elif outcome.stopped:
        typer.echo(
            f"Import {outcome.import_id} stopped by a signal: the {outcome.committed:,} records "
            "of its committed batches are kept and the batch in flight was rolled back. Run "
            "again with --resume to go on."
        )
    elif outcome.dry_run and outcome.failed:
        typer.echo(f"Checked {outcome.kind} from {file}: it has errors, so it would write nothing.")
    elif outcome.dry_run:
        typer.echo(f"Checked {outcome.kind} from {file}: no errors; importing it would give "
                   f"{figures}.")  # fmt: skip
    elif outcome.import_id is None:
        typer.echo(f"Nothing written: {file} has errors.")
    elif outcome.failed:
        typer.echo(
            f"Import {outcome.import_id} stopped at a refused batch; the {outcome.committed:,} "
            f"records of its committed batches are kept ({figures}). Mend the file and run "
            "again with --resume."
        )
    else:
        resumed = ""
        if outcome.resumed_after:
            resumed = f" after the {outcome.resumed_after:,} records committed before"
        typer.echo(f"Imported {outcome.kind} from {file}{resumed}: {figures}.")
