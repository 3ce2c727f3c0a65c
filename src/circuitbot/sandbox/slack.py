"""A fake Slack: the Web API methods circuitbot calls, response_url endpoints, signed request bodies.

``FakeSlack`` is an ASGI app (Starlette) modelling the part of Slack the bot talks to: messages
per channel with threads, edits and deletes, ephemeral messages, modals, users, user groups and
channels, plus the ``response_url`` endpoints that interactive payloads carry. Serve it on
loopback so slack_sdk's aiohttp-based ``AsyncWebClient`` runs unchanged against it::

    slack = FakeSlack(usergroups={"S0APPROVERS": ["U0ALICE"]})
    async with slack.serve() as api_url:            # "http://127.0.0.1:PORT/api/"
        client = AsyncWebClient(token="xoxb-test", base_url=api_url)
        await client.chat_postMessage(channel="C0OPS", text="hi")
        await slack.wait_for("chat.postMessage")

Every request is recorded (``calls``), failed ones included and marked as such, so tests can
assert exactly-once delivery. ``fail_next`` injects rate limiting, server errors and Slack error
codes. The module-level builders produce the bodies Slack sends to the bot (slash commands,
block actions, view submissions) shaped on the captured payloads in
``tests/contracts/data/slack/payloads/``, and ``signed_request_headers`` signs them with slack_sdk.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import secrets
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import uvicorn
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from circuitbot.clock import Clock, SystemClock

RESPONSE_URL_METHOD = "response_url"
"""The ``method`` under which POSTs to a response_url are recorded and faults are keyed."""

ANY_METHOD = "*"
"""``fail_next(ANY_METHOD, ...)`` fails the next call whatever its method."""

# The sandbox workspace: what auth.test answers and what the payload builders put in by default.
TEAM_ID = "T0SANDBOX"
TEAM_DOMAIN = "circuitbot-sandbox"
BOT_USER_ID = "U0CIRCUITBOT"
BOT_ID = "B0CIRCUITBOT"
APP_ID = "A0CIRCUITBOT"

_VALID_TOKEN_PREFIXES = ("xoxb-", "xoxp-")
# Arguments Slack accepts either as JSON values or as JSON strings inside a form body.
_JSON_ARGUMENTS = ("blocks", "attachments", "view", "metadata")
# Each generated ts is 100 µs after the previous one: unique, increasing, and Slack-shaped.
_TS_EPOCH = 1_700_000_000
_TS_STEP_MICROS = 100
_DEFAULT_PAGE = 100  # conversations.history / replies page size when no limit is given
_MAX_PAGE = 999


@dataclass(frozen=True)
class RecordedCall:
    """One request that reached the fake, answered successfully or not."""

    method: str
    args: dict[str, Any]
    at: float
    ok: bool = True
    status: int = 200
    error: str | None = None
    response_token: str | None = None  # only for RESPONSE_URL_METHOD calls


@dataclass
class _Fault:
    status: int
    retry_after: int
    error: str | None
    remaining: int
    applied: bool = False  # the call takes effect; only its answer fails


@dataclass(frozen=True)
class _ResponseTarget:
    """What a response_url was issued for, so a POST to it can act on that message."""

    channel: str | None
    message_ts: str | None
    user: str | None


class SlackError(Exception):
    """A Slack API error answer: HTTP 200 with ``{"ok": false, "error": code}``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class _Workspace:
    team_id: str = TEAM_ID
    team_domain: str = TEAM_DOMAIN
    bot_user_id: str = BOT_USER_ID
    bot_id: str = BOT_ID
    app_id: str = APP_ID


class FakeSlack:
    """An in-memory Slack workspace behind the Web API.

    Channels are permissive: any id is a channel the bot may post to, except those listed in
    ``unknown_channels`` (``channel_not_found``) or ``archived_channels`` (``is_archived``). Both
    are plain sets a test may change at any time.

    Message ts values count up from a fixed epoch, unless a ``clock`` is given: then each is the
    clock's time (at least one step after the previous), so ``oldest``/``latest`` windows in
    ``conversations.history`` and ``conversations.replies`` line up with the test's clock.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        usergroups: Mapping[str, Iterable[str]] | None = None,
        users: Mapping[str, Mapping[str, Any]] | None = None,
        channels: Mapping[str, Mapping[str, Any]] | None = None,
        archived_channels: Iterable[str] = (),
        unknown_channels: Iterable[str] = (),
        team_id: str = TEAM_ID,
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = BOT_ID,
        app_id: str = APP_ID,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self._ts_from_clock = clock is not None
        self._last_ts_micros = 0
        self.workspace = _Workspace(team_id=team_id, bot_user_id=bot_user_id, bot_id=bot_id, app_id=app_id)
        self.usergroups: dict[str, list[str]] = {k: list(v) for k, v in (usergroups or {}).items()}
        self.users: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (users or {}).items()}
        self.channels: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (channels or {}).items()}
        self.archived_channels: set[str] = set(archived_channels)
        self.unknown_channels: set[str] = set(unknown_channels)
        self.unknown_users: set[str] = set()
        self.joined_channels: set[str] = set()
        self.views: dict[str, dict[str, Any]] = {}
        self.calls: list[RecordedCall] = []
        self.root_url = "http://fake-slack.test"

        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._ephemerals: list[dict[str, Any]] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._response_targets: dict[str, _ResponseTarget] = {}
        self._used_trigger_ids: set[str] = set()
        self._ts_counter = itertools.count(1)
        self._view_counter = itertools.count(1)
        self._hash_counter = itertools.count(1)
        self._waiters: set[asyncio.Event] = set()
        self._handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "conversations.info": self._conversations_info,
            "conversations.join": self._conversations_join,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
        }
        self._app = Starlette(
            routes=[
                Route("/api/{method}", self._api_endpoint, methods=["GET", "POST"]),
                Route("/response/{token}", self._response_endpoint, methods=["POST"]),
            ]
        )

    # ------------------------------------------------------------------ serving

    @property
    def app(self) -> Starlette:
        """The ASGI app, for in-process use (``httpx.ASGITransport``)."""
        return self._app

    @property
    def api_url(self) -> str:
        """Base URL for ``AsyncWebClient(base_url=...)``; ends with a slash as slack_sdk needs."""
        return f"{self.root_url}/api/"

    @contextlib.asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve on loopback in the running event loop; yields the Web API base URL."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # asyncio then sets TCP_NODELAY
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # bound here, not by uvicorn, so port 0 yields a port we can read back
        sock.bind((host, port))
        bound_port = sock.getsockname()[1]
        # log_config=None: leave the host process's logging configuration alone
        config = uvicorn.Config(self._app, lifespan="off", log_config=None, access_log=False)
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        previous_root = self.root_url
        try:
            await server.startup(sockets=[sock])
            netloc = f"[{host}]:{bound_port}" if family == socket.AF_INET6 else f"{host}:{bound_port}"
            self.root_url = f"http://{netloc}"
            yield self.api_url
        finally:
            self.root_url = previous_root
            await _stop_server(server)
            sock.close()

    def response_url(
        self,
        *,
        channel: str | None = None,
        message_ts: str | None = None,
        user: str | None = None,
        token: str | None = None,
    ) -> str:
        """A response_url pointing at this fake, to put in a payload given to the bot.

        With ``channel``/``message_ts`` a POST to it acts like Slack's: ``replace_original``
        edits that message, ``delete_original`` deletes it, ``response_type: in_channel``
        posts to the channel; anything else becomes an ephemeral message for ``user``.
        """
        token = token or secrets.token_hex(8)
        self._response_targets[token] = _ResponseTarget(channel=channel, message_ts=message_ts, user=user)
        return f"{self.root_url}/response/{token}"

    # ------------------------------------------------------------------ state seen by tests

    def calls_to(self, method: str, *, ok: bool | None = None) -> list[RecordedCall]:
        """Calls to ``method`` in arrival order; ``ok=True`` keeps only those that succeeded."""
        return [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]

    def last(self, method: str) -> RecordedCall:
        calls = self.calls_to(method)
        if not calls:
            raise LookupError(f"no call to {method}; calls so far: {[c.method for c in self.calls]}")
        return calls[-1]

    def responses(self, token: str | None = None) -> list[RecordedCall]:
        """POSTs made to response URLs (all, or those of one token), in arrival order."""
        return [c for c in self.calls_to(RESPONSE_URL_METHOD) if token is None or c.response_token == token]

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages currently in Slack (after edits and deletes), thread replies included, by ts.

        Each is Slack's message object plus a ``channel`` key.
        """
        found = [m for (ch, _), m in self._messages.items() if channel is None or ch == channel]
        return [copy.deepcopy(m) for m in sorted(found, key=lambda m: (m["channel"], m["ts"]))]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        found = self._messages.get((channel, ts))
        return copy.deepcopy(found) if found is not None else None

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The replies in the thread under ``ts`` (the parent itself excluded), oldest first."""
        return [m for m in self.messages(channel) if m.get("thread_ts") == ts and m["ts"] != ts]

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[dict[str, Any]]:
        return [
            copy.deepcopy(e)
            for e in self._ephemerals
            if (channel is None or e["channel"] == channel) and (user is None or e.get("user") == user)
        ]

    def clear(self) -> None:
        """Forget recorded calls (state such as messages and views is kept)."""
        self.calls.clear()

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - a bounded wait is the point of this test helper
        *,
        ok: bool | None = None,
    ) -> list[RecordedCall]:
        """Wait until ``count`` calls to ``method`` are recorded; returns them.

        Raises TimeoutError when they do not arrive within ``timeout`` seconds.
        """
        event = asyncio.Event()
        self._waiters.add(event)
        try:
            async with asyncio.timeout(timeout):
                while len(found := self.calls_to(method, ok=ok)) < count:
                    event.clear()
                    await event.wait()
                return found
        except TimeoutError:
            seen = [(c.method, c.ok) for c in self.calls]
            raise TimeoutError(f"waited for {count} x {method}; calls recorded: {seen}") from None
        finally:
            self._waiters.discard(event)

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int = 1,
        error: str | None = None,
        count: int = 1,
        applied: bool = False,
    ) -> None:
        """Make the next ``count`` calls to ``method`` fail.

        ``error`` given: HTTP 200 ``{"ok": false, "error": error}`` (e.g. "channel_not_found").
        Otherwise HTTP ``status``: 429 carries ``Retry-After: retry_after`` and the error
        "ratelimited"; other statuses answer "fatal_error". Faults queue in the order given.
        ``applied``: the call takes effect (a message is posted) and only the answer is the
        failure, as when Slack did the work and the response was lost on the way back.
        """
        self._faults.setdefault(method, deque()).append(
            _Fault(status=status, retry_after=retry_after, error=error, remaining=count, applied=applied)
        )

    def _take_fault(self, method: str) -> _Fault | None:
        for key in (method, ANY_METHOD):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                return fault
        return None

    # ------------------------------------------------------------------ HTTP plumbing

    async def _api_endpoint(self, request: Request) -> Response:
        method = request.path_params["method"]
        args = await _request_arguments(request)
        # slack_sdk sends the token as a Bearer header; older clients put it in the arguments
        body_token = args.pop("token", None)
        token = _bearer_token(request) or body_token

        fault = self._take_fault(method)
        if fault is not None and not fault.applied:
            return self._fault_response(method, args, fault)
        if not token:
            return self._error_response(method, args, "not_authed")
        if not token.startswith(_VALID_TOKEN_PREFIXES):
            return self._error_response(method, args, "invalid_auth")
        handler = self._handlers.get(method)
        if handler is None:
            return self._error_response(method, args, "unknown_method")
        try:
            result = handler(args)
        except SlackError as exc:
            return self._error_response(method, args, exc.code)
        if fault is not None:  # done, but the caller hears otherwise
            return self._fault_response(method, args, fault)
        self._record(RecordedCall(method=method, args=args, at=self.clock.monotonic()))
        return JSONResponse({"ok": True, **result})

    async def _response_endpoint(self, request: Request) -> Response:
        token = request.path_params["token"]
        body = await _request_arguments(request)
        fault = self._take_fault(RESPONSE_URL_METHOD)
        if fault is not None:
            return self._fault_response(RESPONSE_URL_METHOD, body, fault, response_token=token)
        try:
            self._apply_response(self._response_targets.get(token), body)
        except SlackError as exc:
            self._record(
                RecordedCall(
                    method=RESPONSE_URL_METHOD,
                    args=body,
                    at=self.clock.monotonic(),
                    ok=False,
                    status=400,
                    error=exc.code,
                    response_token=token,
                )
            )
            return PlainTextResponse(exc.code, status_code=400)
        self._record(
            RecordedCall(
                method=RESPONSE_URL_METHOD, args=body, at=self.clock.monotonic(), response_token=token
            )
        )
        return PlainTextResponse("ok")

    def _fault_response(
        self, method: str, args: dict[str, Any], fault: _Fault, response_token: str | None = None
    ) -> Response:
        if fault.error is not None:
            status, error, headers = 200, fault.error, {}
        elif fault.status == 429:
            status, error, headers = 429, "ratelimited", {"Retry-After": str(fault.retry_after)}
        else:
            status, error, headers = fault.status, "fatal_error", {}
        self._record(
            RecordedCall(
                method=method,
                args=args,
                at=self.clock.monotonic(),
                ok=False,
                status=status,
                error=error,
                response_token=response_token,
            )
        )
        return JSONResponse({"ok": False, "error": error}, status_code=status, headers=headers)

    def _error_response(self, method: str, args: dict[str, Any], error: str) -> Response:
        self._record(RecordedCall(method=method, args=args, at=self.clock.monotonic(), ok=False, error=error))
        return JSONResponse({"ok": False, "error": error})

    def _record(self, call: RecordedCall) -> None:
        self.calls.append(call)
        for waiter in self._waiters:
            waiter.set()

    # ------------------------------------------------------------------ helpers for the model

    def _next_ts(self) -> str:
        if self._ts_from_clock:
            now = round(self.clock.now().timestamp() * 1_000_000)
            micros = max(now, self._last_ts_micros + _TS_STEP_MICROS)
        else:
            micros = _TS_EPOCH * 1_000_000 + next(self._ts_counter) * _TS_STEP_MICROS
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _writable_channel(self, args: dict[str, Any]) -> str:
        channel = args.get("channel")
        if not channel:
            raise SlackError("channel_not_found")
        self._check_channel(channel)
        return channel

    def _check_channel(self, channel: str) -> None:
        if channel in self.unknown_channels:
            raise SlackError("channel_not_found")
        if channel in self.archived_channels:
            raise SlackError("is_archived")

    def _stored_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable_channel(args)
        message = self._messages.get((channel, str(args.get("ts", ""))))
        if message is None:
            raise SlackError("message_not_found")
        return message

    def _new_message(self, channel: str, content: Mapping[str, Any]) -> dict[str, Any]:
        if not any(content.get(k) for k in ("text", "blocks", "attachments")):
            raise SlackError("no_text")
        ws = self.workspace
        message: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "text": content.get("text") or "",
            "user": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "app_id": ws.app_id,
            "team": ws.team_id,
            "ts": self._next_ts(),
        }
        for key in ("blocks", "attachments", "metadata"):
            if content.get(key) is not None:
                message[key] = content[key]
        thread_ts = content.get("thread_ts")
        if thread_ts:
            message["thread_ts"] = str(thread_ts)
            message["parent_user_id"] = ws.bot_user_id
            parent = self._messages.get((channel, str(thread_ts)))
            if parent is not None:
                parent["thread_ts"] = parent["ts"]
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = message["ts"]
        self._messages[(channel, message["ts"])] = {**message, "channel": channel}
        return message

    def _view_object(self, view: Any, *, view_id: str, previous: dict[str, Any] | None) -> dict[str, Any]:
        if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
            raise SlackError("invalid_arguments")
        ws = self.workspace
        return {
            "id": view_id,
            "team_id": ws.team_id,
            "type": view["type"],
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{_TS_EPOCH}.{next(self._hash_counter):08d}",
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": previous.get("previous_view_id") if previous else None,
            "root_view_id": previous["root_view_id"] if previous else view_id,
            "app_id": ws.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": ws.team_id,
            "bot_id": ws.bot_id,
        }

    def _new_view(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger_id = args.get("trigger_id")
        if not trigger_id:
            raise SlackError("invalid_arguments")
        if trigger_id in self._used_trigger_ids:
            raise SlackError("exchanged_trigger_id")
        view_id = f"V{next(self._view_counter):010d}"
        view = self._view_object(args.get("view"), view_id=view_id, previous=None)
        self._used_trigger_ids.add(trigger_id)
        self.views[view_id] = view
        return view

    def _apply_response(self, target: _ResponseTarget | None, body: dict[str, Any]) -> None:
        if target is None or target.channel is None:
            return
        original = (target.channel, target.message_ts or "")
        if body.get("delete_original") in (True, "true") and original in self._messages:
            del self._messages[original]
        elif body.get("replace_original") in (True, "true") and original in self._messages:
            message = self._messages[original]
            for key in ("text", "blocks", "attachments"):
                if key in body:
                    message[key] = body[key]
        elif body.get("response_type") == "in_channel":
            self._new_message(target.channel, body)
        else:
            self._ephemerals.append(
                {
                    "channel": target.channel,
                    "user": target.user,
                    "ts": self._next_ts(),
                    "text": body.get("text", ""),
                    **({"blocks": body["blocks"]} if "blocks" in body else {}),
                }
            )

    # ------------------------------------------------------------------ Web API methods

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        ws = self.workspace
        return {
            "url": f"https://{ws.team_domain}.slack.com/",
            "team": "circuitbot sandbox",
            "user": "circuitbot",
            "team_id": ws.team_id,
            "user_id": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable_channel(args)
        message = self._new_message(channel, args)
        return {"channel": channel, "ts": message["ts"], "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._stored_message(args)
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in args:
                message[key] = args[key]
        message["edited"] = {"user": self.workspace.bot_user_id, "ts": self._next_ts()}
        public = {k: v for k, v in message.items() if k != "channel"}
        return {
            "channel": message["channel"],
            "ts": message["ts"],
            "text": message["text"],
            "message": public,
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable_channel(args)
        user = args.get("user")
        if not user:
            raise SlackError("user_not_in_channel")
        if not any(args.get(k) for k in ("text", "blocks", "attachments")):
            raise SlackError("no_text")
        ts = self._next_ts()
        ephemeral = {"channel": channel, "user": user, "ts": ts, "text": args.get("text", "")}
        for key in ("blocks", "attachments", "thread_ts"):
            if args.get(key) is not None:
                ephemeral[key] = args[key]
        self._ephemerals.append(ephemeral)
        return {"message_ts": ts}

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._stored_message(args)
        del self._messages[(message["channel"], message["ts"])]
        return {"channel": message["channel"], "ts": message["ts"]}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"view": self._new_view(args)}

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"view": self._new_view(args)}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        current: dict[str, Any] | None = None
        if args.get("view_id"):
            current = self.views.get(args["view_id"])
        elif args.get("external_id"):
            current = next((v for v in self.views.values() if v["external_id"] == args["external_id"]), None)
        else:
            raise SlackError("invalid_arguments")
        if current is None:
            raise SlackError("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        updated = self._view_object(args.get("view"), view_id=current["id"], previous=current)
        self.views[current["id"]] = updated
        return {"view": updated}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = args.get("user")
        if not user_id or user_id in self.unknown_users:
            raise SlackError("user_not_found")
        name = str(user_id).lower()
        user = {
            "id": user_id,
            "team_id": self.workspace.team_id,
            "name": name,
            "deleted": False,
            "real_name": name,
            "tz": "Etc/UTC",
            "is_admin": False,
            "is_owner": False,
            "is_bot": False,
            "is_app_user": False,
            "profile": {"real_name": name, "display_name": name},
        }
        user.update(copy.deepcopy(self.users.get(user_id, {})))
        return {"user": user}

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = args.get("usergroup")
        if group not in self.usergroups:
            raise SlackError("no_such_subteam")
        return {"users": list(self.usergroups[group])}

    def _channel_object(self, channel: str) -> dict[str, Any]:
        if channel in self.unknown_channels:
            raise SlackError("channel_not_found")
        info = {
            "id": channel,
            "name": channel.lower(),
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_private": False,
            "is_archived": channel in self.archived_channels,
            "is_member": channel in self.joined_channels,
            "context_team_id": self.workspace.team_id,
        }
        info.update(copy.deepcopy(self.channels.get(channel, {})))
        return info

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": self._channel_object(str(args.get("channel", "")))}

    def _conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable_channel(args)
        self.joined_channels.add(channel)
        return {"channel": self._channel_object(channel)}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """The channel's messages, newest first; thread replies are not in it (as in Slack)."""
        channel = str(args.get("channel", ""))
        self._channel_object(channel)
        found = [
            m
            for (ch, _), m in self._messages.items()
            if ch == channel and m.get("thread_ts", m["ts"]) == m["ts"]
        ]
        return self._message_page(sorted(found, key=lambda m: float(m["ts"]), reverse=True), args)

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """A thread: its parent, then its replies, oldest first."""
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        self._channel_object(channel)
        if (channel, ts) not in self._messages:
            raise SlackError("thread_not_found")
        found = [
            m
            for (ch, _), m in self._messages.items()
            if ch == channel and (m["ts"] == ts or m.get("thread_ts") == ts)
        ]
        return self._message_page(sorted(found, key=lambda m: float(m["ts"])), args)

    def _message_page(self, ordered: list[dict[str, Any]], args: dict[str, Any]) -> dict[str, Any]:
        """One page of ``ordered`` within ``oldest``/``latest`` (``inclusive``), ``limit`` long,
        continued by ``cursor``. Metadata only with ``include_all_metadata``, as Slack does."""
        inclusive = _flag(args.get("inclusive"))
        oldest = float(args.get("oldest") or 0)
        latest = float(args["latest"]) if args.get("latest") else float("inf")

        def within(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        window = [m for m in ordered if within(float(m["ts"]))]
        start = int(args.get("cursor") or 0)
        limit = min(int(args.get("limit") or _DEFAULT_PAGE), _MAX_PAGE)
        page = window[start : start + limit]
        more = start + limit < len(window)
        metadata = _flag(args.get("include_all_metadata"))
        messages = [
            {k: copy.deepcopy(v) for k, v in m.items() if k != "channel" and (metadata or k != "metadata")}
            for m in page
        ]
        return {
            "messages": messages,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }


def _flag(value: Any) -> bool:
    """A boolean argument as Slack reads it: true, "true" or "1"."""
    return value is True or str(value).lower() in ("true", "1")


async def _stop_server(server: uvicorn.Server, grace: float = 5.0) -> None:
    """Stop serving at once: uvicorn's own shutdown polls in 0.1 s steps, which adds up over a test suite."""
    for listener in server.servers:
        listener.close()
    # idle keep-alive connections close now, busy ones right after their response
    for connection in list(server.server_state.connections):
        connection.shutdown()
    in_flight = list(server.server_state.tasks)
    if in_flight:
        _, unfinished = await asyncio.wait(in_flight, timeout=grace)
        for task in unfinished:
            task.cancel()
    for listener in server.servers:
        await listener.wait_closed()


async def _request_arguments(request: Request) -> dict[str, Any]:
    """Query string, form and JSON arguments merged, as Slack reads them."""
    args: dict[str, Any] = dict(request.query_params)
    raw = await request.body()
    if raw:
        content_type = request.headers.get("content-type", "")
        if "json" in content_type:
            body = json.loads(raw)
            if isinstance(body, dict):
                args.update(body)
        else:
            args.update(parse_qsl(raw.decode(), keep_blank_values=True))
    for key in _JSON_ARGUMENTS:
        if isinstance(args.get(key), str) and args[key]:
            with contextlib.suppress(ValueError):
                args[key] = json.loads(args[key])
    return args


def _bearer_token(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip() or None


# ---------------------------------------------------------------------- what Slack sends to the bot


def signed_request_headers(
    signing_secret: str,
    body: str,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """Headers Slack puts on a request to the bot, signed with slack_sdk's own signer.

    ``timestamp`` defaults to the wall clock, because Bolt rejects requests more than five
    minutes away from its own ``time.time()``.
    """
    ts = int(time.time()) if timestamp is None else timestamp
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=str(ts), body=body)
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": str(ts),
        "x-slack-signature": signature,
    }


def form_body(payload: Mapping[str, Any]) -> str:
    """An interactive payload as Slack posts it over HTTP: ``payload=<url-encoded JSON>``."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


def slash_command_body(
    text: str,
    user_id: str,
    channel_id: str,
    response_url: str,
    trigger_id: str,
    command: str = "/circuit",
    team_id: str = TEAM_ID,
    *,
    team_domain: str = TEAM_DOMAIN,
    channel_name: str | None = None,
    user_name: str | None = None,
    api_app_id: str = APP_ID,
    enterprise_id: str | None = None,
    enterprise_name: str | None = None,
    is_enterprise_install: bool = False,
    token: str = "verification_token",
) -> str:
    """The form-urlencoded body of a slash command, fields in the order Slack sends them."""
    fields: list[tuple[str, str]] = [
        ("token", token),
        ("team_id", team_id),
        ("team_domain", team_domain),
    ]
    if enterprise_id is not None:
        fields += [("enterprise_id", enterprise_id), ("enterprise_name", enterprise_name or "")]
    fields += [
        ("channel_id", channel_id),
        ("channel_name", channel_name or channel_id.lower()),
        ("user_id", user_id),
        ("user_name", user_name or user_id.lower()),
        ("command", command),
        ("text", text),
        ("api_app_id", api_app_id),
        ("is_enterprise_install", "true" if is_enterprise_install else "false"),
        ("response_url", response_url),
        ("trigger_id", trigger_id),
    ]
    return urlencode(fields)


def _team(team_id: str, team_domain: str, enterprise_id: str | None, enterprise_name: str | None) -> dict:
    team: dict[str, Any] = {"id": team_id, "domain": team_domain}
    if enterprise_id is not None:
        team |= {"enterprise_id": enterprise_id, "enterprise_name": enterprise_name or ""}
    return team


def _enterprise(enterprise_id: str | None, enterprise_name: str | None) -> dict[str, str] | None:
    return None if enterprise_id is None else {"id": enterprise_id, "name": enterprise_name or ""}


def _user(user_id: str, user_name: str | None, team_id: str) -> dict[str, str]:
    name = user_name or user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def block_action_payload(
    action_id: str,
    value: str,
    user_id: str,
    channel_id: str,
    message_ts: str,
    response_url: str,
    trigger_id: str,
    block_id: str = "circuitbot",
    *,
    action_type: str = "button",
    text: str = "Button",
    message: Mapping[str, Any] | None = None,
    state_values: Mapping[str, Any] | None = None,
    is_ephemeral: bool = False,
    action_ts: str | None = None,
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    channel_name: str | None = None,
    user_name: str | None = None,
    api_app_id: str = APP_ID,
    enterprise_id: str | None = None,
    enterprise_name: str | None = None,
    token: str = "verification_token",
) -> dict[str, Any]:
    """A ``block_actions`` payload for a click on a button (or a choice in a static/external select).

    ``message`` is the message holding the button; Slack sends it for non-ephemeral messages.
    """
    action: dict[str, Any] = {"type": action_type, "action_id": action_id, "block_id": block_id}
    label = {"type": "plain_text", "text": text, "emoji": True}
    if action_type == "button":
        action |= {"text": label, "value": value}
    else:
        action["selected_option"] = {"text": label, "value": value}
    action["action_ts"] = action_ts or f"{time.time():.6f}"
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": token,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        },
        "trigger_id": trigger_id,
        "team": _team(team_id, team_domain, enterprise_id, enterprise_name),
        "enterprise": _enterprise(enterprise_id, enterprise_name),
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name or channel_id.lower()},
    }
    if message is not None:
        payload["message"] = dict(message)
    payload["state"] = {"values": dict(state_values or {})}
    payload["response_url"] = response_url
    payload["actions"] = [action]
    return payload


def block_action_body(
    action_id: str,
    value: str,
    user_id: str,
    channel_id: str,
    message_ts: str,
    response_url: str,
    trigger_id: str,
    block_id: str = "circuitbot",
    **options: Any,
) -> str:
    """``block_action_payload`` encoded as Slack posts it (``payload=<url-encoded JSON>``)."""
    return form_body(
        block_action_payload(
            action_id, value, user_id, channel_id, message_ts, response_url, trigger_id, block_id, **options
        )
    )


def _state_values(values: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Accept Slack's ``state.values`` shape; a bare string stands for a plain_text_input value."""
    return {
        block_id: {
            action_id: {"type": "plain_text_input", "value": entry} if isinstance(entry, str) else dict(entry)
            for action_id, entry in actions.items()
        }
        for block_id, actions in values.items()
    }


def _input_blocks(values: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "type": "input",
            "block_id": block_id,
            "label": {"type": "plain_text", "text": block_id},
            "optional": False,
            "element": {"type": entry.get("type", "plain_text_input"), "action_id": action_id},
        }
        for block_id, actions in values.items()
        for action_id, entry in actions.items()
    ]


def view_submission_payload(
    callback_id: str,
    values: Mapping[str, Mapping[str, Any]],
    user_id: str,
    private_metadata: str = "",
    view_id: str = "V0000000001",
    *,
    blocks: list[dict[str, Any]] | None = None,
    title: str = "circuitbot",
    trigger_id: str = "1700000000.1.sandbox",
    view_hash: str = "1700000000.00000001",
    external_id: str = "",
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    user_name: str | None = None,
    api_app_id: str = APP_ID,
    bot_id: str = BOT_ID,
    enterprise_id: str | None = None,
    enterprise_name: str | None = None,
    token: str = "verification_token",
) -> dict[str, Any]:
    """A ``view_submission`` payload.

    ``values`` is the modal's ``state.values`` (``{block_id: {action_id: {"type", "value"…}}}``);
    a plain string in place of the inner dict means a plain_text_input holding that text. Without
    ``blocks`` one input block per value is made up.
    """
    state = _state_values(values)
    return {
        "type": "view_submission",
        "team": _team(team_id, team_domain, enterprise_id, enterprise_name),
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": token,
        "trigger_id": trigger_id,
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": blocks if blocks is not None else _input_blocks(state),
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": state},
            "hash": view_hash,
            "title": {"type": "plain_text", "text": title},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": {"type": "plain_text", "text": "Cancel"},
            "submit": {"type": "plain_text", "text": "Submit"},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": api_app_id,
            "external_id": external_id,
            "app_installed_team_id": team_id,
            "bot_id": bot_id,
        },
        "response_urls": [],
        "enterprise": _enterprise(enterprise_id, enterprise_name),
        "is_enterprise_install": False,
    }


def view_submission_body(
    callback_id: str,
    values: Mapping[str, Mapping[str, Any]],
    user_id: str,
    private_metadata: str = "",
    view_id: str = "V0000000001",
    **options: Any,
) -> str:
    """``view_submission_payload`` encoded as Slack posts it (``payload=<url-encoded JSON>``)."""
    return form_body(
        view_submission_payload(callback_id, values, user_id, private_metadata, view_id, **options)
    )
