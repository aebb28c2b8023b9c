"""Peak memory of the server while it streams a whole report, at two sizes of data.

An export streams: the server holds one batch of rows at a time, so its peak resident
memory must not grow with the number of rows exported. This script builds the demo at two
sizes (each in its own SQLite file), serves each with `learnreport serve`, pulls the
modules export as CSV and as NDJSON over HTTP, and reads the server's peak RSS (VmHWM,
Linux) after each pull. Run it from the repository root:

    python -m bench.export_memory [--results 50000 --results 400000]
"""

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, action="append", help="demo results per run")
    sizes = parser.parse_args().results or [50_000, 400_000]
    print("| results | format | rows exported | MB sent | seconds | server peak RSS (MB) |")
    print("|---:|---|---:|---:|---:|---:|")
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            for line in measure(Path(folder), size):
                print(line, flush=True)


def measure(folder: Path, results: int) -> list[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}"}
    users = max(results // 150, 300)
    cli = [sys.executable, "-m", "learnreport"]
    subprocess.run(
        [*cli, "demo", "--users", str(users), "--results", str(results)],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    created = subprocess.run(
        [*cli, "clients", "create", "--tenant", "acme", "--role", "owner", "--json"],
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    client = json.loads(created.stdout)
    port = _free_port()
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env)
    lines = []
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(base)
        basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode())
        token = httpx.post(
            f"{base}/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic.decode()}"},
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for fmt in ("csv", "ndjson"):
            started, sent, rows = time.perf_counter(), 0, 0
            url = f"{base}/api/v2/reports/modules/export/?format={fmt}"
            with httpx.stream("GET", url, headers=headers, timeout=600) as answer:
                answer.raise_for_status()
                for chunk in answer.iter_bytes():
                    sent += len(chunk)
                    rows += chunk.count(b"\n")
            seconds = time.perf_counter() - started
            rows -= fmt == "csv"
            peak = _peak_rss_mb(server.pid)
            figures = (f"{results:,}", fmt, f"{rows:,}", f"{sent / 1e6:,.1f}", f"{seconds:.1f}")
            lines.append(f"| {' | '.join(figures)} | {peak:.0f} |")
    finally:
        server.terminate()
        server.wait()
    return lines


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(base: str) -> None:
    for _ in range(100):
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not start")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM: peak RSS is read from /proc, on Linux")


if __name__ == "__main__":
    main()
