"""A poster that records the bot's voice in channels instead of calling Slack, and the helpers
tests use to read what it said."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from dataclasses import dataclass
from typing import Any

from circuitbot.chat.reply import PostError, Reply


def message_text(reply: Reply) -> str:
    """Everything a person could read in a message: fallback text and every block."""
    return reply.text + "\n" + json.dumps(reply.blocks, ensure_ascii=False)


def buttons(reply: Reply) -> dict[str, str]:
    """action_id → value of every button in a message."""
    return {
        element["action_id"]: element["value"]
        for block in reply.blocks
        for element in block.get("elements", [])
        if element.get("type") == "button"
    }


@dataclass
class Sent:
    """One call that reached the poster."""

    kind: str  # post | update | ephemeral
    channel: str
    ts: str
    reply: Reply
    thread_ts: str | None = None
    user: str | None = None

    @property
    def text(self) -> str:
        return self.reply.text

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return self.reply.blocks


class RecordingPoster:
    """The bot's voice, recorded in order in ``sent``.

    ``failures`` holds what the next calls raise, in order; posting to a channel in
    ``gone_channels`` raises ``channel_not_found``, and so does checking it. Updating a message
    this poster never posted is a test error.
    """

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.failures: deque[PostError] = deque()
        self.gone_channels: set[str] = set()
        self.checked: list[str] = []  # channels asked about by check_channel
        self.attempts = 0
        self.delivered = asyncio.Event()
        self._ts = itertools.count(1)

    def _maybe_fail(self, channel: str) -> None:
        self.attempts += 1
        if channel in self.gone_channels:
            raise PostError("channel_not_found")
        if self.failures:
            raise self.failures.popleft()

    def _record(self, sent: Sent) -> None:
        self.sent.append(sent)
        self.delivered.set()

    async def post(self, channel: str, reply: Reply, *, thread_ts: str | None = None) -> str:
        self._maybe_fail(channel)
        ts = f"1700000000.{next(self._ts):06d}"
        self._record(Sent("post", channel, ts, reply, thread_ts=thread_ts))
        return ts

    async def update(self, channel: str, ts: str, reply: Reply) -> None:
        self._maybe_fail(channel)
        posted = any(s.ts == ts and s.channel == channel for s in self.posts())
        assert posted, "updates only messages that were posted"
        self._record(Sent("update", channel, ts, reply))

    async def post_ephemeral(self, channel: str, user: str, reply: Reply) -> None:
        self._maybe_fail(channel)
        self._record(Sent("ephemeral", channel, "", reply, user=user))

    async def check_channel(self, channel: str) -> None:
        self.checked.append(channel)
        if channel in self.gone_channels:
            raise PostError("channel_not_found")

    # -- what the channels show --------------------------------------------------------------

    def posts(self, channel: str | None = None) -> list[Sent]:
        return [s for s in self.sent if s.kind == "post" and (channel is None or s.channel == channel)]

    def thread(self, ts: str) -> list[Reply]:
        """The replies posted in the thread under ``ts``, oldest first."""
        return [s.reply for s in self.posts() if s.thread_ts == ts]

    def updates(self, ts: str) -> list[Reply]:
        return [s.reply for s in self.sent if s.kind == "update" and s.ts == ts]

    def latest(self, ts: str) -> Reply:
        """The message ``ts`` as it reads now: its post, or its last update."""
        return [s.reply for s in self.sent if s.ts == ts and s.kind != "ephemeral"][-1]

    def everything(self) -> str:
        """All the text of every post, edit and ephemeral message, for what must (not) be said."""
        return "\n".join(message_text(s.reply) for s in self.sent)
