"""The fake Slack behind seeded random faults, served on loopback where a connection can really
drop: for soak tests of everything the bot says in Slack.

A share of Web API calls (``rate``) fails in one of the ways Slack and networks fail: 429 with
Retry-After, 500, an answer that comes only after the caller's timeout (the call took effect),
a connection closed with no answer (before the call, or after it took effect), and a 200 whose
JSON is cut off. The same seed gives the same faults for the same sequence of calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from circuitbot.sandbox.faults import DROP_EXTENSION
from circuitbot.sandbox.server import SimulatorServer
from circuitbot.testing.fake_slack import FakeSlack

KINDS = ("ratelimited", "server_error", "late", "dropped", "answer_lost", "malformed")


class FaultySlack:
    """``slack``'s Web API with ``rate`` of its calls failing; ``injected`` counts each kind."""

    provider = "slack"  # SimulatorServer names what it serves by this

    def __init__(
        self,
        slack: FakeSlack,
        *,
        rate: float,
        seed: int,
        spared: Iterable[str] = ("auth.test",),
        late_seconds: float = 12.0,  # past the outbox client's 10 s a try
        kinds: Iterable[str] = KINDS,
    ) -> None:
        self.slack = slack
        self.rate = rate
        self.spared = frozenset(spared)
        self.late_seconds = late_seconds
        self.kinds = tuple(kinds)
        self.injected: Counter[str] = Counter()
        self._random = random.Random(seed)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        method = path.removeprefix("/api/")
        if scope["type"] != "http" or not path.startswith("/api/") or method in self.spared:
            await self.slack.app(scope, receive, send)
            return
        if self._random.random() >= self.rate:
            await self.slack.app(scope, receive, send)
            return
        kind = self._random.choice(self.kinds)
        self.injected[kind] += 1
        drop = scope["extensions"][DROP_EXTENSION]
        if kind == "ratelimited":
            await _json(send, 429, b'{"ok": false, "error": "ratelimited"}', [(b"retry-after", b"1")])
        elif kind == "server_error":
            await _json(send, 500, b'{"ok": false, "error": "fatal_error"}')
        elif kind == "malformed":
            await _json(send, 200, b'{"ok": tru')
        elif kind == "late":  # done at once; the answer comes after the caller stopped waiting

            async def held(message: Message) -> None:
                if message["type"] == "http.response.start":
                    await asyncio.sleep(self.late_seconds)
                await send(message)

            await self.slack.app(scope, receive, held)
        elif kind == "dropped":
            drop()
        else:  # answer_lost: Slack did the work; the answer never arrives

            async def lost(message: Message) -> None:
                return None

            await self.slack.app(scope, receive, lost)
            drop()

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        """Serve on loopback; yields the Web API base URL (``SLACK_API_URL``)."""
        async with SimulatorServer(self) as server:  # type: ignore[arg-type]  # any ASGI app will do
            previous, self.slack.root_url = self.slack.root_url, server.url
            try:
                yield self.slack.api_url
            finally:
                self.slack.root_url = previous


async def _json(send: Send, status: int, body: bytes, headers: list[Any] | None = None) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": body})
