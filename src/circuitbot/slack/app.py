"""The Bolt app: three listeners that hand Slack's requests to the chat router.

Everything about commands (parsing, usage errors, permissions, modals, audit) lives in the
router; this module only translates Slack's payloads and acks. Bolt verifies each request's
signature and timestamp. The router acks first; the rest of a listener runs in Bolt's
background task after Slack has its 200, so every listener is guarded: a failure there is
logged with an error id and reported to the person who asked, never dropped. What a listener
reads of a payload is checked before it runs (``guards``), so a malformed one never reaches it.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from circuitbot import metrics
from circuitbot.actions.registry import Interaction
from circuitbot.chat import modals
from circuitbot.chat.reply import Reply
from circuitbot.chat.roles import GroupMembers
from circuitbot.chat.router import Router
from circuitbot.home.tab import HomeTab
from circuitbot.runtime import Runtime
from circuitbot.settings import Settings
from circuitbot.slack.guards import RequestGuards
from circuitbot.slack.poster import slack_error_code, slack_method_of
from circuitbot.slack.surface import SlackSurface

log = logging.getLogger(__name__)

COMMAND = "/circuit"
RECEIVED_AT = "circuitbot_received_at"
RATE_LIMIT_RETRIES = 2
CONNECTION_RETRIES = 2
CALL_TIMEOUT_SECONDS = 30  # slack_sdk's default
OUTBOX_TIMEOUT_SECONDS = 10


def slack_client(
    settings: Settings,
    *,
    rate_limit_retries: int = RATE_LIMIT_RETRIES,
    connection_retries: int = CONNECTION_RETRIES,
    timeout_seconds: int = CALL_TIMEOUT_SECONDS,
) -> AsyncWebClient:
    """A Web API client for ``SLACK_API_URL`` whose calls each take at most ``timeout_seconds``
    a try; it retries dropped connections ``connection_retries`` times and waits out 429s as
    Slack's Retry-After says ``rate_limit_retries`` times (0: a single attempt)."""
    handlers: list[Any] = []
    if connection_retries > 0:
        handlers.append(AsyncConnectionErrorRetryHandler(max_retry_count=connection_retries))
    if rate_limit_retries > 0:
        handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries))
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return AsyncWebClient(
        token=token, base_url=settings.slack_api_url, retry_handlers=handlers, timeout=timeout_seconds
    )


def outbox_client(settings: Settings) -> AsyncWebClient:
    """The outbox's client: one attempt per call, bounded by ``OUTBOX_TIMEOUT_SECONDS``. The
    outbox retries on its own terms, and a hidden retry of a post Slack already took is a
    duplicate message; a short try keeps a delivery well inside the outbox's lease."""
    return slack_client(
        settings, rate_limit_retries=0, connection_retries=0, timeout_seconds=OUTBOX_TIMEOUT_SECONDS
    )


def group_members(client: AsyncWebClient) -> GroupMembers:
    """User-group membership for role checks, read with ``usergroups.users.list``."""

    async def members(group_id: str) -> set[str]:
        response = await client.usergroups_users_list(usergroup=group_id)
        return set(response.get("users") or [])

    return members


class _QuietClientWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself and then warns that the client we
    give it (built from the same setting) wins; that is intended, so the warning is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


BOLT_LOGGER = logging.getLogger("circuitbot.slack.bolt")
BOLT_LOGGER.addFilter(_QuietClientWarning())


class BackgroundWork:
    """The listener tasks still running after their ack, so shutdown can let them finish."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def track(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109 - a bounded wait is the point
        """Wait for the running listeners; False when some were still running at the timeout."""
        pending = {t for t in self._tasks if t is not asyncio.current_task()}
        if not pending:
            return True
        _, still_running = await asyncio.wait(pending, timeout=timeout)
        return not still_running


@dataclass(frozen=True)
class Forwarded:
    """In a work process (``workprocess``), the request being handled came from the front end,
    which acknowledged it already (``send_ack`` None), or waits for the ack sent with ``send_ack``."""

    send_ack: Callable[[dict[str, Any]], None] | None = None


FORWARDED: contextvars.ContextVar[Forwarded | None] = contextvars.ContextVar("forwarded", default=None)


class _Ack:
    """Bolt's ack, called at most once, timed into ``circuitbot_ack_seconds``. Called from the
    work loop (a modal's handler acks after reading the database), it hops back to Bolt's loop.

    In a work process the front end's ack is the one Slack gets: where the front end acked
    already, this ack counts as done from the start (a failure is then told in a reply, not in
    an ack nobody receives); where it waits, the ack's arguments are sent to it. Either way the
    local Bolt ack ends the local dispatch, uncounted."""

    def __init__(self, ack: AsyncAck, kind: str, received_at: float | None) -> None:
        self._ack = ack
        self._loop = asyncio.get_running_loop()
        self.kind = kind
        self.received_at = received_at if received_at is not None else time.perf_counter()
        forwarded = FORWARDED.get()
        self._forwarded = forwarded
        self._acked_elsewhere = forwarded is not None and forwarded.send_ack is None
        self.done = self._acked_elsewhere
        CURRENT_ACK.set(self)

    async def __call__(self, **kwargs: Any) -> None:
        if self._acked_elsewhere:
            self._acked_elsewhere = False  # Bolt's own, once: its dispatch then ends quietly
            await self._ack()
            return
        if self.done:
            if self._forwarded is None:
                log.warning("%s acknowledged twice; the second ack is ignored", self.kind)
            return
        self.done = True
        if asyncio.get_running_loop() is not self._loop:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._send(**kwargs), self._loop))
            return
        await self._send(**kwargs)

    async def _send(self, **kwargs: Any) -> None:
        if self._forwarded is not None and self._forwarded.send_ack is not None:
            self._forwarded.send_ack(kwargs)
            await self._ack(**kwargs)
            return
        await self._ack(**kwargs)
        metrics.ack_seconds.labels(self.kind).observe(time.perf_counter() - self.received_at)


# The listener's ack, for whoever hands its work on (``workprocess``: a modal's ack may still be owed).
CURRENT_ACK: contextvars.ContextVar[_Ack | None] = contextvars.ContextVar("current_ack", default=None)


def command_ack(reply: Reply | None) -> dict[str, Any]:
    """A Reply as the body of a slash command's ack (an empty ack for None)."""
    if reply is None:
        return {}
    return {**reply.as_message(), "response_type": "ephemeral" if reply.ephemeral else "in_channel"}


def interaction_from(body: dict[str, Any], action: dict[str, Any]) -> Interaction:
    """Which control was used, its value and the message it sits in."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    value = action.get("value")
    if value is None:
        value = (action.get("selected_option") or {}).get("value", "")
    return Interaction(
        action_id=str(action.get("action_id", "")),
        value=str(value),
        channel_id=container.get("channel_id") or (body.get("channel") or {}).get("id"),
        message_ts=container.get("message_ts") or message.get("ts"),
        thread_ts=container.get("thread_ts") or message.get("thread_ts"),
        trigger_id=body.get("trigger_id"),
    )


async def _guarded(
    what: str,
    ack: _Ack,
    surface: SlackSurface,
    work: Callable[[], Awaitable[None]],
    *,
    ack_carries_reply: bool,
) -> None:
    """Run a listener's work; a failure is logged and told to the user, acked or not."""
    try:
        await work()
    except Exception as exc:
        error_id = secrets.token_hex(4)
        log.exception("%s failed (error id %s)", what, error_id)
        if isinstance(exc, SlackClientError | aiohttp.ClientError):
            metrics.slack_errors.labels(slack_method_of(exc), slack_error_code(exc)).inc()
        reply = Reply.error(f"something went wrong (error id {error_id})")
        try:
            if not ack.done:
                await ack(**(command_ack(reply) if ack_carries_reply else {}))
                if ack_carries_reply:
                    return
            await surface.reply(reply)
        except Exception:
            log.exception("could not tell the user about error id %s", error_id)


def build_app(
    runtime: Runtime,
    router: Router,
    *,
    settings: Settings,
    client: AsyncWebClient | None = None,
    work: BackgroundWork | None = None,
    home: HomeTab | None = None,
    forwarded: bool = False,
    forwarding: bool = False,
) -> AsyncApp:
    """The Bolt app for ``/circuit``, its buttons and its modals.

    ``client`` carries the bot token (default: ``slack_client(settings)``); ``work`` collects
    listener tasks still running after their ack. ``forwarded``: the app of a work process, fed
    requests the front end verified and acknowledged. ``forwarding``: the front end's app, whose
    listeners only ack and hand the request on (``workprocess``). Both run each listener to its
    end before the response: no task per request, and no polling for its ack (Bolt's otherwise).
    """
    client = client or slack_client(settings)
    work = work if work is not None else BackgroundWork()
    secret = settings.slack_signing_secret
    app = AsyncApp(
        client=client,
        # Settings are the one source (env, prefixed env or TOML): "" keeps Bolt off the environment.
        signing_secret=secret.get_secret_value() if secret else "",
        # The signature and the 5-minute window, by Bolt; a forwarded request was checked by the
        # front end, and may wait in the work process's backlog longer than five minutes.
        request_verification_enabled=not forwarded,
        process_before_response=forwarded or forwarding,  # else the ack goes back at once, work goes on
        logger=BOLT_LOGGER,
    )
    app.middleware(RequestGuards(settings))  # first: what follows reads the payload
    app.middleware(ArrivalStamp())
    register_command(app, router, work)
    register_actions(app, router, work)
    register_views(app, router, work)
    if home is not None:
        register_home(app, home, work, router.offload)
    return app


class ArrivalStamp(AsyncMiddleware):
    """Stamp each request on arrival: circuitbot_ack_seconds runs from here, not the listener.
    A class: Bolt builds a function middleware's arguments anew for every request."""

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        req.context[RECEIVED_AT] = time.perf_counter()
        return await next()


# Bolt hands listeners their arguments by parameter name, so the names below are fixed.


def register_command(app: AsyncApp, router: Router, work: BackgroundWork) -> None:
    """``/circuit``: the router's reply, if any, travels in the ack."""

    @app.command(COMMAND)
    async def on_command(ack, command, respond, client, context) -> None:
        work.track()
        acker = _Ack(ack, "command", context.get(RECEIVED_AT))
        surface = SlackSurface(
            client,
            user_id=command["user_id"],
            channel_id=command.get("channel_id"),
            respond=respond,
            trigger_id=command.get("trigger_id"),
        )

        async def ack_reply(reply: Reply | None) -> None:
            await acker(**command_ack(reply))

        await _guarded(
            COMMAND,  # not the text: it may hold a secret parameter
            acker,
            surface,
            lambda: router.handle_command(
                command.get("text") or "",
                user_id=command["user_id"],
                channel_id=command.get("channel_id"),
                surface=surface,
                ack=ack_reply,
            ),
            ack_carries_reply=True,
        )


def register_actions(app: AsyncApp, router: Router, work: BackgroundWork) -> None:
    """Every button and menu: an empty ack, then the router answers in the message's thread."""

    @app.action(re.compile(".*"))
    async def on_action(ack, body, action, respond, client, context) -> None:
        work.track()
        acker = _Ack(ack, "action", context.get(RECEIVED_AT))
        interaction = interaction_from(body, action)
        user_id = body["user"]["id"]
        surface = SlackSurface(
            client,
            user_id=user_id,
            channel_id=interaction.channel_id,
            respond=respond,
            trigger_id=interaction.trigger_id,
            thread_ts=interaction.thread_ts,
            message_ts=interaction.message_ts,
        )

        async def ack_only(_reply: Reply | None) -> None:
            await acker()

        await _guarded(
            f"action {interaction.action_id}",
            acker,
            surface,
            lambda: router.handle_action(interaction, user_id=user_id, surface=surface, ack=ack_only),
            ack_carries_reply=False,
        )


def register_views(app: AsyncApp, router: Router, work: BackgroundWork) -> None:
    """Every modal submission: the ack carries field errors, or closes the modal."""

    @app.view(re.compile(".*"))
    async def on_view(ack, body, view, respond, client, context) -> None:
        work.track()
        acker = _Ack(ack, "view", context.get(RECEIVED_AT))
        meta = modals.metadata(view)
        user_id = body["user"]["id"]
        surface = SlackSurface(
            client,
            user_id=user_id,
            channel_id=meta.get("channel"),
            respond=respond,
            trigger_id=body.get("trigger_id"),
            thread_ts=meta.get("thread_ts"),
        )

        async def ack_errors(errors: dict[str, str] | None) -> None:
            if errors:
                await acker(response_action="errors", errors=errors)
            else:
                await acker()

        await _guarded(
            f"view {view.get('callback_id', '')}",
            acker,
            surface,
            lambda: router.handle_view(view, user_id=user_id, surface=surface, ack_errors=ack_errors),
            ack_carries_reply=False,
        )


def register_home(
    app: AsyncApp,
    home: HomeTab,
    work: BackgroundWork,
    offload: Callable[[Coroutine[Any, Any, None]], Awaitable[None]],
) -> None:
    """``app_home_opened``: the person's Home tab, published as it stands (Bolt acks the event).
    The Home is read where the router's work runs (``offload``): the database lives there."""

    @app.event("app_home_opened")
    async def on_home_opened(event) -> None:
        if event.get("tab") != "home":
            return  # the Messages tab: nothing to publish
        work.track()
        user_id = str(event.get("user", ""))
        try:
            await offload(home.opened(user_id))
        except Exception as exc:
            log.exception("could not publish the Home of %s", user_id)
            if isinstance(exc, SlackClientError | aiohttp.ClientError):
                metrics.slack_errors.labels(slack_method_of(exc), slack_error_code(exc)).inc()
