"""Socket Mode: one WebSocket to Slack, held by a loop that backs off, stops when told, and reports.

slack_sdk's Socket Mode client retries a failed connection every few seconds forever, logs a
traceback each time, and cannot be stopped until it has connected. Here one loop owns every
connection, and these rules hold:

* **The token.** ``apps.connections.open`` with the app-level token gives a one-use ``wss://``
  URL. Slack refusing the token (``invalid_auth``, ``not_allowed_token_type``, …) raises
  ``ConfigError`` naming SLACK_APP_TOKEN: retrying cannot help, so start-up stops.
* **Failures back off.** Anything else (Slack unreachable, the handshake refused, the link
  dropped) logs one line, never a traceback, and tries again after an exponential backoff with
  jitter, capped at ``Backoff.cap``. A link that was greeted (Slack's ``hello``) resets it.
* **Slack's ``disconnect`` message** (``refresh_requested``, ``warning``) reconnects at once.
* **Stopping.** ``stop`` (SIGTERM, Ctrl-C) ends the loop wherever it is: opening, connecting,
  backing off or connected.
* **Readiness.** ``status`` says whether the link is up and, if not, why; ``/readyz`` answers 503
  with that reason, so an orchestrator does not route to a replica that hears nothing.
* **Envelopes** go through the same Bolt app as HTTP mode (``AsyncBoltRequest(mode=
  "socket_mode")``) and are acknowledged with their ``envelope_id`` and the payload Bolt built.
  The wss URL carries a ticket, so it is never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from circuitbot.settings import ConfigError
from circuitbot.slack.poster import slack_error_code

log = logging.getLogger(__name__)

T = TypeVar("T")

# Slack's answers to apps.connections.open that no retry can change.
TOKEN_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "not_allowed_token_type",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",  # the app token lacks connections:write
    }
)
CONNECT_TIMEOUT_SECONDS = 15.0
# Envelopes still being answered when the link stops get this long; their acks are quick (the
# work of a command runs after its ack, in BackgroundWork).
ANSWER_GRACE_SECONDS = 3.0


@dataclass(frozen=True)
class Backoff:
    """Exponential, capped, with jitter: the ``n``-th failure in a row waits about
    ``first · factor^(n-1)`` seconds, at most ``cap``, scaled by a random half to full."""

    first: float = 1.0
    factor: float = 2.0
    cap: float = 60.0

    def delay(self, failures: int, draw: Callable[[], float] = random.random) -> float:
        base = min(self.cap, self.first * self.factor ** max(0, failures - 1))
        return base * (0.5 + draw() / 2)


@dataclass(frozen=True)
class LinkStatus:
    connected: bool
    reason: str  # "connected", or why not


class _Stopped(Exception):
    """The stop event was set while the loop waited on something else."""


class SocketModeLink:
    """Holds the Socket Mode link for one Bolt app until ``stop`` is set."""

    def __init__(
        self,
        app: AsyncApp,
        app_token: str,
        *,
        api_url: str,
        backoff: Backoff | None = None,
        heartbeat_seconds: float = 10.0,
    ) -> None:
        self.app = app
        self._app_token = app_token
        self._api = AsyncWebClient(base_url=api_url)
        self.backoff = backoff or Backoff()
        self.heartbeat_seconds = heartbeat_seconds
        self.status = LinkStatus(False, "Socket Mode: not connected yet")
        self.failures = 0  # in a row, since the last link that was greeted
        self.links = 0  # links greeted so far
        self.last_failure = ""
        self._answering: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, hold, reconnect, until ``stop``; raises ConfigError if Slack refuses the token."""
        try:
            async with aiohttp.ClientSession() as session:
                while not stop.is_set():
                    refresh = await self._one_link(session, stop)
                    if not refresh:
                        delay = self.backoff.delay(max(1, self.failures))
                        log.warning(
                            "Socket Mode: %s (%d in a row); next try in %.1f s",
                            self.last_failure,
                            self.failures,
                            delay,
                        )
                        await _until(stop, asyncio.sleep(delay))
        except _Stopped:
            pass
        finally:
            self.status = LinkStatus(False, "Socket Mode: stopped")
            await self._finish_answers()

    async def _one_link(self, session: aiohttp.ClientSession, stop: asyncio.Event) -> bool:
        """Open, hold and lose one link; True when Slack asked for a new one at once."""
        try:
            url = await _until(stop, self._open_url())
            async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                socket = await _until(stop, session.ws_connect(url, heartbeat=self.heartbeat_seconds))
        except (aiohttp.ClientError, SlackApiError, OSError, TimeoutError) as exc:
            self._failed(f"cannot connect ({_describe(exc)})")
            return False
        async with socket:
            return await self._hold(socket, stop)

    async def _open_url(self) -> str:
        try:
            response = await self._api.apps_connections_open(app_token=self._app_token)
        except SlackApiError as exc:
            code = slack_error_code(exc)
            if code in TOKEN_ERRORS:
                raise ConfigError(f"SLACK_APP_TOKEN: Slack refused it ({code})") from None
            raise
        return str(response["url"])

    async def _hold(self, socket: aiohttp.ClientWebSocketResponse, stop: asyncio.Event) -> bool:
        """Answer envelopes until the link ends; True when Slack asked for a new link."""
        greeted = False
        while True:
            message = await _until(stop, socket.receive())
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                break
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = _json_object(message.data)
            kind = data.get("type")
            if kind == "hello":
                greeted = True
                self._greeted()
            elif kind == "disconnect":
                log.info("Socket Mode: Slack asked for a new link (%s)", str(data.get("reason", ""))[:40])
                self.status = LinkStatus(False, "Socket Mode: reconnecting at Slack's request")
                return True
            elif isinstance(data.get("envelope_id"), str):
                self._answer_later(socket, data)
        self._failed("the link closed" if greeted else "the link closed before Slack's hello")
        return False

    def _greeted(self) -> None:
        self.links += 1
        self.failures = 0
        self.status = LinkStatus(True, "connected")
        log.info("connected to Slack in Socket Mode")

    def _failed(self, what: str) -> None:
        self.failures += 1
        self.last_failure = what
        self.status = LinkStatus(False, f"Socket Mode: {what}")

    def _answer_later(self, socket: aiohttp.ClientWebSocketResponse, envelope: dict[str, Any]) -> None:
        task = asyncio.create_task(self._answer(socket, envelope))
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)

    async def _answer(self, socket: aiohttp.ClientWebSocketResponse, envelope: dict[str, Any]) -> None:
        payload = envelope.get("payload")
        if not isinstance(payload, dict):
            log.warning("Socket Mode: an envelope without a payload object was ignored")
            return
        headers: dict[str, str | Sequence[str]] = {
            "x-slack-retry-num": str(envelope.get("retry_attempt") or 0)
        }
        try:
            response = await self.app.async_dispatch(
                AsyncBoltRequest(mode="socket_mode", body=payload, headers=headers)
            )
            if response.status != 200:  # refused (a guard, or no listener): no ack, as in Bolt
                log.info("Socket Mode: envelope not acknowledged (status %d)", response.status)
                return
            await socket.send_str(json.dumps(_ack(envelope["envelope_id"], response)))
        except (ConnectionError, aiohttp.ClientError, RuntimeError) as exc:
            log.warning("Socket Mode: could not acknowledge an envelope (%s)", type(exc).__name__)

    async def _finish_answers(self) -> None:
        if self._answering:
            await asyncio.wait(set(self._answering), timeout=ANSWER_GRACE_SECONDS)
            for task in self._answering:
                task.cancel()


def _ack(envelope_id: str, response: BoltResponse) -> dict[str, Any]:
    ack: dict[str, Any] = {"envelope_id": envelope_id}
    if response.body:
        content_type = response.headers.get("content-type", [""])[0]
        ack["payload"] = (
            json.loads(response.body)
            if content_type.startswith("application/json")
            else {"text": response.body}
        )
    return ack


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _describe(exc: BaseException) -> str:
    """One line, without the URL (its ticket is a credential for that link)."""
    if isinstance(exc, SlackApiError):
        return f"Slack said {slack_error_code(exc)}"
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return f"WebSocket handshake refused with HTTP {exc.status}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"{type(exc).__name__}: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return type(exc).__name__


async def _until(stop: asyncio.Event, work: Awaitable[T]) -> T:
    """``work``'s result, or _Stopped as soon as ``stop`` is set (``work`` is then cancelled)."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:  # cancelled from outside (a timeout): take the work down with us
        task.cancel()
        raise
    finally:
        stopping.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise _Stopped
    return task.result()
