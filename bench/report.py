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
  raw `results` table (`?tenant_id=...`) with no joins, with `_nocount`, `_nofacet` and
  `_nosuggest`, a deep page asked for by a filter on the key (`id__gt=...&_sort=id`,
  which SQLite seeks in 0.03 s at M). Its own `_next` token for the table's compound key
  (tenant, id) becomes `tenant_id > ? OR (tenant_id = ? AND id > ?)`: 1.7 to 3.8 s a
  page at M, 1,000 rows deep as 500,000. Its CSV stream, `?_stream=on&_size=max`, pages
  with that token, so its rate falls with the table's size (278 rows/s at M, 15 at L);
  it is timed for a bounded time, its rate taken over the rows received. A PostgreSQL
  run compares with Datasette on the SQLite file of the same dataset.
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
## Where the time goes

**Building L in 15 minutes** (17.6 million records through the write path). Met on 5
December 2026, just after midnight: L was built in 733 s (24,438 records/s, 724 s of the
writer's CPU) with both changes below; the host had also sped up since the evening
(M without the second change: 62 s, against 72 s an hour before). On 4 December, night,
on the same host, L was built in 871 s (20,585 records/s, 860 s of the writer's CPU)
with SQLite's rollback journal kept in memory for the build (the first change below),
which the L table's run used, and an hour before that in 1,136 s (1,027 s of the
writer's CPU) through the write-ahead log, so without that change the target was not met
there; M took 72 s with the journal in memory and 78 s with the log, in builds one after
the other. On the faster host of the evening, through the log: 741 s,
then 835 s once the results' index of content became one of content and key. Met on 3
December, evening, in 761 s; 2,547 s before December.
What changed, each measured on its own:

- The build's writer loads SQLite with its rollback journal in memory, never waiting for
  the disk (`bench/build.BULK_PRAGMAS`), then leaves the file in WAL mode, as the server
  opens it. Through the write-ahead log, each page a batch changed was written twice,
  into the log at the commit and from it into the database at a checkpoint. Midway
  through L, over 10 s: 37,000 system calls and 76 MB written a second at 16,000
  records/s through the log, 11,000 and 46 MB at 22,500 records/s with the journal in
  memory; committing fell from 14% of the writer's samples to 7%. A build that stops is
  built again from nothing, so it needs no journal that outlives a crash; the journal in
  memory still undoes a batch that fails.
- The generating process converts each batch ahead of the writer
  (`learnreport.ingest.convert`: validating the records and turning them into stored
  rows, the write path's work that asks no database): 6.3 microseconds a result and 3.0
  an enrollment, measured on M's batches, where unpickling the converted rows costs the
  writer 0.5 more than the records. M's writer took 55.5 and 56.3 s of CPU with it
  against 61.4 and 61.9 without, in builds taken in turns (57 s against 62 and 63).
- The tallies' recount reads a batch that names ten pairs or more per person (a bulk load
  of people's histories) by its people, a range of each person's index entries, instead of
  seeking each pair (`learnreport.store.tallies.DENSE`): 19,000 pairs of 1,000 people read
  their stored attempts and enrollments in 75 ms instead of 220; the M build's writer took
  53 s of CPU with it and 60 s without, in builds taken one after the other.
- Writing users' custom fields asked whether each record was current of a list copied for
  each record, quadratic in the batch: 4.3% of the M build's samples (py-spy).
- The uuids the store mints come from one read of the system's random source per batch
  instead of one per uuid (2.5% of the M build's samples).
- None is bound through an adapter registered for it, and a column every row of a batch
  leaves empty is left out of its INSERT (five of the results' twenty-four columns in the
  dataset): 50,000 rows of ten columns, five of them None, went into SQLite in 114 ms
  plainly, 72 ms with the adapter, 44 ms without the five.
- The build reads each batch from the generating process into one buffer kept from batch
  to batch: a new one of each batch's size, mapped afresh by the allocator, was 2.5% of the
  L build's samples.

Earlier, since December: batches of 50,000 records as `learnreport import --batch-size
50000` writes them; the log copied into the database every 100,000 pages (until the
journal in memory replaced it); SQLite analysed once at the end; the tallies' recount not
reading a batch's pairs a second time after its write; Python's cyclic garbage collector
after 100,000 new containers instead of 700; the dataset generated in a second process;
time-ordered uuids (version 7); a 1 GiB page cache for the build's writer.

- The writer is one thread and the bound. py-spy over 30 s of the L build at 5.5 to 6.4
  million records, with the journal in memory: inserting 46% (SQLite's b-tree inserts and
  index searches), committing 7%, the tallies' recount 17% (reading before the write and
  adding the difference after), converting records to stored rows 6%, validating 3%,
  taking batches from the generating process 3%, the rest of the write path (looking up,
  planning) the rest. Through the log, over two minutes at 12.6 to 14.9 million records
  on 3 December: inserting 39%, committing 14% (writing the log 8%, copying it into the
  database 6%), the recount 19%. The results' and enrollments' modification times are
  indexed and a backfill writes them in no order, so the larger those indexes grow, the
  more distinct pages a batch's rows land on, and a commit writes each of them whole.
- Tried and not kept, before the journal in memory: a thread of the build's own copying the
  log into the database every second (SQLite's passive checkpoint, which runs without the
  interpreter lock): the writer's commits fell from 16% to 6% of its samples, but the
  build was no faster.
- What would move it next, by the profile at L before the conversion moved: SQLite's own
  inserts (46%), then the tallies' recount (17%), which reads each batch's pairs before
  the write and adds the difference after.

**Throughput of the first page** (at least 1,000 requests/s and 2x Datasette). Met in
the tables above, with a margin: on 4 December 2026, night, 1,579 requests/s against 583
at M (2.71x, at 0.36 of Datasette's CPU a request) and 1,603 against 626 at L (2.56x, at
0.39). The ratio moves with the host more than with most changes: on the host of the
evening, with the code before the last change below, five runs gave 1.98 to 2.04 times
Datasette's rate at 0.49 to 0.51 of its CPU (1,411 against 693 at M, 1,488 against 737 at
L, in the tables then); on the night's host the same code gave 2.41x at M, at 0.41. Earlier
on 4 December, on another host, the CPU ratio was 0.47 to 0.54, and on 3 December 0.65 to
0.70 (1.45x at M). Each change below was measured in runs of both versions taken in
turns (bench servers, `wrk` at 32 connections for 10 s, three rounds, the median, or runs
of the application in the process), on the same host. The host's speed moves by more
than most of them through a day, so the CPU a request, which moves less than the rate, is
the measure of the gap; Datasette has slow runs on any host (one of its three runs at L
gave 165 requests/s at 7.1 ms a request), which the median of three keeps out of a
figure.

- What a route takes from the application (the engine, the settings, the cursor signer)
  it reads off `app.state` itself (`learnreport.api.app_state`) instead of through
  FastAPI's `Depends`, which solved each afresh for every request: the credential's
  dependency and the route's went from six dependencies solved to two. In the process at
  M, four rounds of five runs of 2,000 first pages of each, taken in turns: 0.915 to 0.969
  ms of CPU a page (medians of the rounds) against 0.952 to 0.991, 0.03 to 0.04 ms less.
- Each result keeps its content's kind (`results.content_kind`, copied by the write path;
  a content never changes kind), and a report of one kind asks the result. Asked of the
  catalog, it made SQLite 3.40 build a Bloom filter from every content of that kind in
  the tenant at each query, so a page's cost grew with the catalog: in a copy of M given
  20,000 more activities, a first page's query took 1.98 ms instead of 0.41. At M: 1.43 ms
  of CPU a first page of modules against 1.51; programmes 1.8 against 3.1 and skills 1.5
  against 1.9, whose pages had read through the other kinds' rows.
- Each result keeps its pair's enrollment type (`results.enrollment_type`, kept by the
  write path's recount, `learnreport.store.tallies`), from which `optional` is read.
  Probed in the enrollments for each row, it took the page's query from 0.28 ms to 0.36
  (the `sqlite3` module alone, best of 7 x 1,000 at M). At M: 1.15 ms a request against
  1.28 (1,643 requests/s against 1,470). The CSV export over HTTP, which ran the probe for
  each of its rows, gave 331,697 rows/s at M (220,133 the day before, on another host).
- A SQLite connection whose statement gave up is closed rather than given out again
  (`learnreport.store.engine`). Python 3.11's `sqlite3` keeps each connection's prepared
  statements by their SQL and takes a kept one only when it is not in use; a statement
  interrupted while its rows were read stays marked in use for good, so a worker's first
  page, interrupted once with a cold cache, prepared its query again at every request
  (0.13 ms of its 0.42 ms read; a breakpoint on `sqlite3_prepare_v2` counted three
  prepares a request before the change, two after). Under `wrk` at M: 1.49 ms against
  1.95.
- The credential and the page of a request read through one connection of the quick
  reader and one snapshot (`learnreport.api.inline`, `OneReadPerRequest`): 0.065 ms less
  CPU in the process at M (median of five pairs of runs of 3,000 pages).
- Where a first page's CPU went before that change, in the process at M (0.88 to 0.94 ms
  without HTTP; uvicorn itself answers a constant 21 kB body with 0.047 ms of CPU under
  the same `wrk` runs): the page's query 0.36 ms through SQLAlchemy (0.32 in the `sqlite3`
  module alone); the quick reader's connection and transaction 0.04 (a checkout, `BEGIN`
  and `ROLLBACK` through SQLAlchemy), the credential's query 0.03 (3 microseconds of it in
  the driver); the rest FastAPI's routing, dependencies and middleware, the parameters,
  the cursor, the links and the JSON.
- Measured and not done: the page's query read through the `sqlite3` driver with its
  statement compiled once, without SQLAlchemy's execution context and `Row` objects, took
  a first page in the process 0.81 to 0.82 ms of CPU against 0.88 to 0.91 (two runs of
  three rounds of 3,000 pages of each, at M). That was before turning the SQLite integers
  of `is_completed` and `optional` into booleans, which SQLAlchemy does in C as it makes
  each row and the driver path would do in Python, for every row of the page; it must
  also wrap the driver's errors as SQLAlchemy does and close a connection whose statement
  gave up (`_replace_after_giving_up` works through SQLAlchemy's error hook). A second
  path for every quick read, for what is left of 7%, is not worth its risk while the
  target holds with a margin.
- Measured and dropped: keeping the principal for a second per credential and worker. On
  3 December it saved 10% of a request's CPU, when the credential had a connection of its
  own; with one connection per request, what it would save is the credential's query,
  about 0.03 ms (3%), for honouring a revoked credential up to a second longer.
  `WITHOUT ROWID` tables for results, people and contents: the page's own columns read
  in 0.140 ms instead of 0.146, and SQLite's plan for the joined page turned to 4 ms.
  A 1 GiB memory map, or a larger page cache, for the page's query: no change.
- Tried and not kept: the page's JSON built by SQLite itself
  (`json_group_array(json_object(...))`), 0.75 to 0.79 ms a page against 0.82 to 0.83 ms
  fetched and dumped by orjson at the time; each row packed by SQLite into one JSON array
  (`json_array(...)`) to spare the driver its per-column calls (Python 3.11's `sqlite3`
  releases the interpreter lock around each column of each row), 4.78 million
  instructions a page fetched against 4.70 plain; covering indexes for `optional`
  (within the noise) and for the page's join on contents (the planner, without statistics
  for it, scanned the tenant's activities and sorted all their results); a shorter switch
  interval of the interpreter lock (within the noise).
- On PostgreSQL a page runs in threads (its queries wait on the network): 534 requests/s
  against 627 for Datasette on the SQLite file (4 December, night), at 2.1 ms of
  learnreport's CPU a request, PostgreSQL's own not counted, against Datasette's 3.1;
  617 against 827 at 1.8 ms on the evening's host, 525 against 836 on 3 December. Each
  request still checks out two connections, one for the credential and one for the page,
  in two threads; each checkout pings the server (`pool_pre_ping`) and begins a
  transaction. Sharing one connection across a request's threads would save two of those
  round trips, but a request cancelled while its thread still reads must not close the
  connection under it.

**A department's page on PostgreSQL** (p99 at most 20 ms; PostgreSQL's figures are
recorded, the targets are SQLite's). Its plan walks the key and checks each row's person
against the department's memberships (about 2 microseconds a row, 6,268 rows for a page at
M): 16 ms a page after `VACUUM`, 26 ms before, timed through psycopg. Until December 2026
a pooled connection that had run the page five times planned it once for any department,
reading every row of the department's people and sorting them: 102 to 125 ms. Every statement is
now planned for its own values. In the run of the table above (4 December 2026, night,
on a slower host, whose first page took 5.4 ms against 4.1 on the evening's) the page took
11.2 ms p50 (p99 16.0) as the department's administrator and 13.6 ms (p99 17.1) with
`group_name`; 8.6 and 9.9 ms p50 on the evening's host, 10.5 and 11.3 ms on 3 December.
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
