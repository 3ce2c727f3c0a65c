"""The bot's own voice in channels: ``chat.*`` calls, with Slack's errors turned into PostError.

The outbox sender and the approvals engine decide when to retry; this module only says what
went wrong and, for rate limiting, how long Slack asked to wait. Give it a client without a
rate-limit retry handler (``slack_client(settings, rate_limit_retries=0)``) when the caller
runs its own retry policy, so a 429 is not waited out twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from circuitbot import metrics
from circuitbot.chat.reply import PostError, Reply

log = logging.getLogger(__name__)

CONNECTION_ERROR = "connection_error"


def slack_error_code(exc: BaseException) -> str:
    """Slack's error code for a failed Web API call (``channel_not_found``, ``ratelimited``, …)."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        code = response.get("error") if isinstance(response.data, dict) else None
        return str(code or f"http_{response.status_code}")
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError):
        return CONNECTION_ERROR
    return type(exc).__name__


def _retry_after(response: AsyncSlackResponse) -> float | None:
    for name, value in (response.headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None


def post_error(exc: BaseException) -> PostError:
    """The PostError for a failed Slack call; a 429 carries Slack's Retry-After."""
    code = slack_error_code(exc)
    retry_after = None
    if isinstance(exc, SlackApiError) and exc.response.status_code == 429:
        code = "ratelimited"
        retry_after = _retry_after(exc.response) or 1.0
    return PostError(code, retry_after=retry_after)


class SlackPoster:
    """Poster over ``chat.postMessage`` / ``chat.update`` / ``chat.postEphemeral``."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def post(self, channel: str, reply: Reply, *, thread_ts: str | None = None) -> str:
        response = await self._call(
            "chat.postMessage",
            self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, **reply.as_message()),
        )
        return str(response["ts"])

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

    async def _call(self, method: str, call: Awaitable[Any]) -> Any:
        try:
            return await call
        except (TimeoutError, SlackClientError, aiohttp.ClientError) as exc:
            error = post_error(exc)
            metrics.slack_errors.labels(error.error).inc()
            log.warning("%s failed: %s", method, error.error)
            raise error from exc
