"""The `learnreport` command: run the server, migrate the database, manage tenants.

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

from learnreport.config import Settings
from learnreport.ingest import demo as demo_data
from learnreport.store import tenants
from learnreport.store.engine import create_engine
from learnreport.store.migrate import current_revision, upgrade

app = typer.Typer(
    name="learnreport",
    help="An open-source reporting server for learning platforms.",
    no_args_is_help=True,
)
tenants_app = typer.Typer(help="Create, list and change tenants.", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")

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
    if written is None:
        console.print("The demo tenants acme and globex exist already: nothing changed "
                      "(--reset rewrites them).")  # fmt: skip
    else:
        table = Table("Tenant", "Kind", "Records")
        for slug, kinds in written.items():
            for kind, summary in kinds.items():
                table.add_row(slug, kind, f"{summary.inserted:,}")
        console.print(table)
        if timing["seconds"]:
            rate = timing["results"] / timing["seconds"]
            console.print(f"Results written at {rate:,.0f} rows per second.")
    if serve_after:
        console.print(f"API docs: http://{host}:{port}/api/v2/public/docs/")
        serve(host=host, port=port, workers=1)


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
