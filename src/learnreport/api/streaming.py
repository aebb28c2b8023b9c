"""A streamed answer whose rows are given back the moment it ends, however it ends.

Starlette iterates a plain iterator in worker threads and, when the client goes away,
cancels the iteration and leaves the iterator to the garbage collector. An export's
iterator holds a database connection in a transaction (a PostgreSQL `COPY`, an SQLite
reader's snapshot), and the cancellation's exceptions hold the iterator in reference
cycles, which only a full collection frees: a client that left halfway kept a PostgreSQL
session idle in its transaction for as long as the server ran. Closing the iterator when
the answer ends, in a worker thread as its rows were read, runs its `finally` blocks at once.
"""

from asyncio import CancelledError
from collections.abc import Generator, Mapping
from contextlib import suppress

from anyio import to_thread
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


class ClosingStreamingResponse(StreamingResponse):
    def __init__(
        self,
        content: Generator[bytes, None, None],
        *,
        media_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(content, media_type=media_type, headers=headers)
        self._content = content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An answer cancelled from outside, as uvicorn cancels those still going when a
        stopping server's graceful timeout is over, ends here, and uvicorn closes its
        connection, rather than as an error logged with two tracebacks. The rows are closed
        either way: a worker thread's wait is shielded from cancellation."""
        with suppress(CancelledError):
            try:
                await super().__call__(scope, receive, send)
            finally:
                await to_thread.run_sync(self._content.close)
