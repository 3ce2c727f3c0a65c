"""A request's messages in Slack: its card (in the approvals channel, and a copy in the
requester's channel), edited in place at every step, with notes in the card's thread.

Every one is an outbox row (``watch.outbox``), delivered as a watch's messages are: retried until
Slack takes it, never posted twice, in order per card (one stream per channel), and a card's
edits coalesced so the last state wins. The card's ts, once posted, is kept on the request
(``approvals_ts``, ``requester_ts``) and later edits and notes go to it. The ``enqueue_*``
methods write rows in the caller's transaction (with the change they report); :meth:`send` gives
them a first try right after the commit. Slack trouble never undoes a decision already made.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from circuitbot.approvals import messages as msg
from circuitbot.approvals.listings import with_approvers
from circuitbot.chat.reply import Reply
from circuitbot.store.tables import ApprovalRequest, OutboxMessage
from circuitbot.watch.delivery import Outcome
from circuitbot.watch.outbox import enqueue, stream_of, supersede_updates
from circuitbot.watch.sender import CHANNEL_ERRORS, OutboxSender

if TYPE_CHECKING:
    from circuitbot.runtime import Runtime

log = logging.getLogger(__name__)


def copies(row: ApprovalRequest) -> list[tuple[str, str]]:
    """(channel, ts) of each posted copy of the request's message, the approvals channel's first."""
    found = []
    if row.approvals_channel and row.approvals_ts:
        found.append((row.approvals_channel, row.approvals_ts))
    if row.channel and row.requester_ts:
        found.append((row.channel, row.requester_ts))
    return found


def card_channels(row: ApprovalRequest) -> list[str]:
    """The channels the request's card goes to: the approvals channel's first, then the requester's."""
    channels = [row.approvals_channel] if row.approvals_channel else []
    if row.channel and row.channel != row.approvals_channel:
        channels.append(row.channel)
    return channels


def undelivered_note(channel: str, outcome: Outcome) -> str:
    """What the requester is told when the card's first try in ``channel`` failed."""
    if outcome.error in CHANNEL_ERRORS:
        return (
            f":warning: The channel <#{channel}> cannot be posted to ({outcome.error}): ask an admin "
            "to invite the bot there or to fix the approvals channel setting. The request is kept, "
            "and its message goes out as soon as the channel takes it."
        )
    return (
        f":hourglass_flowing_sand: Slack did not take the message in <#{channel}> yet "
        f"({outcome.error}): it will be retried until it does."
    )


class Notifier:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._own_sender: OutboxSender | None = None

    @property
    def sender(self) -> OutboxSender:
        """The watch engine's outbox sender, whose passes retry what a first try missed; one of
        our own for a runtime without it (its rows then wait for a sender on the same database)."""
        sender = getattr(self.runtime.watches, "sender", None)
        if isinstance(sender, OutboxSender):
            return sender
        if self._own_sender is None:
            self._own_sender = OutboxSender(self.runtime)
        return self._own_sender

    def _enqueue(
        self,
        session: AsyncSession,
        row: ApprovalRequest,
        kind: str,
        channel: str,
        reply: Reply,
        **columns: str | None,
    ) -> OutboxMessage:
        return enqueue(
            session,
            kind=kind,
            channel=channel,
            reply=reply,
            at=self.runtime.clock.now(),
            request_id=row.id,
            **columns,
        )

    async def enqueue_card(self, session: AsyncSession, row: ApprovalRequest) -> list[int]:
        """The new request's card in each of its channels (``approvals_channel`` must be set)."""
        reply = msg.request_message(row)
        owed = []
        for channel in card_channels(row):
            thread = row.thread_ts if channel == row.channel else None
            owed.append(self._enqueue(session, row, "parent", channel, reply, thread_ts=thread))
        await session.flush()
        return [o.id for o in owed]

    async def enqueue_refresh(self, session: AsyncSession, request_id: str) -> list[int]:
        """An edit of each copy of the card to its current state, replacing edits not yet sent."""
        row, approvers = await with_approvers(session, request_id, fresh=True)
        if row is None:
            return []
        channels = card_channels(row)
        now = self.runtime.clock.now()
        streams = [stream_of(watch_id=None, channel=c, thread_ts=None, request_id=row.id) for c in channels]
        await supersede_updates(session, streams, now)
        reply = msg.request_message(row, approvers)
        owed = [self._enqueue(session, row, "update", channel, reply) for channel in channels]
        await session.flush()
        return [o.id for o in owed]

    async def enqueue_thread(self, session: AsyncSession, row: ApprovalRequest, reply: Reply) -> list[int]:
        """A note in the thread of each copy of the card."""
        owed = [self._enqueue(session, row, "reply", channel, reply) for channel in card_channels(row)]
        await session.flush()
        return [o.id for o in owed]

    async def send(self, ids: Sequence[int]) -> dict[int, Outcome]:
        """A first try at once at rows just committed; the sender retries what it misses."""
        if not ids:
            return {}
        outcomes = await self.sender.deliver_now(ids)
        for outcome in outcomes.values():
            row = outcome.row
            if outcome.error is None:
                continue
            what = f"update request {row.request_id} in" if row.kind == "update" else "post to"
            log.warning("could not %s %s: %s (the outbox retries)", what, row.channel, outcome.error)
        return outcomes

    async def refresh(self, request_id: str) -> None:
        """Update the request's card(s) to show its current state, in a transaction of its own."""
        async with self.runtime.db.session() as session:
            owed = await self.enqueue_refresh(session, request_id)
        await self.send(owed)

    async def thread(self, row: ApprovalRequest, reply: Reply) -> None:
        """A note in the thread of each copy of the card, in a transaction of its own."""
        async with self.runtime.db.session() as session:
            owed = await self.enqueue_thread(session, row, reply)
        await self.send(owed)
