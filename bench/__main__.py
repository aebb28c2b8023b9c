"""`python -m bench build|run`: build a benchmark dataset, or measure learnreport against its
references on one."""

import argparse
import sys
from pathlib import Path

from bench import databases
from bench.dataset import SIZES


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
    run.add_argument("--workers", type=int, default=1, help="server worker processes")
    run.add_argument("--out", type=Path, help="where to write the figures and the report")
    options = parser.parse_args()
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
