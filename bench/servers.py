"""The servers a run measures, each a subprocess on a free loopback port: learnreport as
`learnreport serve` runs it, and Datasette under the same uvicorn with the same number of
worker processes, so that neither gets a server the other lacks."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

WORKERS = os.cpu_count() or 1
"""Worker processes per server unless told otherwise: one per core, as a server is deployed.
With one worker on two cores, the first page of modules answered about 330 requests/s and
Datasette about 170; with two, about 1,000 and 600: one process's threads hand one
interpreter lock around, and spend the second core doing it."""

DATASETTE_FILE = "LEARNREPORT_BENCH_DATASETTE_FILE"
"""How the Datasette app factory learns which SQLite file to serve."""


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[bytes]
    url: str

    def peak_rss_mb(self) -> float:
        """The peak resident memory (VmHWM) of the server's processes, summed: one process
        with one worker, the supervisor and its workers with several."""
        pids = [self.process.pid, *_descendants(self.process.pid)]
        return sum(_status_kb(pid, "VmHWM") for pid in pids) / 1024

    def rss_mb(self) -> float:
        """The resident memory (VmRSS) of the server's processes now, summed."""
        pids = [self.process.pid, *_descendants(self.process.pid)]
        return sum(_status_kb(pid, "VmRSS") for pid in pids) / 1024

    def wait_idle(self, timeout: float = 120.0) -> bool:
        """Wait until the server's processes stop working (under 5% of a core over half a
        second), and say whether they did within `timeout`. A server keeps answering the
        requests a load generator left behind, and its work must not overlap the next
        measurement: Datasette, given 32 connections on a page it takes seconds to answer,
        still used a core through the next learnreport figures."""
        deadline = time.monotonic() + timeout
        used = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.cpu_seconds()
            if now - used < 0.025:
                return True
            used = now
        return False

    def cpu_seconds(self) -> float:
        """CPU seconds the server's processes have used so far, user and system."""
        pids = [self.process.pid, *_descendants(self.process.pid)]
        return sum(_cpu_ticks(pid) for pid in pids) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def learnreport(database_url: str, workers: int, log: Path) -> Iterator[Server]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "learnreport",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    env = {**os.environ, "DATABASE_URL": database_url}
    with _running(command, env, log, f"http://127.0.0.1:{port}", "/health") as server:
        yield server


@contextmanager
def datasette(file: Path, workers: int, log: Path) -> Iterator[Server]:
    """Datasette's own ASGI app, configured as `datasette serve FILE --setting max_csv_mb 0
    --setting sql_time_limit_ms 100000` configures it, under uvicorn as that command runs
    it (log level info, lifespan on), with `workers` processes."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.datasette_app:create",
        "--factory",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "info",
        "--lifespan",
        "on",
    ]
    env = {**os.environ, DATASETTE_FILE: str(file)}
    with _running(command, env, log, f"http://127.0.0.1:{port}", "/-/versions.json") as server:
        yield server


@contextmanager
def _running(
    command: list[str], env: dict[str, str], log: Path, url: str, ready: str
) -> Iterator[Server]:
    root = Path(__file__).parent.parent
    with log.open("ab") as output:
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=output, cwd=root, start_new_session=True
        )
    try:
        _wait(process, url + ready, log)
        yield Server(process, url)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT, then after 30 s SIGKILL, to the server's whole process group: killing only
    the supervisor left a Datasette worker running the queries of a deep page that wrk had
    given up on, using most of a core through every later measurement."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _wait(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer {url} within 60 s")


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        for child in map(int, children):
            found += [child, *_descendants(child)]
    return found


def _cpu_ticks(pid: int) -> int:
    """User and system time of a process, from /proc (fields 14 and 15 of its stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _status_kb(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {name}: memory is read from /proc, on Linux")
