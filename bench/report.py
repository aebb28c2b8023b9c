"""BENCHMARKS.md and its plot, written from every results file present, never by hand.

The report is regenerated whole after every run, so the figures of SQLite and PostgreSQL,
and of each size, stand side by side however many runs produced them.
"""

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench import databases
from bench.dataset import SIZES
from bench.figures import Figure

ROOT = Path(__file__).parent.parent
PLOT = "page-latency.png"
BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}

HOW_TO_READ = """\
## How to read this

Every figure was measured in the same run as its reference, on the same data and the same
machine, one after the other. Absolute times move with the machine and with whatever else
it runs; the **ratio** to the reference measured beside it is what holds from one machine
to another, and what the targets are written in where they can be. A ratio above 1 means
learnreport did more per second (rates) or took longer (times in ms) than the reference.
Targets are the project's claims: a missed one is printed as not met and never fails a
run; a wrong result (rows missing, rows out of order, an error answer) does.
"""

REFERENCES = """\
## The references

- **sqlite3 -csv / psql \\copy**: the database's own shell running the statement the export
  has the database run for the owner: the modules report in key order, each column as the
  text of its CSV field, compiled with its values inlined. The floor under any export: the
  same values computed, only written by the shell.
- **Datasette** (under uvicorn, as `datasette serve` runs it, with as many worker processes
  as learnreport) serves the same SQLite file. It is given its fastest form: the tenant's
  raw `results` table (`?tenant_id=...`), keyset-paged on its primary key with no joins,
  with `_nocount`, `_nofacet` and `_nosuggest`; the CSV stream is `?_stream=on&_size=max`,
  timed for a bounded time because it is slow, its rate taken over the rows received. A
  PostgreSQL run compares with Datasette on the SQLite file of the same dataset.
- **Plain SQL aggregates** (`count(*)` by state, by content and state, by group and state
  over the tenant's results) run in the database shell, timed by the shell itself.
- **Driver executemany** of rows already in their stored form, into the same table with the
  same indexes, on a scratch database: the floor under any write path.
- **First page**: the reference of every page latency; keyset paging must not grow with
  depth.

## Why the statistics read tallies

`/analyse/statistics` over a whole tenant answers from `content_tallies` and
`group_tallies`: pairs and progress per state and enrollment type, a few thousand rows
whatever the tenant's size, which the write path keeps current by recounting the pairs and
people each batch changes (`learnreport.store.tallies`). An index cannot serve a fold of
every person x content pair (latest attempt, enrollments), and a table of one row per pair
would still be read whole, about 7.5 million rows at 10 million results. The price is paid
by writes (see the ingest figures). A department administrator's figures are the tallies of
the groups it sees when none of its people is in two of them; a filtered question, or a
department administrator's per content, counts the rows it sees.
"""


WHERE_THE_TIME_GOES = """\
## Where the time goes, for the targets not met

**Building L in 15 minutes** (17.6 million records through the write path, about 19,600
records/s). Built in 1,010 s (17,700 records/s), against 2,547 s before December 2026; S
in 6 s and M in 74 s, against 17 s and 199 s. What changed, each measured on the S or M
build: the tallies' recount no longer reads a batch's pairs a second time after its write
(the rows written are put in place in the standings read before it: S from 24,800 to
29,000 records/s); Python's cyclic garbage collector runs after 100,000 new containers
instead of 700 (it was 13% of the M build: S to 34,600 records/s); the dataset is
generated in a second process and handed over through a pipe; uuids the store mints are
time-ordered (version 7), so their index grows at its end; the build's writer keeps a 1
GiB page cache and checkpoints every 25,000 pages (M from 78 to 74 s). py-spy with native
frames over 15 s of the L build at about 6 million records: the inserts 30% (SQLite's
b-tree inserts and index searches), committing 19% (copying the write-ahead log into the
database 11%, writing it 6%), the tallies' recount 20% (reading the pairs before the
write 7%, adding the difference 8%), the rest of the write path (validating, looking up,
planning) about 20%. The rate falls from 23,500 records/s in the first 100 s to 16,500 to
17,400 after 500 s. The likely cause, not yet measured apart from the rest: the results'
and the enrollments' modification times are indexed, and a backfill writes them in no
order, so a batch dirties a page of each of those indexes per row, written to the log and
again into the database. Since 3 December the tallies' difference goes through the
driver's `executemany`, as every bulk write does: S builds within the noise (24,400 and
26,800 records/s before, 24,800 and 25,600 after, in turns), M builds took 85 s (21,700
records/s) and 134 s an hour apart on that host; py-spy over a third put adding the
difference at 6.5% of the build, 5.9 of it in the driver's `executemany`. The build's
writer is one thread: `vmstat` showed the host's two cores about 55% busy through the
first. What would move it next: the write path's pure work (validating, converting to
stored rows, planning) done by a second process ahead of the writer, and larger batches
for a bulk load.

**Throughput of the first page** (at least 1,000 requests/s and 2x Datasette). Neither
target is met at M on SQLite on 3 December 2026, on a host slower than the day before and
whose speed moved through the day: 678 requests/s against Datasette's 404 (1.68x) in the
run of the table above, and with the same code for this page 692 against 403 (1.72x), 474
against 324 (1.46x) and 823 against 453 (1.82x) in three runs earlier that day; the
servers' CPU a request in those four runs, 2.8 ms against 4.7, 2.8 against 4.7, 3.9
against 5.7 and 2.3 against 4.1. On 2 December: 1,191 against 833 at M (1.43x, the rate
met) and 1,105 against 771 at L (1.43x). Profiled on M, SQLite, with `wrk` at 32
connections (py-spy, the event loop's thread, one worker): the page's own work 55%
(SQLite stepping through its rows 30%), the credential 18% (the token's claims are
remembered; loading the principal, which checks the credential is not revoked, is a
query), sending the answer 11%, the access log 3%, FastAPI's routing and dependencies the
rest.

- Since December 2026 the credential and the page run on the event loop while their
  queries are quick (`learnreport/api/inline.py`; DESIGN.md "What a request costs"): six
  runs of each, taken in turns, gave 765 to 1,020 requests/s (median 855) against 443 to
  788 (median 741) with both in threads, at 1.9 to 2.5 ms of the server's CPU a request
  against 2.4 to 4.2. A department's page that outran the loop's 2 ms goes to a thread,
  and its shape goes straight there for a minute, so its latency is unchanged (9.0 to
  12.3 ms p50 against 9.5 to 12.7 in three turns).
- The host varies more than any change measured here: the same server gave 2.2 to 3.6 ms
  of CPU a request in 8 s runs a minute apart, so a table's throughput is the median of
  three runs taken in turns with Datasette's.
- Since 3 December 2026 the throughput table also gives each server's CPU a request
  answered (its processes' CPU over the same `wrk` runs), which moves less with the host's
  other tenants than a rate: one learnreport server gave 437 to 985 requests/s in three
  runs a minute apart, and 2.05 to 3.36 ms of CPU a request in three more.
- What is left, counted in instructions, which do not vary with the host (callgrind, one
  first page at a time in the process without HTTP, the event loop's budget lifted so
  that no page moves to a thread): 9.93 million instructions a page.
  SQLite stepping through the page's query is 25% of them, making the Python values of its
  101 rows of 22 columns about 17%, orjson 6%; the rest is Python: FastAPI's dependencies
  and routing, SQLAlchemy's execution, the credential, the page's links. `is_completed`
  written as `state = ? OR state = ?` instead of an `IN` list, which SQLAlchemy expands
  again at every execution, brought it to 9.69 million (2.5% fewer).
- The page's query alone, best of 15 rounds of 50 in the `sqlite3` module at M: 0.44 ms,
  against 0.21 ms for Datasette's `SELECT *` of 101 results. The result's own columns take
  0.135 ms, the person's id 0.04 more, the activity's columns 0.14 more (0.045 of it goes
  with the condition on the content's kind, for which SQLite builds a Bloom filter over
  the tenant's contents at each query) and `optional` 0.10 more. A covering index for
  `optional`'s lookup gave 0.43 ms against 0.44, within the noise; a covering index on
  contents, which the planner had no statistics for, turned the plan into a scan of the
  tenant's activities and a sort of all their results, and was dropped.
- Tried and not kept: the page's JSON built by SQLite itself
  (`json_group_array(json_object(...))`) cost 0.75 to 0.79 ms a page against 0.82 to 0.83
  ms fetched and dumped by orjson; a shorter switch interval of the interpreter lock
  (0.5 and 2 ms) was within the noise.
- On PostgreSQL a page runs in threads as before (its queries wait on the network): 266
  requests/s against 358 for Datasette on the SQLite file (3 December; 343 against 443 on
  2 December), at 4.2 ms of learnreport's CPU a request, PostgreSQL's own not counted,
  against Datasette's 5.2. Each request checks out two connections, each checkout pings
  the server (`pool_pre_ping`) and begins a transaction, besides the queries.
- What would move it next: fewer b-tree searches per row (a result's key `(tenant_id, id)`
  is an index beside the table, so each row costs two searches, and its person and content
  two more each), `optional` kept on the result by the write path instead of a lookup per
  row, and one connection per request (the credential's and the page's), which on
  PostgreSQL would also save a round trip for the ping and one for the transaction.

**A department's page on PostgreSQL** (p99 at most 20 ms; PostgreSQL's figures are
recorded, the targets are SQLite's). Its plan walks the key and checks each row's person
against the department's memberships (about 2 microseconds a row, 6,268 rows for a page at
M): 16 ms a page after `VACUUM`, 26 ms before, timed through psycopg. Until December 2026 a pooled
connection that had run the page five times planned it once for any department, reading
every row of the department's people and sorting them: 102 to 125 ms. Every statement is
now planned for its own values.
"""


def line(figure: Figure) -> str:
    """One figure as a line of console progress."""
    text = f"{figure.name}: {_value(figure.value, figure.unit)} {figure.unit}"
    if figure.reference is not None:
        ratio = figure.ratio
        text += f" vs {figure.reference} {_value(figure.reference_value, figure.unit)}"
        text += f" (x{ratio:.2f})" if ratio is not None else ""
    if figure.target is not None:
        text += f" [target {figure.target}: {'met' if figure.met else 'not met'}]"
    return text


def write(folder: Path) -> Path:
    """Write the plot and the report from the results files in `folder`; the report goes to
    the repository root for bench/results, into `folder` itself otherwise."""
    runs = _load(folder)
    plotted = _plot(runs, folder / PLOT)
    target = (
        ROOT / "BENCHMARKS.md"
        if folder.resolve() == databases.RESULTS.resolve()
        else (folder / "BENCHMARKS.md")
    )
    image = (folder / PLOT).resolve()
    relative = image.relative_to(target.parent.resolve()) if plotted else None
    target.write_text(_markdown(runs, relative))
    return target


def _load(folder: Path) -> list[dict[str, Any]]:
    runs = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        if isinstance(data, dict) and "figures" in data:
            runs.append(data)
    order = {name: n for n, name in enumerate(SIZES)}
    return sorted(runs, key=lambda r: (order.get(r["size"], 9), r["backend"]))


def _markdown(runs: list[dict[str, Any]], plot: Path | None) -> str:
    parts = [
        "_Generated by `python -m bench run` from the results files in bench/results; "
        "never edit by hand: rerun it._\n",
        "# Benchmarks\n",
        "learnreport measured against a reference in the same run: the database's own shell, "
        "Datasette, the driver's own inserts. See bench/README.md for what each measurement "
        "means and how to run it.\n",
        HOW_TO_READ,
        _machine(runs),
    ]
    for data in runs:
        parts.append(_section(data))
    if plot is not None:
        parts.append(
            "## Page latency by depth\n\np50 and p99 of a 100-row keyset page (JSON) by its "
            f"depth in rows.\n\n![Page latency by depth]({plot.as_posix()})\n"
        )
    parts.append(WHERE_THE_TIME_GOES)
    parts.append(REFERENCES)
    return "\n".join(parts)


def _machine(runs: list[dict[str, Any]]) -> str:
    merged: dict[str, str] = {}
    for data in runs:
        for key, value in data["machine"].items():
            if value != "not used" or key not in merged:
                merged[key] = value
    rows = "\n".join(f"| {key} | {value} |" for key, value in merged.items())
    return f"## Machine\n\nRead at run time.\n\n| | |\n|---|---|\n{rows}\n"


def _section(data: dict[str, Any]) -> str:
    built = data["dataset"]
    size = SIZES.get(data["size"])
    results = f"{size.results:,} results" if size else ""
    head = (
        f"## {BACKENDS.get(data['backend'], data['backend'])}, size {data['size']} "
        f"({results})\n\n"
        f"`{data['command']}`, measured {data['measured_at']} in {data['seconds']:.0f} s, "
        f"{data['workers']} worker process(es). The dataset ({built['total_records']:,} "
        f"records) was built through the write path in {built['seconds']:,.0f} s "
        f"({built['records_per_second']:,} records/s).\n\n"
        "| Measure | Figure | learnreport | Reference | Reference value | Ratio | Target | "
        "Met |\n|---|---|---:|---|---:|---:|---|---|\n"
    )
    rows = []
    for raw in data["figures"]:
        figure = Figure(**{k: v for k, v in raw.items() if k != "ratio"})
        value = f"{_value(figure.value, figure.unit)} {figure.unit}"
        if "p99" in figure.extra:
            value += f" (p99 {figure.extra['p99']:.1f})"
        if len(figure.extra.get("runs", ())) > 1:
            value += (
                " (median of "
                + ", ".join(_value(r, figure.unit) for r in figure.extra["runs"])
                + ")"
            )
        reference = (
            _value(figure.reference_value, figure.unit)
            if figure.reference_value is not None
            else ""
        )
        ratio = f"{figure.ratio:.2f}x" if figure.ratio is not None else ""
        met = "" if figure.met is None else ("met" if figure.met else "**not met**")
        rows.append(
            f"| {figure.measure} | {figure.name} | {value} | {figure.reference or ''} | "
            f"{reference} | {ratio} | {figure.target or ''} | {met} |"
        )
    checks = "\n".join(
        f"- {'passed' if c['passed'] else '**FAILED**'}: {c['name']} ({c['detail']})"
        for c in data["checks"]
    )
    return head + "\n".join(rows) + f"\n\nCorrectness checks:\n\n{checks}\n"


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if unit.endswith("/s") else f"{value:,.1f}"


def _plot(runs: list[dict[str, Any]], path: Path) -> bool:
    figure, axes = plt.subplots(figsize=(8, 4.5))
    drawn = False
    for data in runs:
        points = sorted(
            (f["extra"]["depth"], f["extra"]["p50"], f["extra"]["p99"])
            for f in data["figures"]
            if f["measure"] == "Page latency" and "depth" in f["extra"]
        )
        if not points:
            continue
        label = f"{BACKENDS.get(data['backend'], data['backend'])} {data['size']}"
        depths = [max(depth, 1) for depth, _, _ in points]
        line_p50 = axes.plot(
            depths, [p50 for _, p50, _ in points], marker="o", label=f"{label} p50"
        )
        axes.plot(
            depths,
            [p99 for _, _, p99 in points],
            marker="x",
            linestyle="--",
            color=line_p50[0].get_color(),
            label=f"{label} p99",
        )
        drawn = True
    if drawn:
        axes.set_xscale("log")
        axes.set_xlabel("depth of the page in rows (first page drawn at 1)")
        axes.set_ylabel("ms")
        axes.set_ylim(bottom=0)
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize="small")
        axes.set_title("Keyset page latency by depth (100 rows, JSON)")
        figure.tight_layout()
        figure.savefig(path, dpi=100)
    plt.close(figure)
    return drawn
