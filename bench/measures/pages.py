"""Page latency: the cost of a keyset page by its depth, filtered, and for a department
administrator, against the cost of the first page, measured in the same run.

Keyset paging promises that every page costs what the first one costs, however deep, so
the first page is the reference and the figure is the ratio deep/first. Deep cursors come
from walking the `next` links a thousand rows at a time; each page is then timed with
sequential requests on one keep-alive connection.
"""

import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from bench import dataset
from bench.figures import Check, Failed, Figure, percentiles
from bench.run_context import Run

MEASURE = "Page latency"
FIRST = "/api/v2/reports/modules/?cursor=&page_size=100"
MARKS = (1_000, 10_000, 100_000, 500_000, 1_000_000, 10_000_000)
"""Depths (rows) to time a page at, as deep as the data goes; the deepest page is added."""
THROUGHPUT_DEPTH = 500_000


def measure(run: Run) -> tuple[list[Figure], list[Check]]:
    samples = 30 if run.quick else 200
    with run.client() as client:
        first_p50, first_p99 = _time(client, FIRST, samples)
        run.cursors, walked = _walk(client)
        deepest = max(run.cursors, default=0)
        figures = [_depth_figure(0, first_p50, first_p99, first_p50, deepest=deepest == 0)]
        for depth, url in sorted(run.cursors.items()):
            p50, p99 = _time(client, url, samples)
            figures.append(_depth_figure(depth, p50, p99, first_p50, deepest=depth == deepest))
        for name, query in _filters(run.size, _first_module(client)):
            p50, p99 = _time(client, f"{FIRST}&{query}", samples)
            figures.append(_figure(f"first page, {name}", p50, p99, first_p50))
    with run.client(run.admin_token) as admin:
        p50, p99 = _time(admin, FIRST, samples)
        figures.append(_figure("first page, department administrator", p50, p99, first_p50))
    checks = [
        Check(
            "page walk",
            walked == run.modules_rows,
            f"walking the next links met {walked:,} rows, the export {run.modules_rows:,}",
        ),
    ]
    return figures, checks


def _filters(size: str, module_uuid: str) -> list[tuple[str, str]]:
    _, department = dataset.department(dataset.SIZES[size])
    after, before = dataset.completion_window()
    return [
        ("group_name (mid-tree department)", urlencode({"group_name": department})),
        ("completed_at range", f"completed_at_after={after}&completed_at_before={before}"),
        ("state=completed", "state=completed"),
        ("module_uuid (one activity)", urlencode({"module_uuid": module_uuid})),
    ]


def _first_module(client: httpx.Client) -> str:
    """The uuid of the activity of the first row: one of the dataset's few hundred, whose
    results lie all through the tenant."""
    results = _get(client, FIRST)["results"]
    if not isinstance(results, list) or not results:
        raise Failed(f"{FIRST} answered no rows")
    return str(results[0]["module_uuid"])


def _depth_figure(
    depth: int, p50: float, p99: float, first: float, *, deepest: bool = False
) -> Figure:
    name = "first page" if depth == 0 else f"page at depth {depth:,}"
    figure = _figure(name, p50, p99, first)
    extra = {**figure.extra, "depth": depth}
    if deepest:
        met = figure.met is not False and p50 <= 1.5 * first
        return Figure(
            MEASURE,
            f"deepest page ({depth:,} rows)",
            p50,
            "ms p50",
            "first page p50",
            first,
            "p99 ≤ 20 ms, p50 ≤ 1.5x first",
            met,
            extra,
        )
    return Figure(
        figure.measure,
        name,
        p50,
        "ms p50",
        figure.reference,
        first,
        figure.target,
        figure.met,
        extra,
    )


def _figure(name: str, p50: float, p99: float, first: float) -> Figure:
    return Figure(
        MEASURE,
        name,
        p50,
        "ms p50",
        "first page p50",
        first,
        "p99 ≤ 20 ms",
        p99 <= 20,
        {"p50": p50, "p99": p99},
    )


def _time(client: httpx.Client, url: str, samples: int) -> tuple[float, float]:
    _get(client, url)
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        _get(client, url)
        timings.append((time.perf_counter() - started) * 1000)
    return percentiles(timings)


def _get(client: httpx.Client, url: str) -> dict[str, object]:
    answer = client.get(url)
    if answer.status_code != 200:
        raise Failed(f"{url} answered {answer.status_code}: {answer.text[:300]}")
    body: dict[str, object] = answer.json()
    return body


def _walk(client: httpx.Client) -> tuple[dict[int, str], int]:
    """Cursor URLs (page_size=100) of the pages starting at each mark and of the deepest
    page holding rows, by depth in rows; and the rows walked in all."""
    url: str | None = FIRST.replace("page_size=100", "page_size=1000")
    walked, cursors, deepest = 0, {}, None
    marks = {*MARKS, THROUGHPUT_DEPTH}
    while url is not None:
        body = _get(client, url)
        results = body["results"]
        assert isinstance(results, list)
        if results and walked:
            deepest = (walked, _with_page_size(url, 100))
            if walked in marks:
                cursors[walked] = deepest[1]
        walked += len(results)
        following = body.get("next")
        url = following if isinstance(following, str) and following else None
    if deepest is not None:
        cursors[deepest[0]] = deepest[1]
    return cursors, walked


def _with_page_size(url: str, size: int) -> str:
    parts = urlsplit(url)
    query = [(k, str(size) if k == "page_size" else v) for k, v in parse_qsl(parts.query, True)]
    return urlunsplit(("", "", parts.path, urlencode(query), ""))
