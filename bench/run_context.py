"""What every measurement of a run shares: the dataset, the servers, the credentials."""

from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.access import Access
from bench.servers import Server

TENANT = "acme"
"""The measured tenant; the dataset's second tenant is there to be left out."""


@dataclass
class Run:
    size: str
    backend: str
    quick: bool
    workers: int
    database_url: str
    scratch: Path
    """A temporary folder for exported files, logs and scratch databases."""
    access: Access
    server: Server
    owner_token: str
    admin_token: str
    datasette: Server | None
    """Datasette on the SQLite file of the same size; None when there is none (a
    PostgreSQL run without the SQLite build)."""
    datasette_file: Path | None
    cursors: dict[int, str] = field(default_factory=dict)
    """Cursor URLs by depth in rows, found by the page walk, for the throughput runs."""
    modules_rows: int = 0
    """Rows of the tenant's modules report, counted by the export."""

    def client(self, token: str | None = None) -> httpx.Client:
        """A keep-alive client on the server, with the owner's token unless told another."""
        headers = {
            "Authorization": f"Bearer {token or self.owner_token}",
            "Accept": "application/json",
        }
        return httpx.Client(base_url=self.server.url, headers=headers, timeout=600)

    @property
    def tenant_id(self) -> int:
        return self.access.tenant_id
