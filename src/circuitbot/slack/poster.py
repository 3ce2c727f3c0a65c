"""The bot's own voice in channels: ``chat.*`` calls, with Slack's errors turned into PostError.

The outbox sender and the approvals engine decide when to retry; this module only says what
went wrong and, for rate limiting, how long Slack asked to wait. Give it a client without a
rate-limit retry handler (``slack_client(settings, rate_limit_retries=0)``) when the caller
runs its own retry policy, so a 429 is not waited out twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from datetime import datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.web.slack_response import SlackResponse

from circuitbot import metrics
from circuitbot.chat.reply import PostError, Reply

log = logging.getLogger(__name__)

CONNECTION_ERROR = "connection_error"
INVALID_RESPONSE = "invalid_response"  # an answer that is not JSON (cut off, a proxy's error page)
FIND_PAGES = 5  # pages read by find_posted before it gives up
FIND_PAGE_SIZE = 200  # Slack's recommended page size


def slack_error_code(exc: BaseException) -> str:
    """Slack's error code for a failed Web API call (``channel_not_found``, ``ratelimited``, …)."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        if not isinstance(response, SlackResponse | AsyncSlackResponse):  # not JSON: aiohttp's own is left
            return INVALID_RESPONSE
        code = response.get("error") if isinstance(response.data, dict) else None
        return str(code or f"http_{response.status_code}")
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError):
        return CONNECTION_ERROR
    return type(exc).__name__


def slack_method_of(exc: BaseException) -> str:
    """The Web API method a failed call was to (``chat.postMessage``), as far as it says."""
    response = getattr(exc, "response", None)
    url = str(getattr(response, "api_url", "") or "")
    return url.rstrip("/").rsplit("/", 1)[-1] or "unknown"


def _retry_after(response: AsyncSlackResponse) -> float | None:
    for name, value in (response.headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None


def _tagged(found: Any, wanted: Mapping[str, Any]) -> bool:
    """Whether a message's metadata is ``wanted`` (payload values compared as text: Slack may
    hand numbers back as strings)."""
    if not isinstance(found, dict) or found.get("event_type") != wanted.get("event_type"):
        return False
    payload = found.get("event_payload") or {}
    return all(str(payload.get(k)) == str(v) for k, v in (wanted.get("event_payload") or {}).items())


def post_error(exc: BaseException) -> PostError:
    """The PostError for a failed Slack call; a 429 carries Slack's Retry-After."""
    code = slack_error_code(exc)
    retry_after = None
    if code != INVALID_RESPONSE and isinstance(exc, SlackApiError) and exc.response.status_code == 429:
        code = "ratelimited"
        retry_after = _retry_after(exc.response) or 1.0
    return PostError(code, retry_after=retry_after)


class SlackPoster:
    """Poster over ``chat.postMessage`` / ``chat.update`` / ``chat.postEphemeral``, and
    ``conversations.info`` to check a channel before promising to post there."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def post(
        self,
        channel: str,
        reply: Reply,
        *,
        thread_ts: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Post; ``metadata`` (Slack message metadata: event_type, event_payload) tags the message
        so :meth:`find_posted` can find it again."""
        extra: dict[str, Any] = {"metadata": dict(metadata)} if metadata else {}
        response = await self._call(
            "chat.postMessage",
            self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, **reply.as_message(), **extra),
        )
        return str(response["ts"])

    async def find_posted(
        self,
        channel: str,
        metadata: Mapping[str, Any],
        *,
        thread_ts: str | None = None,
        since: datetime,
    ) -> str | None:
        """The ts of a message tagged with ``metadata`` (same event_type and payload) posted in
        ``channel`` since ``since`` (in ``thread_ts``'s thread when given), or None.

        Reads ``conversations.history`` (or ``conversations.replies``) with
        ``include_all_metadata``, a page at a time, up to ``FIND_PAGES`` pages. Needs the
        ``channels:history`` / ``groups:history`` scopes; raises PostError (e.g. missing_scope).
        """
        oldest = f"{since.timestamp():.6f}"
        cursor: str | None = None
        for _ in range(FIND_PAGES):
            if thread_ts:
                method = "conversations.replies"
                call = self.client.conversations_replies(
                    channel=channel,
                    ts=thread_ts,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=FIND_PAGE_SIZE,
                    cursor=cursor,
                )
            else:
                method = "conversations.history"
                call = self.client.conversations_history(
                    channel=channel,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=FIND_PAGE_SIZE,
                    cursor=cursor,
                )
            response = await self._call(method, call)
            for message in response.get("messages") or []:
                if _tagged(message.get("metadata"), metadata):
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                return None
        log.warning("%s: no tagged message in the latest %d pages; assuming none", method, FIND_PAGES)
        return None

    async def update(self, channel: str, ts: str, reply: Reply) -> None:
        await self._call("chat.update", self.client.chat_update(channel=channel, ts=ts, **reply.as_message()))

    async def post_ephemeral(
        self, channel: str, user: str, reply: Reply, *, thread_ts: str | None = None
    ) -> None:
        await self._call(
            "chat.postEphemeral",
            self.client.chat_postEphemeral(
                channel=channel, user=user, thread_ts=thread_ts, **reply.as_message()
            ),
        )

    async def check_channel(self, channel: str) -> None:
        """Raise PostError unless the bot can post in ``channel``, as ``conversations.info`` tells:
        ``channel_not_found`` (Slack's answer for a private channel the bot is not in, too),
        ``is_archived``, or ``not_in_channel`` for a private channel it is not a member of. A
        public channel needs no membership: ``chat:write.public`` lets the bot post there."""
        response = await self._call("conversations.info", self.client.conversations_info(channel=channel))
        info = response.get("channel") or {}
        if info.get("is_archived"):
            raise PostError("is_archived")
        if info.get("is_private") and not info.get("is_member"):
            raise PostError("not_in_channel")

    async def _call(self, method: str, call: Awaitable[Any]) -> Any:
        try:
            return await call
        except (TimeoutError, SlackClientError, aiohttp.ClientError) as exc:
            error = post_error(exc)
            metrics.slack_errors.labels(method, error.error).inc()
            log.warning("%s failed: %s", method, error.error)
            raise error from exc
