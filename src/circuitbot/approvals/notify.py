"""A request's messages in Slack: posted once (approvals channel and the requester's channel),
edited in place at every step, with notes in their threads.

Slack trouble never undoes a decision already made: every call here logs what failed and goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import update

from circuitbot.approvals import listings
from circuitbot.approvals import messages as msg
from circuitbot.chat.reply import PostError, Reply
from circuitbot.store.tables import ApprovalRequest

if TYPE_CHECKING:
    from circuitbot.runtime import Runtime

log = logging.getLogger(__name__)

T = TypeVar("T")


def copies(row: ApprovalRequest) -> list[tuple[str, str]]:
    """(channel, ts) of each posted copy of the request's message, the approvals channel's first."""
    found = []
    if row.approvals_channel and row.approvals_ts:
        found.append((row.approvals_channel, row.approvals_ts))
    if row.channel and row.requester_ts:
        found.append((row.channel, row.requester_ts))
    return found


class Notifier:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def _attempt(self, what: str, call: Awaitable[T]) -> T | None:
        try:
            return await call
        except PostError as exc:
            log.warning("could not %s: %s", what, exc.error)
        except Exception as exc:  # the text may quote what was sent; the class name is enough
            log.warning("could not %s: %s", what, exc.__class__.__name__)
        return None

    async def post(self, channel: str, reply: Reply, thread_ts: str | None = None) -> str | None:
        """The ts of the message posted, or None (no poster, or Slack refused)."""
        poster = self.runtime.poster
        if poster is None:
            return None
        return await self._attempt(f"post to {channel}", poster.post(channel, reply, thread_ts=thread_ts))

    async def post_request(self, row: ApprovalRequest) -> list[str]:
        """Post a new request to the approvals channel and the requester's channel and keep where
        it went (on the row too); the channels it reached."""
        reply = msg.request_message(row)
        approvals_channel = self.runtime.settings.approvals_channel or row.channel
        values: dict[str, Any] = {"approvals_channel": approvals_channel}
        where = []
        if approvals_channel:
            thread = row.thread_ts if approvals_channel == row.channel else None
            values["approvals_ts"] = await self.post(approvals_channel, reply, thread)
            if values["approvals_ts"]:
                where.append(approvals_channel)
        if row.channel and row.channel != approvals_channel:
            values["requester_ts"] = await self.post(row.channel, reply, row.thread_ts)
            if values["requester_ts"]:
                where.append(row.channel)
        async with self.runtime.db.session() as session:
            await session.execute(
                update(ApprovalRequest)
                .where(ApprovalRequest.id == row.id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        for key, value in values.items():
            setattr(row, key, value)
        return where

    async def refresh(self, request_id: str) -> None:
        """Update the request's message(s) in place to show its current state."""
        poster = self.runtime.poster
        if poster is None:
            return
        row, approvers = await listings.load(self.runtime.db, request_id)
        if row is None:
            return
        reply = msg.request_message(row, approvers)
        for channel, ts in copies(row):
            await self._attempt(f"update request {row.id} in {channel}", poster.update(channel, ts, reply))

    async def thread(self, row: ApprovalRequest, reply: Reply) -> None:
        """A note in the thread of each copy of the request's message."""
        for channel, ts in copies(row):
            await self.post(channel, reply, thread_ts=ts)
