"""Ack latency's load generator: raw HTTP/1.1 over asyncio streams, so that it is not the
bottleneck (no client library between the clock and the socket).

Every request is built and signed before the clock starts; connections are kept alive.

* Open loop: request i is due at ``start + i / rate`` whatever happened to the ones before, and
  its latency runs from when it was due (a slow answer cannot hide the requests it delays).
  Connections are taken from the idle ones, or opened, up to ``max_connections``.
* Closed loop: ``connections`` connections send back to back for ``seconds``; the answered
  requests a second are the capacity.

``serve_null`` is a server that answers every request at once with an empty 200: the generator
driven against it shows its own ceiling.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ack_load import Planned, Sample, signed_command

NULL_RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\ncontent-type: text/plain\r\n\r\n"


@dataclass(frozen=True)
class Prepared:
    planned: Planned
    token: str
    request: bytes  # the whole HTTP request, signed


def prepare(app_url: str, slack_root: str, label: str, planned: Sequence[Planned]) -> list[Prepared]:
    """Each planned command as Slack would send it, with its own response_url."""
    parts = urlsplit(app_url)
    prepared = []
    for item in planned:
        token, text, headers = signed_command(slack_root, label, item)
        body = text.encode()
        lines = [f"POST {parts.path} HTTP/1.1", f"host: {parts.netloc}", f"content-length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "content-length"]
        prepared.append(Prepared(item, token, ("\r\n".join(lines) + "\r\n\r\n").encode() + body))
    return prepared


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, app_url: str) -> Connection:
        parts = urlsplit(app_url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        self.writer.close()


async def open_loop(
    app_url: str, prepared: Sequence[Prepared], rate: float, *, max_connections: int = 256
) -> tuple[list[Sample], dict[str, float]]:
    """Send ``prepared`` at ``rate`` a second; the samples and how late the generator itself was."""
    idle: list[Connection] = []
    opened = 0
    free = asyncio.Condition()
    samples: list[Sample] = []
    lateness: list[float] = []
    tasks: set[asyncio.Task[None]] = set()

    async def connection() -> Connection:
        nonlocal opened
        async with free:
            while not idle and opened >= max_connections:
                await free.wait()
            if idle:
                return idle.pop()
            opened += 1
        return await Connection.open(app_url)

    async def one(item: Prepared, due: float) -> None:
        conn = await connection()
        try:
            status, body = await conn.exchange(item.request)
        except (asyncio.IncompleteReadError, ConnectionError):
            # the server closed a connection that sat idle past its keep-alive: send on a new one
            conn.close()
            conn = await Connection.open(app_url)
            status, body = await conn.exchange(item.request)
        samples.append(Sample(item.planned, item.token, due, time.monotonic(), status, body))
        async with free:
            idle.append(conn)
            free.notify()

    start = time.monotonic() + 0.05
    for i, item in enumerate(prepared):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        lateness.append(max(0.0, time.monotonic() - due))
        task = asyncio.create_task(one(item, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    for conn in idle:
        conn.close()
    late = sorted(lateness)
    return samples, {"connections": opened, "late_p99": late[int(0.99 * (len(late) - 1))] if late else 0.0}


async def closed_loop(
    app_url: str, prepared: Iterator[Prepared], connections: int, seconds: float
) -> tuple[list[Sample], float]:
    """``connections`` connections sending back to back for ``seconds``; the samples and the
    seconds the load lasted (the last answers come in after ``seconds``)."""
    samples: list[Sample] = []
    began = time.monotonic()
    stop_at = began + seconds

    async def worker() -> None:
        conn = await Connection.open(app_url)
        try:
            for item in prepared:  # one shared iterator: each request is sent once
                if time.monotonic() >= stop_at:
                    return
                started = time.monotonic()
                status, body = await conn.exchange(item.request)
                samples.append(Sample(item.planned, item.token, started, time.monotonic(), status, body))
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return samples, time.monotonic() - began


async def serve_null(port: int) -> None:
    """Answer every request at once with an empty 200 (the generator's own ceiling)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        await reader.readexactly(int(value))
                writer.write(NULL_RESPONSE)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()
