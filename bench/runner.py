"""`python -m bench run`: every measurement against its reference, in one run, on one
dataset, then the figures to bench/results and BENCHMARKS.md regenerated from them.

Measurements run in an order that keeps them apart: the memory figure is read around the
full export, before anything else has raised the server's peak; the page walk finds the
deep cursors the throughput runs use; ingest goes last, on a scratch database.
"""

import json
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench import access, databases, dataset, machine, report, servers
from bench.figures import Check, Failed, Figure
from bench.measures import aggregates, export, ingest, pages, throughput
from bench.run_context import TENANT, Run

Measure = Callable[[Run], tuple[list[Figure], list[Check]]]
MEASURES: tuple[tuple[str, Measure], ...] = (
    ("Full export", export.measure),
    ("Page latency", pages.measure),
    ("Throughput", throughput.measure),
    ("Aggregates", aggregates.measure),
    ("Ingest", ingest.measure),
)
LAST_DATASETTE_MEASURE = "Throughput"
"""Datasette stops after it: it goes on running the queries of requests wrk has given up
on, and would take the CPU from the measurements that follow."""
WARM_UP = 50
"""First-page requests before the memory baseline: caches filled, code paths loaded."""


def run(
    size: str, backend: str, *, quick: bool, workers: int, server: str, out: Path | None
) -> int:
    """Measure, write the figures and the report; 1 when a check failed or a measurement is
    missing, 0 otherwise. Targets never change the outcome."""
    url = databases.url(size, backend, server)
    if not (databases.DATA / f"{size}{'' if backend == 'sqlite' else '-' + backend}.json").exists():
        print(
            f"no {size} dataset on {backend}: run python -m bench build --size {size} "
            f"--backend {backend} first",
            file=sys.stderr,
        )
        return 1
    folder = out or (Path(tempfile.mkdtemp(prefix="bench-")) if quick else databases.RESULTS)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    figures: list[Figure] = []
    checks: list[Check] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-run-") as scratch,
        ExitStack() as stack,
        ExitStack() as reference,
    ):
        context = _start(stack, reference, size, backend, url, quick, workers, Path(scratch))
        try:
            for name, measure in MEASURES:
                print(f"{name} ...", flush=True)
                begun = time.perf_counter()
                found, passed = measure(context)
                figures += found
                checks += passed
                for figure in found:
                    print("  " + report.line(figure), flush=True)
                print(f"  ({time.perf_counter() - begun:.0f} s)", flush=True)
                if name == LAST_DATASETTE_MEASURE:
                    reference.close()
        except Failed:
            _show_log(Path(scratch) / "server.log")
            raise
    missing = [name for name, _ in MEASURES if not any(f.measure == name for f in figures)]
    checks.append(Check("every measurement ran", not missing, f"missing: {missing or 'none'}"))
    results = {
        "size": size,
        "backend": backend,
        "quick": quick,
        "workers": workers,
        "command": _command(size, backend, quick, workers),
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round(time.perf_counter() - started, 1),
        "machine": machine.describe(server if backend == "postgresql" else None),
        "dataset": json.loads((databases.DATA / _build_record(size, backend)).read_text()),
        "figures": [figure.as_dict() for figure in figures],
        "checks": [check.__dict__ for check in checks],
    }
    target = folder / f"{size}-{backend}.json"
    target.write_text(json.dumps(results, indent=2) + "\n")
    written = report.write(folder)
    for check in checks:
        print(f"{'ok  ' if check.passed else 'FAIL'} {check.name}: {check.detail}")
    print(f"figures in {target}; report in {written}; {results['seconds']:.0f} s")
    return 0 if all(check.passed for check in checks) else 1


LOG_LINES = 80
"""Lines of the server's log shown when a measurement fails."""


def _show_log(log: Path) -> None:
    """The end of the server's log, which goes with the run's scratch folder: an answer
    that failed (a 500 in the middle of 200 samples) is explained there or nowhere."""
    if log.exists():
        lines = log.read_text(errors="replace").splitlines()[-LOG_LINES:]
        print(f"the end of {log.name}:", *lines, sep="\n", file=sys.stderr)


def _build_record(size: str, backend: str) -> str:
    return f"{size}.json" if backend == "sqlite" else f"{size}-{backend}.json"


def _start(
    stack: ExitStack,
    reference: ExitStack,
    size: str,
    backend: str,
    url: str,
    quick: bool,
    workers: int,
    scratch: Path,
) -> Run:
    engine = databases.engine(url)
    department_id, _ = dataset.department(dataset.SIZES[size])
    granted = access.create(engine, TENANT, department_id)
    engine.dispose()
    server = stack.enter_context(servers.learnreport(url, workers, scratch / "server.log"))
    sqlite_file = databases.sqlite_file(size)
    datasette = None
    if sqlite_file.exists():
        datasette = reference.enter_context(
            servers.datasette(sqlite_file, workers, scratch / "datasette.log")
        )
    context = Run(
        size=size,
        backend=backend,
        quick=quick,
        workers=workers,
        database_url=url,
        scratch=scratch,
        access=granted,
        server=server,
        owner_token=access.token(server.url, granted.owner),
        admin_token=access.token(server.url, granted.department_admin),
        datasette=datasette,
        datasette_file=sqlite_file if datasette else None,
    )
    with context.client() as client:
        for _ in range(WARM_UP):
            if client.get(pages.FIRST).status_code != 200:
                raise Failed("the first page does not answer 200")
    if datasette is not None:
        httpx.get(f"{datasette.url}/{sqlite_file.stem}/results.json?_size=1", timeout=60)
    return context


def _command(size: str, backend: str, quick: bool, workers: int) -> str:
    words = ["python -m bench run --size", size]
    if backend != "sqlite":
        words += ["--backend", backend]
    if quick:
        words.append("--quick")
    if workers != servers.WORKERS:
        words += ["--workers", str(workers)]
    return " ".join(words)
