"""A TCP proxy on loopback that delays what passes through it, for the tests of a slow
or lagging Redis: real connections, real bytes, only later.

``to_server`` delays what clients send (a command reaches Redis late, a reply comes
late); ``to_client`` delays what Redis sends (a subscriber hears events late). Each can
change at any time; a chunk keeps the delay it was read with, and chunks leave in the
order they came. When one side closes, what is still delayed is delivered first.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from .processes import free_port


class DelayProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.to_server = 0.0
        self.to_client = 0.0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    async def start(self) -> DelayProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        for pump in (
            self._pump(reader, up_writer, lambda: self.to_server),
            self._pump(up_reader, writer, lambda: self.to_client),
        ):
            task = asyncio.ensure_future(pump)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, delay: Callable[[], float]
    ) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                await asyncio.sleep(max(0.0, due - loop.time()))
                if not data:
                    break
                sink.write(data)
                await sink.drain()

        delivering = asyncio.ensure_future(deliver())
        try:
            while data := await source.read(65536):
                queue.put_nowait((loop.time() + delay(), data))
            queue.put_nowait((loop.time() + delay(), b""))
            await delivering
        except (ConnectionError, asyncio.CancelledError):
            delivering.cancel()
        finally:
            with contextlib.suppress(Exception):
                sink.close()
