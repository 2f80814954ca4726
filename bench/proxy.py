"""A counting TCP proxy: what one node received from another, byte for byte, and its requests.

The receiving node is told the source is at the proxy's address; the proxy forwards both
ways and counts every byte the source sent (HTTP heads included), and parses the request
heads going the other way (method, path, time) — so "bytes on the wire" and "requests per
round" are measured outside both nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    at: float
    method: str
    path: str


@dataclass
class Counts:
    down: int = 0  # bytes from the source to the receiver
    up: int = 0  # bytes from the receiver to the source
    requests: list[Request] = field(default_factory=list)
    first: float | None = None
    last: float | None = None


class CountingProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.counts = Counts()
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self._handlers: dict[asyncio.Task[Any], tuple[asyncio.StreamWriter, ...]] = {}

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            # Closing both ends lets every handler finish on its own (no cancelled tasks
            # left for asyncio's stream callbacks to complain about).
            for writers in list(self._handlers.values()):
                for w in writers:
                    w.close()
            if self._handlers:
                await asyncio.wait(list(self._handlers), timeout=10)
            with contextlib.suppress(Exception):
                await self.server.wait_closed()

    def reset(self) -> Counts:
        old, self.counts = self.counts, Counts()
        return old

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return

        async def downstream() -> None:
            while data := await up_reader.read(1 << 16):
                c = self.counts
                c.down += len(data)
                c.last = time.perf_counter()
                writer.write(data)
                await writer.drain()
            writer.close()

        async def upstream() -> None:
            buf = b""
            skip = 0
            while data := await reader.read(1 << 16):
                c = self.counts
                c.up += len(data)
                now = time.perf_counter()
                if c.first is None:
                    c.first = now
                up_writer.write(data)
                buf += data
                while True:
                    if skip:
                        n = min(skip, len(buf))
                        buf, skip = buf[n:], skip - n
                        if skip:
                            break
                    end = buf.find(b"\r\n\r\n")
                    if end < 0:
                        break
                    head, buf = buf[:end].decode("latin-1"), buf[end + 4 :]
                    line, *headers = head.split("\r\n")
                    method, path, *_ = [*line.split(" "), "", ""][:3]
                    c.requests.append(Request(now, method, path))
                    for h in headers:
                        name, _, value = h.partition(":")
                        if name.strip().lower() == "content-length":
                            skip = int(value.strip() or 0)
                await up_writer.drain()
            up_writer.close()

        task = asyncio.current_task()
        assert task is not None
        self._handlers[task] = (writer, up_writer)
        try:
            with contextlib.suppress(OSError, ConnectionError):
                await asyncio.gather(downstream(), upstream())
        finally:
            self._handlers.pop(task, None)
            for w in (writer, up_writer):
                w.close()
                with contextlib.suppress(Exception):
                    await w.wait_closed()
