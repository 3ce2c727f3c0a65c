"""Slack's side of Socket Mode, on loopback: the WebSocket that ``apps.connections.open`` hands out.

``FakeSlack`` answers ``apps.connections.open`` with this server's URL (``socket_url``); the
server greets each connection with ``hello`` as Slack does, lets a test push envelopes
(``send``), records the bot's acknowledgements (``acks``), and can refuse connections, drop
them or ask the bot to reconnect (Slack's ``disconnect`` message)::

    socket = FakeSocketMode()
    async with socket.serve() as ws_url:
        fake_slack.socket_url = ws_url
        ...
        envelope_id = await socket.send("slash_commands", payload)
        ack = await socket.ack_for(envelope_id)

Served by aiohttp's web server (the bot's own Socket Mode client is aiohttp too), since the
ASGI servers here have no WebSocket library installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import WSMsgType, web


class FakeSocketMode:
    """Connections from the bot, counted; envelopes out, acknowledgements in."""

    def __init__(self) -> None:
        self.refuse = False  # answer the WebSocket handshake with 403
        self.connections = 0  # handshakes accepted so far
        self.acks: list[dict[str, Any]] = []
        self._sockets: list[web.WebSocketResponse] = []
        self._changed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def serve(self, host: str = "127.0.0.1") -> AsyncIterator[str]:
        """Serve on loopback; yields the ``ws://`` URL to hand out."""
        app = web.Application()
        app.router.add_get("/link", self._endpoint)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            yield f"ws://{host}:{port}/link"
        finally:
            await self.drop()
            await runner.cleanup()

    @property
    def open_connections(self) -> int:
        return sum(1 for socket in self._sockets if not socket.closed)

    async def wait_connected(self, count: int = 1, within: float = 10.0) -> None:
        """Until ``count`` handshakes have been accepted in all and one is open."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: self.connections >= count and self.open_connections > 0)

    async def send(self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0) -> str:
        """Push an envelope (``slash_commands``, ``interactive``, ``events_api``) to the open link."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "",
        }
        await self._latest().send_str(json.dumps(envelope))
        return envelope_id

    async def ack_for(self, envelope_id: str, within: float = 10.0) -> dict[str, Any]:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: any(a.get("envelope_id") == envelope_id for a in self.acks))
        return next(a for a in self.acks if a.get("envelope_id") == envelope_id)

    async def ask_to_reconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's ``disconnect`` message: the client should open a new link."""
        await self._latest().send_str(json.dumps({"type": "disconnect", "reason": reason}))

    async def drop(self) -> None:
        """Close every open connection from this side, as a network failure or a restart would."""
        for socket in list(self._sockets):
            await socket.close()

    def _latest(self) -> web.WebSocketResponse:
        open_ones = [socket for socket in self._sockets if not socket.closed]
        if not open_ones:
            raise RuntimeError("no Socket Mode connection is open")
        return open_ones[-1]

    async def _endpoint(self, request: web.Request) -> web.StreamResponse:
        if self.refuse or not request.query.get("ticket"):
            raise web.HTTPForbidden(text="refused")
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        async with self._changed:
            self._sockets.append(socket)
            self.connections += 1
            self._changed.notify_all()
        await socket.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    async with self._changed:
                        self.acks.append(json.loads(message.data))
                        self._changed.notify_all()
        finally:
            async with self._changed:
                self._sockets.remove(socket)
                self._changed.notify_all()
        return socket
