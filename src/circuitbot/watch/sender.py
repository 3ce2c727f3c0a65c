"""The sender that delivers the outbox.

Delivery is at most one attempt at a time per row and once per row: a pass claims the rows that
are due (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so replicas never claim the same row) by
pushing ``next_attempt_at`` forward as a lease, delivers them (``watch.delivery``: never twice),
and marks each one sent with a compare-and-set on its status. Only the oldest pending row of a
stream is ever claimed, so a later message of a watch never overtakes an earlier one. Each
channel gets about one message a second from this process. A failed delivery is retried with
backoff (Slack's Retry-After when it gives one) for as long as it takes: an outage loses
nothing. A channel that is gone (archived, not found, the bot removed) pauses the watch and
tells whoever created it, by direct message; an approval request's messages there are kept and
retried (the requester was told when the card could not be posted), so nothing owed is lost.

:meth:`OutboxSender.deliver_now` gives rows just written a first try at once, through the same
claim and delivery, so a person who acted sees the result without waiting for a pass; it keeps
the order of each stream and a channel's Retry-After, and only the steady pace is left to passes.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from circuitbot import metrics
from circuitbot.chat.reply import Poster
from circuitbot.store.db import rows_changed
from circuitbot.store.tables import ApprovalRequest, OutboxMessage, Watch
from circuitbot.watch import messages
from circuitbot.watch.delivery import (
    CLAIMED_COLUMNS,
    DELIVERY_TIMEOUT_SECONDS,
    IN_FLIGHT,
    IN_FLIGHT_UNSURE,
    NOT_POSTED,
    Claimed,
    Outcome,
    Target,
    deliver,
)
from circuitbot.watch.outbox import enqueue
from circuitbot.watch.status import WatchStatus

if TYPE_CHECKING:
    from circuitbot.runtime import Runtime

log = logging.getLogger(__name__)

DONE = ("sent", "superseded")  # rows with nothing left to do (failed ones stay, to be looked at)

# The channel itself is unusable: retrying will not help, the watch pauses.
CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})
# This one message cannot be delivered (its target was deleted, it is malformed): drop it and
# go on with the rest of its stream.
MESSAGE_ERRORS = frozenset(
    {
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "msg_too_long",
        "no_text",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_arguments",
        "too_many_attachments",
        "user_not_in_channel",
        "user_not_found",
    }
)
# Everything else (rate limiting, server errors, timeouts, even a revoked token) is retried:
# once it is fixed, every pending message goes out.

MAX_RETRY_SECONDS = 300.0
LEASE_SECONDS = 4 * DELIVERY_TIMEOUT_SECONDS  # a row is never posted by two senders
FLUSH_SECONDS = 5.0  # at stop, what is due is delivered for at most this long
PENDING_GAUGE_SECONDS = 5.0  # how often the pending-count gauge is refreshed
RETENTION = timedelta(days=7)  # delivered (or superseded) rows are kept this long, for inspection
PURGE_EVERY_SECONDS = 60.0
SEND_JOB, PURGE_JOB = "outbox.send", "outbox.purge"
PURGE_LIMIT = 1000  # rows deleted per purge, so one pass never turns into a long delete


class OutboxSender:
    """Delivers outbox rows through ``runtime.poster``, in jobs on the runtime's scheduler. Tests
    call :meth:`run_once` (one pass), :meth:`send_round` and :meth:`purge` directly."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        per_channel_interval: float = 1.0,
        lease_seconds: float = LEASE_SECONDS,
        claim_limit: int = 200,
        idle_seconds: float = 0.5,
        max_retry_seconds: float = MAX_RETRY_SECONDS,
    ) -> None:
        self.runtime = runtime
        # The bot's voice for the outbox; ``runtime.poster`` unless a front end gives it its own.
        self.poster: Poster | None = None
        self.per_channel_interval = per_channel_interval
        self.lease = timedelta(seconds=lease_seconds)
        self.claim_limit = claim_limit
        self.idle_seconds = idle_seconds
        self.max_retry_seconds = max_retry_seconds
        self.retention = RETENTION
        self._free_at: dict[str, float] = {}  # channel -> monotonic time it may get the next message
        self._held: dict[str, float] = {}  # channel -> monotonic time its Retry-After ends
        self._started = False
        self._leased: dict[int, datetime] = {}  # rows claimed and not yet settled: leased until
        self._gauge_at = -math.inf
        # Told of every batch delivered (the Home tab refreshes what the rows concern); must not block.
        self.on_delivered: list[Callable[[Sequence[Claimed]], None]] = []

    # -- running --------------------------------------------------------------------------------

    def wake(self) -> None:
        """Something was enqueued: look now rather than at the next idle check."""
        self.runtime.scheduler.wake(SEND_JOB)

    async def start(self) -> None:
        """Put the passes (every ``idle_seconds``, brought forward by ``wake``) and the purge on
        the runtime's scheduler."""
        if self._started:
            return
        self._started = True
        scheduler = self.runtime.scheduler
        scheduler.every(SEND_JOB, self.idle_seconds, self.send_round)
        scheduler.every(PURGE_JOB, PURGE_EVERY_SECONDS, self.purge)

    async def stop(self, flush_seconds: float = FLUSH_SECONDS) -> None:
        """Deliver what is due for at most ``flush_seconds`` (real time), then stop. Rows whose
        delivery was cut short are given back, due at once: their ``last_error`` still says a
        try was in flight, so the next try looks for its post before sending (exactly once)."""
        if not self._started:
            return
        self._started = False
        await self.runtime.scheduler.retire((SEND_JOB, PURGE_JOB), flush_seconds, then=self.send_round)
        await self._release_leases()

    async def _release_leases(self) -> None:
        leased, self._leased = self._leased, {}
        if not leased:
            return
        now = self.runtime.clock.now()
        released = 0
        async with self.runtime.db.session() as session:
            for leased_until in set(leased.values()):
                ids = [row_id for row_id, until in leased.items() if until == leased_until]
                released += await rows_changed(
                    session,
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id.in_(ids),
                        OutboxMessage.status == "pending",
                        OutboxMessage.next_attempt_at == leased_until,
                    )
                    .values(next_attempt_at=now),
                )
        log.info("stopping: %d outbox message(s) given back, due now", released)

    async def send_round(self) -> None:
        """The sender job: passes, one after the other, until one finds nothing it may send (the
        rest is held back by a channel's pace or Retry-After, or not due yet)."""
        while await self.run_once():
            pass

    # -- one pass -------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim what is due, deliver it, record how each went; returns how many were attempted."""
        claimed = await self._claim()
        await self._deliver(claimed)
        await self._refresh_gauge()
        return len(claimed)

    async def deliver_now(self, ids: Sequence[int]) -> dict[int, Outcome]:
        """A first try at once at these rows (committed), stream by stream in order, ignoring the
        steady per-channel pace but not a Retry-After; how each try went, by row id. What is not
        delivered here (behind an earlier row, failed, held back) is left to the passes."""
        outcomes: dict[int, Outcome] = {}
        for _ in range(len(ids)):  # each round takes at least one row, or ends
            claimed = await self._claim(only=[i for i in ids if i not in outcomes])
            if not claimed:
                break
            outcomes.update((o.row.id, o) for o in await self._deliver(claimed))
        return outcomes

    async def _deliver(self, claimed: Sequence[Claimed]) -> list[Outcome]:
        if not claimed:
            return []
        targets = await self._targets(claimed)
        poster = self.poster or self.runtime.poster
        outcomes = await asyncio.gather(*(deliver(poster, c, targets.get(c.id)) for c in claimed))
        await self._settle(outcomes)
        delivered = [o.row for o in outcomes if o.error is None]
        for listener in self.on_delivered if delivered else ():
            try:
                listener(delivered)
            except Exception:
                log.exception("a delivery listener failed")
        return outcomes

    async def pending(self) -> int:
        async with self.runtime.db.session() as session:
            return (
                await session.execute(
                    select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
                )
            ).scalar_one()

    async def _claim(self, only: Sequence[int] | None = None) -> list[Claimed]:
        """Lease the oldest due row of each channel this process may post to now (of ``only``,
        when given: then a channel waits only for its Retry-After, not for its pace).

        A row is eligible when it is due and the oldest pending row of its stream; of those, each
        channel's oldest is picked in SQL (``row_number() OVER (PARTITION BY channel)``), and the
        channels this process is holding back are left out in the WHERE clause, so a backlog in
        one channel never hides the others.
        """
        db, clock = self.runtime.db, self.runtime.clock
        now, tick = clock.now(), clock.monotonic()
        self._free_at = {c: t for c, t in self._free_at.items() if t > tick}
        self._held = {c: t for c, t in self._held.items() if t > tick}
        # Leased only if still pending and due: another sender may have picked the same rows
        # (on PostgreSQL it skips the ones being leased; on SQLite the write lock serialises us).
        leasable = select(OutboxMessage.id).where(
            OutboxMessage.id.in_(self._oldest_per_channel(now, only)),
            OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now,
        )
        if db.skip_locked:  # FOR UPDATE cannot sit next to a window function: lock in a CTE of its own
            locked = leasable.with_for_update(skip_locked=True).cte("leasable").prefix_with("MATERIALIZED")
            target = OutboxMessage.id == locked.c.id
        else:
            target = OutboxMessage.id.in_(leasable)
        leased_until = now + self.lease
        lease = (
            update(OutboxMessage)
            .where(target)
            .values(
                next_attempt_at=leased_until,
                attempts=OutboxMessage.attempts + 1,
                last_error=case(  # the row's previous values: how its previous try ended
                    (
                        or_(OutboxMessage.attempts == 0, OutboxMessage.last_error.in_(NOT_POSTED)),
                        IN_FLIGHT,
                    ),
                    else_=IN_FLIGHT_UNSURE,
                ),
            )
            .returning(*CLAIMED_COLUMNS)
            .execution_options(synchronize_session=False)
        )
        async with db.session() as session:
            rows = (await session.execute(lease)).all()
        claimed = sorted((Claimed.of(r) for r in rows), key=lambda c: c.id)
        for row in claimed:
            self._free_at[row.channel] = tick + self.per_channel_interval
            self._leased[row.id] = leased_until
        return claimed

    def _oldest_per_channel(self, now: datetime, only: Sequence[int] | None) -> Select[tuple[int]]:
        """The ids of the rows :meth:`_claim` may lease: up to ``claim_limit``, one per channel."""
        earlier = aliased(OutboxMessage)
        first_of_stream = (
            select(func.min(earlier.id))
            .where(earlier.stream == OutboxMessage.stream, earlier.status == "pending")
            .scalar_subquery()
        )
        eligible = select(
            OutboxMessage.id,
            func.row_number()
            .over(partition_by=OutboxMessage.channel, order_by=OutboxMessage.id)
            .label("place"),
        ).where(
            OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now,
            OutboxMessage.id == first_of_stream,
        )
        waiting = set(self._held) if only is not None else {*self._held, *self._free_at}
        if only is not None:
            eligible = eligible.where(OutboxMessage.id.in_(list(only)))
        if waiting:
            eligible = eligible.where(OutboxMessage.channel.not_in(list(waiting)))
        ranked = eligible.subquery()
        return select(ranked.c.id).where(ranked.c.place == 1).order_by(ranked.c.id).limit(self.claim_limit)

    async def _targets(self, claimed: Sequence[Claimed]) -> dict[int, Target]:
        """Each row's thread and card as they are now (posted by earlier rows), by row id: its
        watch's, or its request's card in the row's channel (the thread of the request's notes)."""
        watch_ids = {c.watch_id for c in claimed if c.watch_id is not None}
        request_ids = {c.request_id for c in claimed if c.request_id is not None}
        watches: dict[int, Target] = {}
        cards: dict[tuple[str, str | None], str | None] = {}
        async with self.runtime.db.session() as session:
            if watch_ids:
                rows = await session.execute(
                    select(Watch.id, Watch.thread_ts, Watch.status_ts).where(Watch.id.in_(watch_ids))
                )
                watches = {r.id: (r.thread_ts, r.status_ts) for r in rows}
            if request_ids:
                requests = await session.execute(
                    select(
                        ApprovalRequest.id,
                        ApprovalRequest.approvals_channel,
                        ApprovalRequest.approvals_ts,
                        ApprovalRequest.channel,
                        ApprovalRequest.requester_ts,
                    ).where(ApprovalRequest.id.in_(request_ids))
                )
                for r in requests:
                    cards[(r.id, r.channel)] = r.requester_ts
                    cards[(r.id, r.approvals_channel)] = r.approvals_ts  # the approvals copy wins
        targets: dict[int, Target] = {}
        for c in claimed:
            if c.watch_id is not None and c.watch_id in watches:
                targets[c.id] = watches[c.watch_id]
            elif c.request_id is not None:
                card = cards.get((c.request_id, c.channel))
                targets[c.id] = (card, card)
        return targets

    async def _settle(self, outcomes: Sequence[Outcome]) -> None:
        """Record a pass in one transaction: sent rows marked (once), failed ones rescheduled."""
        clock = self.runtime.clock
        now = clock.now()
        notify = False
        async with self.runtime.db.session() as session:
            for outcome in outcomes:
                row, error = outcome.row, outcome.error
                self._leased.pop(row.id, None)
                if error is None:
                    await self._mark_sent(session, row, outcome.sent_ts, now)
                    continue
                if error in CHANNEL_ERRORS and row.request_id is None:
                    notify |= await self._channel_gone(session, row, error, now)
                    continue
                if error in MESSAGE_ERRORS:
                    log.warning("outbox row %s dropped: Slack answered %s", row.id, error)
                    values: dict[str, Any] = {"status": "failed", "last_error": error}
                else:
                    retry_after = outcome.retry_after
                    delay = retry_after if retry_after is not None else self._backoff(row.attempts)
                    if retry_after is not None:  # Slack asked this channel to wait; so do its other rows
                        self._held[row.channel] = max(
                            self._held.get(row.channel, -math.inf), clock.monotonic() + delay
                        )
                    values = {"next_attempt_at": now + timedelta(seconds=delay), "last_error": error}
                    log.info("outbox row %s: %s, retrying in %.1f s", row.id, error, delay)
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row.id, OutboxMessage.status == "pending")
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
        if notify:
            self.wake()

    async def _mark_sent(
        self, session: AsyncSession, row: Claimed, sent_ts: str | None, now: datetime
    ) -> None:
        marked = await rows_changed(
            session,
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.status == "pending")
            # next_attempt_at: the lease is over; from now on it dates the row for the purge
            .values(status="sent", sent_at=now, sent_ts=sent_ts, last_error=None, next_attempt_at=now)
            .execution_options(synchronize_session=False),
        )
        if marked != 1:
            log.warning("outbox row %s was delivered but is no longer pending", row.id)
        if row.kind != "parent" or sent_ts is None:
            return
        if row.watch_id is not None:
            await session.execute(
                update(Watch)
                .where(Watch.id == row.watch_id)
                .values(status_ts=sent_ts, thread_ts=func.coalesce(Watch.thread_ts, sent_ts))
                .execution_options(synchronize_session=False)
            )
        elif row.request_id is not None:  # the request's card: in its approvals channel, or its copy
            approvals_copy = ApprovalRequest.approvals_channel == row.channel
            await session.execute(
                update(ApprovalRequest)
                .where(ApprovalRequest.id == row.request_id)
                .values(
                    approvals_ts=case((approvals_copy, sent_ts), else_=ApprovalRequest.approvals_ts),
                    requester_ts=case((approvals_copy, ApprovalRequest.requester_ts), else_=sent_ts),
                )
                .execution_options(synchronize_session=False)
            )

    def _backoff(self, attempts: int) -> float:
        return min(self.max_retry_seconds, 2.0 ** min(attempts, 16))

    async def _channel_gone(self, session: AsyncSession, row: Claimed, error: str, now: datetime) -> bool:
        """Fail this row and the rest of its stream; pause its watch and tell whoever made it.
        Returns whether a message to the creator was written."""
        log.warning("outbox row %s: channel %s unusable (%s)", row.id, row.channel, error)
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.status == "pending")
            .values(status="failed", last_error=error)
            .execution_options(synchronize_session=False)
        )
        if row.watch_id is None:
            return False
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.stream == row.stream, OutboxMessage.status == "pending")
            .values(status="failed", last_error=f"watch paused: {error}")
            .execution_options(synchronize_session=False)
        )
        watch = await session.get(Watch, row.watch_id, with_for_update=self.runtime.db.skip_locked)
        if watch is None or watch.status != WatchStatus.ACTIVE:
            return False
        watch.status = WatchStatus.ACTIVE.become(WatchStatus.PAUSED)
        watch.status_reason = f"Slack answered {error} for channel {row.channel}"
        watch.version += 1
        watch.updated_at = now
        if watch.created_by[:1] not in ("U", "W") or watch.created_by == row.channel:
            return False
        enqueue(
            session,
            kind="post",
            channel=watch.created_by,  # a user id as channel: the bot's direct message
            reply=messages.paused(
                watch.provider, watch.label or watch.resource_id, row.channel, error, watch.resource_id
            ),
            at=now,
            stream=f"dm:{watch.created_by}",
        )
        return True

    async def purge(self) -> int:
        """The purge job: delete rows done with for longer than the retention (sent or superseded),
        a bounded number at a time; returns how many. ``next_attempt_at`` is when a sent row was
        delivered (a superseded one was never tried: its creation), and ``(status,
        next_attempt_at)`` is indexed."""
        cutoff = self.runtime.clock.now() - self.retention
        old = (
            select(OutboxMessage.id)
            .where(OutboxMessage.status.in_(DONE), OutboxMessage.next_attempt_at < cutoff)
            .limit(PURGE_LIMIT)
        )
        async with self.runtime.db.session() as session:
            return await rows_changed(
                session,
                delete(OutboxMessage)
                .where(OutboxMessage.id.in_(old))
                .execution_options(synchronize_session=False),
            )

    async def _refresh_gauge(self) -> None:
        tick = self.runtime.clock.monotonic()
        if tick - self._gauge_at < PENDING_GAUGE_SECONDS:
            return
        self._gauge_at = tick
        async with self.runtime.db.session() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(OutboxMessage.created_at)).where(
                        OutboxMessage.status == "pending"
                    )
                )
            ).one()
        metrics.outbox_pending.set(count)
        age = (self.runtime.clock.now() - oldest).total_seconds() if oldest is not None else 0.0
        metrics.outbox_oldest_seconds.set(max(0.0, age))
