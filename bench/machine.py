"""The machine a run measured on, read at run time, for the head of BENCHMARKS.md."""

import os
import platform
import re
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa

from bench import databases


def describe(postgresql_url: str | None) -> dict[str, str]:
    return {
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "memory": f"{_memory_gb():.0f} GB",
        "python": platform.python_version(),
        "sqlite": f"{sqlite3.sqlite_version} (Python's), {_shell_version(['sqlite3', '--version'])}"
        " (sqlite3 shell)",
        "postgresql": _postgresql(postgresql_url) if postgresql_url else "not used",
        "os": f"{platform.system()} {platform.release()}",
    }


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _memory_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _shell_version(command: list[str]) -> str:
    try:
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "absent"
    version = re.search(r"\d+\.\d+(\.\d+)?", output)
    return version.group(0) if version else "unknown"


def _postgresql(url: str) -> str:
    engine = databases.engine(url)
    with engine.connect() as connection:
        version = connection.execute(sa.text("SHOW server_version")).scalar_one()
    engine.dispose()
    return f"{str(version).split()[0]} (server), psql {_shell_version(['psql', '--version'])}"
