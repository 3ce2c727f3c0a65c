"""The outbox: Slack messages written in the same transaction as the change they report, and the
sender that delivers them.

Delivery is at most one attempt at a time per row and once per row: a pass claims the rows that
are due (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so replicas never claim the same row) by
pushing ``next_attempt_at`` forward as a lease, delivers them, and marks each one sent with a
compare-and-set on its status. Only the oldest pending row of a stream is ever claimed, so a
later message of a watch never overtakes an earlier one. Each channel gets about one message a
second from this process. A failed delivery is retried with backoff (Slack's Retry-After when it
gives one) for as long as it takes: an outage loses nothing. A channel that is gone (archived,
not found, the bot removed) pauses the watch and tells whoever created it, by direct message.

Nothing is posted twice either. A delivery is bounded (``DELIVERY_TIMEOUT_SECONDS``) well inside
the lease, so no other sender claims a row still being posted. And a post Slack took but this
process never recorded (a timeout after Slack accepted it, a crash before the pass was written)
is found again: each post carries Slack message metadata naming its row (``OUTBOX_EVENT``), and a
row tried before is first looked up in its channel or thread, and settled if it is there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from sqlalchemy import Row, case, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from circuitbot import metrics
from circuitbot.chat.reply import Poster, PostError, Reply
from circuitbot.store.tables import OutboxMessage, Watch
from circuitbot.watch import messages

if TYPE_CHECKING:
    from circuitbot.runtime import Runtime

log = logging.getLogger(__name__)

KINDS = frozenset({"post", "parent", "reply", "update", "ephemeral"})
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
# A delivery (a look-up and a post, single attempts of at most 10 s each with the Slack poster)
# is cut off here; the lease is several times this, so a row is never posted by two senders.
DELIVERY_TIMEOUT_SECONDS = 30.0
LEASE_SECONDS = 4 * DELIVERY_TIMEOUT_SECONDS
OUTBOX_EVENT = "circuitbot_outbox"  # the metadata event_type tagging each post with its row
LOOKUP_MARGIN = timedelta(minutes=5)  # look from this long before a row was written (clock skew)
# A try that ended with one of these certainly posted nothing: no look-up before the next one.
NOT_POSTED = frozenset({"ratelimited", "no_poster"})
# A claim writes one of these into last_error, so a process that dies mid-delivery leaves a
# mark: whether the row may have been posted by then (its earlier tries, or this one) or not.
IN_FLIGHT = "in flight"
IN_FLIGHT_UNSURE = "in flight; an earlier try may have posted it"
LOOKUP_ERROR_PREFIX = "lookup_"  # a failed look-up proves nothing: the next try looks again
# Slack cannot show us the channel's history (no scope, a DM addressed by user id, …): post
# without looking rather than never.
CANNOT_LOOK = frozenset(
    {
        "missing_scope",
        "not_in_channel",
        "channel_not_found",
        "thread_not_found",
        "not_allowed_token_type",
        "method_not_supported_for_channel_type",
    }
)
STREAM_CHUNK = 500  # streams per IN (…) list
PENDING_GAUGE_SECONDS = 5.0  # how often the pending-count gauge is refreshed
RETENTION = timedelta(days=7)  # delivered (or superseded) rows are kept this long, for inspection
PURGE_EVERY_SECONDS = 60.0
PURGE_LIMIT = 1000  # rows deleted per purge, so one pass never turns into a long delete


def stream_of(*, watch_id: int | None, channel: str, thread_ts: str | None, user: str | None = None) -> str:
    """The ordering key: messages of one stream are delivered in the order they were written."""
    if watch_id is not None:
        return f"watch:{watch_id}"
    if user is not None:
        return f"user:{user}:{channel}"
    return f"thread:{channel}:{thread_ts}" if thread_ts else f"channel:{channel}"


def enqueue(session: AsyncSession, **columns: Any) -> OutboxMessage:
    """Add a message to the outbox, in the caller's transaction (with the change it reports);
    ``columns`` are :func:`outbox_row`'s arguments.

    ``reply`` and ``parent`` rows of a watch may leave ``thread_ts`` empty and ``update`` rows
    ``update_ts``: the sender takes the watch's thread and card at delivery time (the card is
    posted by an earlier row of the same stream). Wake the sender after the commit
    (``runtime.watches.sender.wake()``) for prompt delivery; it also finds rows on its own.
    """
    row = OutboxMessage(**outbox_row(**columns))
    session.add(row)
    return row


def outbox_row(
    *,
    kind: str,
    channel: str,
    reply: Reply,
    at: datetime,
    thread_ts: str | None = None,
    update_ts: str | None = None,
    user: str | None = None,
    watch_id: int | None = None,
    request_id: str | None = None,
    stream: str | None = None,
) -> dict[str, Any]:
    """An outbox row's columns, for :func:`enqueue` or, many at once, :func:`enqueue_many`."""
    if kind not in KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    if kind == "ephemeral" and not user:
        raise ValueError("an ephemeral message needs a user")
    return {
        "kind": kind,
        "stream": stream or stream_of(watch_id=watch_id, channel=channel, thread_ts=thread_ts, user=user),
        "channel": channel,
        "thread_ts": thread_ts,
        "update_ts": update_ts,
        "user": user,
        "payload": reply.as_message(),
        "watch_id": watch_id,
        "request_id": request_id,
        "created_at": at,
        "next_attempt_at": at,
        "attempts": 0,
        "status": "pending",
    }


async def enqueue_many(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert :func:`outbox_row` rows in multi-row statements; ids follow the order given."""
    if rows:
        await session.execute(insert(OutboxMessage), list(rows))


async def supersede_card_updates(session: AsyncSession, watch_ids: Sequence[int]) -> None:
    """Drop these watches' card edits not yet attempted: the edits about to be written replace them."""
    streams = [stream_of(watch_id=w, channel="", thread_ts=None) for w in watch_ids]
    for start in range(0, len(streams), STREAM_CHUNK):
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.stream.in_(streams[start : start + STREAM_CHUNK]),
                OutboxMessage.kind == "update",
                OutboxMessage.status == "pending",
                OutboxMessage.attempts == 0,
            )
            .values(status="superseded")
            .execution_options(synchronize_session=False)
        )


@runtime_checkable
class TaggingPoster(Protocol):
    """A poster that tags its posts with Slack message metadata and finds them again by it
    (``SlackPoster``); with any other poster the outbox posts untagged and never looks."""

    async def post(
        self,
        channel: str,
        reply: Reply,
        *,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> str: ...

    async def find_posted(
        self, channel: str, metadata: dict[str, Any], *, thread_ts: str | None = None, since: datetime
    ) -> str | None:
        """The ts of the bot's message carrying ``metadata`` posted since ``since`` in the
        channel (in ``thread_ts``'s thread when given), or None. Raises PostError."""
        ...


@dataclass(frozen=True)
class _Claimed:
    id: int
    kind: str
    stream: str
    channel: str
    thread_ts: str | None
    update_ts: str | None
    user: str | None
    payload: dict[str, Any]
    watch_id: int | None
    attempts: int  # including this one
    created_at: datetime
    last_error: str | None  # IN_FLIGHT or IN_FLIGHT_UNSURE, as the claim wrote it

    @classmethod
    def of(cls, row: Row[Any]) -> _Claimed:
        return cls(
            id=row.id,
            kind=row.kind,
            stream=row.stream,
            channel=row.channel,
            thread_ts=row.thread_ts,
            update_ts=row.update_ts,
            user=row.user,
            payload=dict(row.payload),
            watch_id=row.watch_id,
            attempts=row.attempts,
            created_at=row.created_at,
            last_error=row.last_error,
        )

    @property
    def tag(self) -> dict[str, Any]:
        """The Slack message metadata naming this row."""
        return {"event_type": OUTBOX_EVENT, "event_payload": {"outbox_id": self.id}}

    @property
    def may_have_been_posted(self) -> bool:
        """An earlier attempt may have reached Slack: look before posting again."""
        return self.last_error == IN_FLIGHT_UNSURE


_CLAIMED_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.kind,
    OutboxMessage.stream,
    OutboxMessage.channel,
    OutboxMessage.thread_ts,
    OutboxMessage.update_ts,
    OutboxMessage.user,
    OutboxMessage.payload,
    OutboxMessage.watch_id,
    OutboxMessage.attempts,
    OutboxMessage.created_at,
    OutboxMessage.last_error,
)


@dataclass(frozen=True)
class _Outcome:
    row: _Claimed
    sent_ts: str | None = None
    error: str | None = None  # Slack's error code, when the delivery failed
    retry_after: float | None = None


class OutboxSender:
    """Delivers outbox rows through ``runtime.poster``. Tests call :meth:`run_once` directly."""

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
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._gauge_at = -math.inf
        self._purged_at = -math.inf

    # -- running --------------------------------------------------------------------------------

    def wake(self) -> None:
        """Something was enqueued: look now rather than at the next idle check."""
        self._wake.set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="outbox-sender")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                claimed = await self.run_once()
            except Exception:
                log.exception("outbox pass failed")
                claimed = 0
            if not claimed:
                await self._idle()

    async def _idle(self) -> None:
        clock = self.runtime.clock
        waiters = {
            asyncio.ensure_future(clock.sleep(self.idle_seconds)),
            asyncio.ensure_future(self._wake.wait()),
        }
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    # -- one pass -------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim what is due, deliver it, record how each went; returns how many were attempted."""
        claimed = await self._claim()
        if claimed:
            watches = await self._watch_targets({c.watch_id for c in claimed if c.watch_id is not None})
            outcomes = await asyncio.gather(*(self._deliver(c, watches.get(c.watch_id)) for c in claimed))
            await self._settle(outcomes)
        await self._refresh_gauge()
        await self._purge()
        return len(claimed)

    async def pending(self) -> int:
        async with self.runtime.db.session() as session:
            return (
                await session.execute(
                    select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
                )
            ).scalar_one()

    async def _claim(self) -> list[_Claimed]:
        """Lease the oldest due row of each channel this process may post to now.

        A row is eligible when it is due and the oldest pending row of its stream; of those, each
        channel's oldest is picked in SQL (``row_number() OVER (PARTITION BY channel)``), and the
        channels this process is holding back are left out in the WHERE clause, so a backlog in
        one channel never hides the others.
        """
        db, clock = self.runtime.db, self.runtime.clock
        now, tick = clock.now(), clock.monotonic()
        self._free_at = {c: t for c, t in self._free_at.items() if t > tick}
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
        if self._free_at:
            eligible = eligible.where(OutboxMessage.channel.not_in(list(self._free_at)))
        eligible = eligible.subquery()
        oldest_per_channel = (
            select(eligible.c.id).where(eligible.c.place == 1).order_by(eligible.c.id).limit(self.claim_limit)
        )
        # Leased only if still pending and due: another sender may have picked the same rows
        # (on PostgreSQL it skips the ones being leased; on SQLite the write lock serialises us).
        leasable = select(OutboxMessage.id).where(
            OutboxMessage.id.in_(oldest_per_channel),
            OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now,
        )
        if db.skip_locked:  # FOR UPDATE cannot sit next to a window function: lock in a CTE of its own
            leasable = leasable.with_for_update(skip_locked=True).cte("leasable").prefix_with("MATERIALIZED")
            target = OutboxMessage.id == leasable.c.id
        else:
            target = OutboxMessage.id.in_(leasable)
        lease = (
            update(OutboxMessage)
            .where(target)
            .values(
                next_attempt_at=now + self.lease,
                attempts=OutboxMessage.attempts + 1,
                last_error=case(  # the row's previous values: how its previous try ended
                    (
                        or_(OutboxMessage.attempts == 0, OutboxMessage.last_error.in_(NOT_POSTED)),
                        IN_FLIGHT,
                    ),
                    else_=IN_FLIGHT_UNSURE,
                ),
            )
            .returning(*_CLAIMED_COLUMNS)
            .execution_options(synchronize_session=False)
        )
        async with db.session() as session:
            rows = (await session.execute(lease)).all()
        claimed = sorted((_Claimed.of(r) for r in rows), key=lambda c: c.id)
        for row in claimed:
            self._free_at[row.channel] = tick + self.per_channel_interval
        return claimed

    async def _watch_targets(self, ids: set[int]) -> dict[int, tuple[str | None, str | None]]:
        """Each watch's thread and card ts, as they are now (posted by earlier rows)."""
        if not ids:
            return {}
        async with self.runtime.db.session() as session:
            rows = await session.execute(
                select(Watch.id, Watch.thread_ts, Watch.status_ts).where(Watch.id.in_(ids))
            )
            return {r.id: (r.thread_ts, r.status_ts) for r in rows}

    async def _deliver(self, row: _Claimed, target: tuple[str | None, str | None] | None) -> _Outcome:
        try:
            async with asyncio.timeout(DELIVERY_TIMEOUT_SECONDS):
                return await self._attempt(row, target)
        except PostError as exc:
            return _Outcome(row, error=exc.error, retry_after=exc.retry_after)
        except Exception as exc:  # a timeout, a network error, a bug in a poster: retry like an outage
            log.warning("outbox row %s: delivery raised %s", row.id, type(exc).__name__)
            return _Outcome(row, error=type(exc).__name__)

    async def _attempt(self, row: _Claimed, target: tuple[str | None, str | None] | None) -> _Outcome:
        poster = self.poster or self.runtime.poster
        if poster is None:
            raise PostError("no_poster")
        thread_ts, status_ts = target or (None, None)
        reply = Reply(text=row.payload.get("text", ""), blocks=list(row.payload.get("blocks") or []))
        reply.ephemeral = row.kind == "ephemeral"
        if row.kind in ("post", "parent", "reply"):
            if row.kind == "reply":
                thread_ts = row.thread_ts or thread_ts
            else:
                thread_ts = row.thread_ts
            if not isinstance(poster, TaggingPoster):
                return _Outcome(row, sent_ts=await poster.post(row.channel, reply, thread_ts=thread_ts))
            if row.may_have_been_posted:
                found = await self._posted_before(poster, row, thread_ts)
                if found is not None:
                    log.info("outbox row %s was posted by an earlier attempt (ts %s)", row.id, found)
                    return _Outcome(row, sent_ts=found)
            ts = await poster.post(row.channel, reply, thread_ts=thread_ts, metadata=row.tag)
            return _Outcome(row, sent_ts=ts)
        if row.kind == "update":  # an edit is the same edit however often it is made
            ts = row.update_ts or status_ts
            if ts is None:  # the card was never posted (Slack refused it): nothing to edit
                raise PostError("message_not_found")
            await poster.update(row.channel, ts, reply)
            return _Outcome(row, sent_ts=ts)
        # An ephemeral message cannot be looked up: a retry may show it twice, to one person.
        await poster.post_ephemeral(row.channel, row.user or "", reply)
        return _Outcome(row)

    async def _posted_before(self, poster: TaggingPoster, row: _Claimed, thread_ts: str | None) -> str | None:
        """The ts of this row's post if an earlier attempt made it; None if not, or if Slack
        cannot say (then posting again is the lesser evil: a message twice, never none)."""
        try:
            return await poster.find_posted(
                row.channel, row.tag, thread_ts=thread_ts, since=row.created_at - LOOKUP_MARGIN
            )
        except PostError as exc:
            if exc.error not in CANNOT_LOOK:  # Slack is busy or down: the post would fare no better
                raise PostError(LOOKUP_ERROR_PREFIX + exc.error, retry_after=exc.retry_after) from exc
            log.warning("outbox row %s: cannot look for an earlier post (%s)", row.id, exc.error)
            return None

    async def _settle(self, outcomes: Sequence[_Outcome]) -> None:
        """Record a pass in one transaction: sent rows marked (once), failed ones rescheduled."""
        clock = self.runtime.clock
        now = clock.now()
        notify = False
        async with self.runtime.db.session() as session:
            for outcome in outcomes:
                row, error = outcome.row, outcome.error
                if error is None:
                    await self._mark_sent(session, row, outcome.sent_ts, now)
                    continue
                if error in CHANNEL_ERRORS:
                    notify |= await self._channel_gone(session, row, error, now)
                    continue
                if error in MESSAGE_ERRORS:
                    log.warning("outbox row %s dropped: Slack answered %s", row.id, error)
                    values: dict[str, Any] = {"status": "failed", "last_error": error}
                else:
                    retry_after = outcome.retry_after
                    delay = retry_after if retry_after is not None else self._backoff(row.attempts)
                    if retry_after is not None:  # Slack asked this channel to wait; so do its other rows
                        self._free_at[row.channel] = max(
                            self._free_at.get(row.channel, -math.inf), clock.monotonic() + delay
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
        self, session: AsyncSession, row: _Claimed, sent_ts: str | None, now: datetime
    ) -> None:
        marked = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.status == "pending")
            # next_attempt_at: the lease is over; from now on it dates the row for the purge
            .values(status="sent", sent_at=now, sent_ts=sent_ts, last_error=None, next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        if marked.rowcount != 1:
            log.warning("outbox row %s was delivered but is no longer pending", row.id)
        if row.kind == "parent" and row.watch_id is not None and sent_ts is not None:
            await session.execute(
                update(Watch)
                .where(Watch.id == row.watch_id)
                .values(status_ts=sent_ts, thread_ts=func.coalesce(Watch.thread_ts, sent_ts))
                .execution_options(synchronize_session=False)
            )

    def _backoff(self, attempts: int) -> float:
        return min(self.max_retry_seconds, 2.0 ** min(attempts, 16))

    async def _channel_gone(self, session: AsyncSession, row: _Claimed, error: str, now: datetime) -> bool:
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
        if watch is None or watch.status != "active":
            return False
        watch.status = "paused"
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

    async def _purge(self) -> int:
        """Delete rows done with for longer than the retention (sent or superseded), a bounded
        number at a time; returns how many. ``next_attempt_at`` is when a sent row was delivered (a
        superseded one was never tried: its creation), and ``(status, next_attempt_at)`` is indexed."""
        tick = self.runtime.clock.monotonic()
        if tick - self._purged_at < PURGE_EVERY_SECONDS:
            return 0
        self._purged_at = tick
        cutoff = self.runtime.clock.now() - self.retention
        old = (
            select(OutboxMessage.id)
            .where(OutboxMessage.status.in_(DONE), OutboxMessage.next_attempt_at < cutoff)
            .limit(PURGE_LIMIT)
        )
        async with self.runtime.db.session() as session:
            deleted = await session.execute(
                delete(OutboxMessage)
                .where(OutboxMessage.id.in_(old))
                .execution_options(synchronize_session=False)
            )
        return deleted.rowcount

    async def _refresh_gauge(self) -> None:
        tick = self.runtime.clock.monotonic()
        if tick - self._gauge_at < PENDING_GAUGE_SECONDS:
            return
        self._gauge_at = tick
        metrics.outbox_pending.set(await self.pending())
