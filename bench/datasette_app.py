"""The Datasette app the benchmarks run under uvicorn: `uvicorn bench.datasette_app:create
--factory`, serving the file named by LEARNREPORT_BENCH_DATASETTE_FILE.

Its settings lift the limits that would cut the reference short rather than slow it: no
cap on a CSV's size and a query time limit long enough for any page.
"""

import os

from datasette.app import Datasette

from bench.servers import DATASETTE_FILE

SETTINGS = {"max_csv_mb": 0, "sql_time_limit_ms": 100_000}


def create() -> object:
    return Datasette([os.environ[DATASETTE_FILE]], settings=SETTINGS).app()
