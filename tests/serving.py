"""A real `learnreport serve` process, for the tests that an in-process client cannot make:
a socket closed halfway through an answer, a signal to the server, its resident memory.

Also a quick database of the demo's tenants (through the write path) large enough that an
export does not fit in the sockets' buffers, and an owner's token for it.
"""

import os
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa

from learnreport.api import tokens
from learnreport.config import Settings
from learnreport.ingest import demo
from learnreport.store import credentials, tenants

ROOT = Path(__file__).parent.parent


@dataclass(frozen=True)
class Served:
    process: subprocess.Popen[bytes]
    port: int
    stderr: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        """The server's resident memory now (VmRSS), from /proc."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS: memory is read from /proc, on Linux")

    def errors(self) -> str:
        return self.stderr.read_text(errors="replace")


@contextmanager
def serving(engine: sa.Engine, folder: Path, *options: str) -> Iterator[Served]:
    """`learnreport serve` on a free loopback port over `engine`'s database, ready to answer;
    sent SIGTERM afterwards if it still runs, and killed if that does not end it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    command = [sys.executable, "-m", "learnreport", "serve", "--port", str(port), *options]
    env = {**os.environ, "DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    stderr = folder / f"serve-{port}.log"
    with stderr.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=ROOT)
    served = Served(process, port, stderr)
    try:
        _ready(served)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _ready(served: Served) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise RuntimeError(f"the server exited: {served.errors()[-2000:]}")
        try:
            if httpx.get(served.url + "/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not answer /health within 60 s")


def demo_owner(engine: sa.Engine, results: int) -> str:
    """The demo's tenants with `results` results in acme, and a token of an acme owner."""
    demo.run(engine, users=max(results // 100, 100), results=results)
    with engine.begin() as connection:
        acme = tenants.get(connection, "acme")
        created = credentials.create(connection, acme, "client", "owner")
    with engine.connect() as connection:
        principal = credentials.load_principal(connection, created.credential.public_id)
    assert principal is not None
    return tokens.issue(engine, Settings(), principal).token


def start_reading(port: int, path: str, token: str, amount: int) -> socket.socket:
    """A socket that asked for `path` and read `amount` bytes of the answer, then stopped,
    with a receive buffer so small that the server soon has to wait for it."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
    sock.sendall(request.encode())
    received = b""
    while len(received) < amount:
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    assert received.startswith(b"HTTP/1.1 200"), received[:300]
    return sock


def abandon(sock: socket.socket) -> None:
    """Close as a client that went away does: at once, with a reset, unread bytes left."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def eventually(check: Callable[[], bool], seconds: float) -> bool:
    """Whether `check` holds within `seconds`, asked every 0.1 s."""
    deadline = time.monotonic() + seconds
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
