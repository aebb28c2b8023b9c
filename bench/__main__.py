"""`python -m bench build|run|soak`: build a benchmark dataset, measure learnreport against
its references on one, or drive mixed traffic at a server on a copy of one."""

import argparse
import sys
from pathlib import Path

from bench import databases
from bench.dataset import SIZES
from bench.servers import WORKERS


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("build", "build a dataset through the write path"),
        ("run", "measure against the references; write the figures"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--size", choices=list(SIZES), required=True)
        command.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
        command.add_argument(
            "--postgresql",
            default=databases.POSTGRESQL_SERVER,
            help="a PostgreSQL server, by the URL of any database on it",
        )
    run = commands.choices["run"]
    run.add_argument(
        "--quick", action="store_true", help="fewer samples, shorter runs; writes no BENCHMARKS.md"
    )
    run.add_argument(
        "--workers",
        type=int,
        default=WORKERS,
        help=f"server worker processes, each server (default: one per core, {WORKERS})",
    )
    run.add_argument("--out", type=Path, help="where to write the figures and the report")
    soak = commands.add_parser(
        "soak", help="mixed traffic for a bounded time; exit 1 on an error or growing memory"
    )
    soak.add_argument("--minutes", type=float, default=10.0, help="how long to drive traffic")
    soak.add_argument("--size", choices=list(SIZES), default="S")
    soak.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    soak.add_argument("--postgresql", default=databases.POSTGRESQL_SERVER)
    soak.add_argument("--clients", type=int, default=4, help="concurrent clients")
    soak.add_argument("--workers", type=int, default=1, help="server worker processes")
    options = parser.parse_args()
    if options.command == "soak":
        from bench.soak import soak as drive

        return drive(
            options.minutes,
            options.size,
            options.backend,
            options.postgresql,
            options.clients,
            options.workers,
        )
    if options.command == "build":
        from bench.build import build

        build(options.size, options.backend, options.postgresql)
        return 0
    from bench.runner import run as measure

    return measure(
        options.size,
        options.backend,
        quick=options.quick,
        workers=options.workers,
        server=options.postgresql,
        out=options.out,
    )


if __name__ == "__main__":
    sys.exit(main())
