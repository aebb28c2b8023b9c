"""Throughput: requests per second under 32 concurrent connections (wrk), for the first
JSON page and for a page half a million rows deep, against Datasette's JSON for the same
page of the tenant's results table.

The first page is measured three times for each server, in turns, and each figure is the
median of its runs. Datasette is given its fastest form: the raw table with its count,
facets and suggestions turned off (`_nocount`, `_nofacet`, `_nosuggest`), and a deep page
asked for by a filter on the key (`id__gt=...&_sort=id`). Its own `_next` token for the
table's compound key (tenant, id) becomes `tenant_id > ? OR (tenant_id = ? AND id > ?)`,
which took 1.7 to 3.8 s a page at M, 1,000 rows deep as 500,000, against 0.03 s by the
filter for the same 100 rows. Both servers run the same number of worker processes. A
non-2xx answer fails the run: a server answering errors fast is not fast.
"""

import re
import statistics
import subprocess

from bench import databases
from bench.figures import Check, Failed, Figure
from bench.measures.pages import FIRST, THROUGHPUT_DEPTH
from bench.run_context import Run
from bench.servers import Server

MEASURE = "Throughput"
ROUNDS = 3
"""Runs of each server on the first page, taken in turns, each figure their median: on a
shared host one 10 s run of the same server gave 276 requests/s a minute after 858."""
DATASETTE_PAGE = "_size=100&_nosuggest=1&_nocount=1&_nofacet=1"


def measure(run: Run) -> tuple[list[Figure], list[Check]]:
    depth = max((d for d in run.cursors if d <= THROUGHPUT_DEPTH), default=0)
    pages = [("first page", 0, FIRST), (f"page at depth {depth:,}", depth, run.cursors[depth])]
    figures = []
    auth = f"Authorization: Bearer {run.owner_token}"
    for name, offset, path in pages:
        rounds = ROUNDS if offset == 0 and not run.quick else 1
        ours_runs, theirs_runs, ours_cpu, theirs_cpu = [], [], [], []
        for _ in range(rounds):
            rate, cpu = _wrk(run, run.server, run.server.url + path, auth)
            ours_runs.append(rate)
            ours_cpu += [cpu] if cpu is not None else []
            if run.datasette is not None:
                rate, cpu = _wrk(run, run.datasette, _datasette_url(run, offset), None)
                theirs_runs.append(rate)
                theirs_cpu += [cpu] if cpu is not None else []
                if offset == 0 and not run.datasette.wait_idle():
                    raise Failed("Datasette was still answering wrk's requests two minutes on")
        ours = statistics.median(ours_runs)
        reference, reference_value, met = None, None, None
        if theirs_runs:
            reference_value = statistics.median(theirs_runs)
            reference = "Datasette JSON, same page of the raw results table"
            met = ours >= 1_000 and ours >= 2 * reference_value
        target = "≥ 1,000 req/s and ≥ 2x" if offset == 0 else None
        figures.append(
            Figure(
                MEASURE,
                f"{name}, JSON, page_size=100",
                ours,
                "req/s",
                reference,
                reference_value,
                target,
                met if offset == 0 else None,
                {
                    "depth": offset,
                    "workers": run.workers,
                    "runs": ours_runs,
                    "reference_runs": theirs_runs,
                },
            )
        )
        if not ours_cpu:
            continue
        figures.append(
            Figure(
                MEASURE,
                f"{name}, server CPU a request",
                statistics.median(ours_cpu),
                "ms",
                "Datasette, same runs" if theirs_cpu else None,
                statistics.median(theirs_cpu) if theirs_cpu else None,
                extra={"depth": offset, "runs": ours_cpu, "reference_runs": theirs_cpu},
            )
        )
    return figures, []


def _datasette_url(run: Run, depth: int) -> str:
    assert run.datasette is not None and run.datasette_file is not None
    url = (
        f"{run.datasette.url}/{run.datasette_file.stem}/results.json"
        f"?tenant_id={run.tenant_id}&{DATASETTE_PAGE}"
    )
    if depth == 0:
        return url
    engine = databases.engine(f"sqlite:///{run.datasette_file}")
    with engine.connect() as connection:
        before = connection.exec_driver_sql(
            "SELECT id FROM results WHERE tenant_id = ? ORDER BY id LIMIT 1 OFFSET ?",
            (run.tenant_id, depth - 1),
        ).scalar_one()
    engine.dispose()
    return f"{url}&id__gt={before}&_sort=id"


def _wrk(run: Run, server: Server, url: str, header: str | None) -> tuple[float, float | None]:
    """Requests per second, and milliseconds of the server's CPU per request answered.

    The CPU a request costs moves less with the host's other tenants than the rate does:
    a rate counts the time the server waited for a core, its CPU does not.

    Raises `Failed` on any non-2xx answer or any connection error (an answer is awaited up
    to 30 s, so a slow server is slow, not failing). A run that completes no request at
    all, as a server slower than its duration does, is taken again five times as long; if
    none completes then either, the rate is zero and the CPU a request unknown (None)."""
    seconds = 2 if run.quick else 10
    for duration in (seconds, 5 * seconds):
        used = server.cpu_seconds()
        command = ["wrk", "-t1", "-c32", f"-d{duration}s", "--timeout", "30s"]
        if header is not None:
            command += ["-H", header]
        output = subprocess.run([*command, url], capture_output=True, text=True, check=True)
        rate, completed = _parse(output.stdout, url)
        if completed:
            return rate, 1000 * (server.cpu_seconds() - used) / completed
    return 0.0, None


def _parse(output: str, url: str) -> tuple[float, int]:
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    completed = re.search(r"(\d+) requests in", output)
    if rate is None or completed is None:
        raise Failed(f"wrk printed no rate for {url}: {output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+)", output)
    if non_2xx is not None:
        raise Failed(f"{non_2xx.group(1)} non-2xx answers from {url}")
    if errors is not None and any(int(count) for count in errors.groups()):
        raise Failed(f"socket errors from {url}: {errors.group(0)}")
    return float(rate.group(1)), int(completed.group(1))
