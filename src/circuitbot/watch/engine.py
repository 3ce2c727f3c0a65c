"""The watch engine: follows resources and turns each change into Slack messages, exactly once.

A tick claims the due watches (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, pushing their next
poll time forward in the same transaction so no other replica polls them), reads them grouped by
provider with a bounded number of calls in flight, and compares each answer with the stored
snapshot. A difference is a transition: the new snapshot, the transition row and its outbox
messages are written in one transaction, guarded by the watch's version so a poll that outlived
its claim cannot record it twice. Intervals adapt: fast while something is in flight, slow when
stable, backing off after provider errors. A terminal state is announced and ends the watch.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Row, func, insert, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from circuitbot import metrics
from circuitbot.actions.registry import OperationError, WatchTarget
from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply
from circuitbot.logs import scrub
from circuitbot.providers.base import (
    Poller,
    Snapshot,
    is_transitional,
    normalize_resource_id,
    snapshot_of,
    terminal_state,
)
from circuitbot.store.tables import Watch, WatchTransition
from circuitbot.watch import messages
from circuitbot.watch.outbox import OutboxSender, enqueue, enqueue_many, outbox_row, supersede_card_updates
from circuitbot.watch.poll import Result, poll
from circuitbot.watch.snapshots import Change, changed_only, diff, summary

if TYPE_CHECKING:
    from circuitbot.runtime import Runtime
    from circuitbot.settings import WatchSettings

log = logging.getLogger(__name__)

LEASE_SECONDS = 120.0  # a claimed watch is not due again for this long, unless its poll finishes
UNREACHABLE_AFTER = 3  # consecutive failed polls before "unreachable" is announced
LIVE = ("active", "paused")
ID_CHUNK = 500  # ids per IN (…) list
START_ATTEMPTS = 3  # rounds of ``watch`` racing other calls: the second finds what the first made

_T = TypeVar("_T")


@dataclass(frozen=True)
class WatchInfo:
    """A watch as callers see it."""

    id: int
    provider: str
    resource_id: str
    label: str
    channel: str
    thread_ts: str | None
    status: str
    status_reason: str | None
    snapshot: Snapshot
    next_poll_at: datetime
    unreachable: bool
    created_by: str
    request_id: str | None = None
    created: bool = False  # this call started it (rather than finding it already watched)

    @classmethod
    def of(cls, row: Watch, *, created: bool = False) -> WatchInfo:
        return cls(
            id=row.id,
            provider=row.provider,
            resource_id=row.resource_id,
            label=row.label or row.resource_id,
            channel=row.channel,
            thread_ts=row.thread_ts,
            status=row.status,
            status_reason=row.status_reason,
            snapshot=dict(row.snapshot or {}),
            next_poll_at=row.next_poll_at,
            unreachable=row.unreachable,
            created_by=row.created_by,
            request_id=row.request_id,
            created=created,
        )


@dataclass
class TickReport:
    """What one tick did (for logs and benchmarks)."""

    claimed: int = 0
    resources: int = 0  # distinct resources read
    calls: collections.Counter[str] = field(default_factory=collections.Counter)  # provider -> calls
    transitions: int = 0
    errors: int = 0
    ended: int = 0
    messages: int = 0  # outbox rows written


@dataclass(frozen=True)
class _Start:
    """What ``watch`` was asked to follow, and where."""

    provider: str
    resource_id: str
    label: str
    channel: str
    thread_ts: str | None
    created_by: str
    request_id: str | None


@dataclass
class _News:
    """What to say about one watch: replies in its thread, and its card's new state."""

    watch: _Due
    replies: list[Reply]
    snapshot: Snapshot
    status: str
    transition: dict[str, Any] | None = None  # the watch_transitions row of the change


class _StartedMeanwhile(Exception):
    """Another call resumed the paused watch this one was about to resume."""


@dataclass(frozen=True)
class _Due:
    """A claimed watch: what its poll needs to know."""

    id: int
    provider: str
    resource_id: str
    label: str
    channel: str
    thread_ts: str | None
    snapshot: Snapshot
    version: int
    error_count: int
    unreachable: bool

    @classmethod
    def of(cls, row: Watch | Row[Any]) -> _Due:
        """From a Watch, or a row RETURNING the same columns (see ``_DUE_COLUMNS``)."""
        return cls(
            id=row.id,
            provider=row.provider,
            resource_id=row.resource_id,
            label=row.label or row.resource_id,
            channel=row.channel,
            thread_ts=row.thread_ts,
            snapshot=dict(row.snapshot or {}),
            version=row.version,
            error_count=row.error_count,
            unreachable=row.unreachable,
        )


_DUE_COLUMNS = (
    Watch.id,
    Watch.provider,
    Watch.resource_id,
    Watch.label,
    Watch.channel,
    Watch.thread_ts,
    Watch.snapshot,
    Watch.version,
    Watch.error_count,
    Watch.unreachable,
)


# Polls with nothing to record, written in bulk: the values to set -> the (id, version) claimed.
_Quiet = dict[tuple[tuple[str, Any], ...], list[tuple[int, int]]]


class WatchEngine:
    def __init__(
        self,
        runtime: Runtime,
        *,
        sender: OutboxSender | None = None,
        unreachable_after: int = UNREACHABLE_AFTER,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.runtime = runtime
        self.sender = sender or OutboxSender(runtime)
        self.unreachable_after = unreachable_after
        self.lease = timedelta(seconds=lease_seconds)
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._ticker: asyncio.Task[None] | None = None

    @property
    def settings(self) -> WatchSettings:
        return self.runtime.settings.watch

    @property
    def pollers(self) -> dict[str, Poller]:
        return getattr(self.runtime, "pollers", None) or {}

    def poller(self, provider: str) -> Poller:
        try:
            return self.pollers[provider]
        except KeyError:
            known = ", ".join(sorted(self.pollers)) or "none configured"
            raise OperationError(f"{provider} resources cannot be watched (watchable: {known})") from None

    def _limit(self, provider: str) -> asyncio.Semaphore:
        if provider not in self._limits:
            self._limits[provider] = asyncio.Semaphore(self.settings.provider_concurrency)
        return self._limits[provider]

    # -- running in the background ----------------------------------------------------------------

    async def start(self) -> None:
        """Tick every ``settings.watch.tick_seconds`` (on the runtime's clock) in this process, and
        deliver the outbox."""
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick_forever(), name="watch-ticks")
        await self.sender.start()

    async def stop(self) -> None:
        ticker, self._ticker = self._ticker, None
        if ticker is not None:  # a round cut short leaves its leases to expire: polled again, no more
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        await self.sender.stop()

    async def _tick_forever(self) -> None:
        """One tick at a time, on a beat of ``tick_seconds`` from start to start (a long tick is
        followed at once by the next, never by a pile of them)."""
        clock = self.runtime.clock
        while True:
            started = clock.monotonic()
            await self._scheduled_tick()
            await clock.sleep(max(0.0, self.settings.tick_seconds - (clock.monotonic() - started)))

    async def _scheduled_tick(self) -> None:
        try:
            report = await self.tick()
        except Exception:
            log.exception("watch tick failed")
            return
        if report.claimed:
            log.info(
                "watch tick: %d claimed, %d transitions, %d errors, %d ended",
                report.claimed,
                report.transitions,
                report.errors,
                report.ended,
            )

    # -- following and unfollowing ----------------------------------------------------------------

    async def watch(
        self,
        target: WatchTarget,
        channel: str,
        *,
        thread_ts: str | None = None,
        created_by: str,
        request_id: str | None = None,
    ) -> WatchInfo:
        """Follow a resource on a channel (in ``thread_ts`` when given: an approval's thread).

        The resource must exist at its provider. Watching what is already watched on that
        channel returns the existing watch, also when another call (a double click, another
        replica) starts it at the same moment; a paused one (its channel was unusable) resumes.
        """
        poller = self.poller(target.provider)
        resource_id = normalize_resource_id(poller, target.resource_id)
        try:
            snapshot = await poller.snapshot_one(resource_id)
        except OperationError:
            raise
        except Exception as exc:
            reason = scrub(str(exc)) or type(exc).__name__
            raise OperationError(f"could not read {target.provider} {resource_id}: {reason}") from exc
        if snapshot is None:
            raise OperationError(f"{target.provider} has no `{resource_id}` to watch")
        snapshot = snapshot_of(snapshot)
        ended = terminal_state(snapshot)
        if ended is not None:
            raise OperationError(f"{target.provider} `{resource_id}` is already {ended}")
        label = bk.clip(target.label or poller.describe(resource_id, snapshot), 255)
        start = _Start(target.provider, resource_id, label, channel, thread_ts, created_by, request_id)
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                info = await self._start(start, snapshot)
            except (IntegrityError, _StartedMeanwhile):
                if attempt == START_ATTEMPTS:
                    raise
                continue  # another call started or resumed it meanwhile: the next round finds it
            if info.created:
                self.sender.wake()
            return info
        raise AssertionError("unreachable")

    async def _start(self, start: _Start, snapshot: Snapshot) -> WatchInfo:
        """One round of ``watch``: the live watch if there is one, else a new or resumed watch and
        its card. Raises IntegrityError or _StartedMeanwhile when another call got there first."""
        now = self.runtime.clock.now()
        async with self.runtime.db.session() as session:
            query = (
                select(Watch)
                .where(
                    Watch.provider == start.provider,
                    Watch.resource_id == start.resource_id,
                    Watch.channel == start.channel,
                    Watch.status.in_(LIVE),
                )
                .order_by(Watch.id)
                .limit(1)
            )
            if self.runtime.db.skip_locked:
                query = query.with_for_update()
            row = (await session.execute(query)).scalar_one_or_none()
            if row is not None and row.status == "active":
                return WatchInfo.of(row)
            values = {
                "label": start.label,
                "thread_ts": start.thread_ts,
                "status_ts": None,
                "created_by": start.created_by,
                "request_id": start.request_id,
                "snapshot": snapshot,
                "status": "active",
                "status_reason": None,
                "next_poll_at": now + self._interval(snapshot),
                "error_count": 0,
                "unreachable": False,
                "updated_at": now,
            }
            if row is None:  # the unique index on live watches stops a second insert
                row = Watch(
                    provider=start.provider,
                    resource_id=start.resource_id,
                    channel=start.channel,
                    created_at=now,
                    version=0,
                    **values,
                )
                session.add(row)
                await session.flush()
            else:  # resume a paused watch with a fresh card, unless another call just did
                resumed = await session.execute(
                    update(Watch)
                    .where(Watch.id == row.id, Watch.status == "paused", Watch.version == row.version)
                    .values(version=row.version + 1, **values)
                    .execution_options(synchronize_session=False)
                )
                if resumed.rowcount != 1:
                    raise _StartedMeanwhile
                await session.refresh(row)
            enqueue(
                session,
                kind="parent",
                channel=start.channel,
                thread_ts=start.thread_ts,
                watch_id=row.id,
                request_id=start.request_id,
                at=now,
                reply=messages.card(
                    provider=row.provider,
                    resource_id=row.resource_id,
                    label=start.label,
                    snapshot=snapshot,
                    status=self._status_line(snapshot),
                ),
            )
        return WatchInfo.of(row, created=True)

    async def unwatch(self, provider: str, resource: str, channel: str, *, by: str) -> list[WatchInfo]:
        """Stop following ``resource`` (its id or label) on a channel; says so in its thread."""
        poller = self.pollers.get(provider)
        resource_id = normalize_resource_id(poller, resource) if poller else resource.strip()
        now = self.runtime.clock.now()
        async with self.runtime.db.session() as session:
            query = select(Watch).where(
                Watch.provider == provider,
                or_(Watch.resource_id == resource_id, Watch.label == resource.strip()),
                Watch.channel == channel,
                Watch.status.in_(LIVE),
            )
            if self.runtime.db.skip_locked:
                query = query.with_for_update()
            rows = (await session.execute(query)).scalars().all()
            if not rows:
                raise OperationError(f"`{resource}` at {provider} is not watched in <#{channel}>")
            news = []
            for row in rows:
                was_active = row.status == "active"
                row.status, row.status_reason = "ended", f"stopped by {by}"
                row.version += 1  # a poll in flight must not record a change any more
                row.updated_at = now
                if was_active:
                    label = row.label or row.resource_id
                    status = f"no longer watched (stopped by <@{by}>)"
                    stopped = messages.stopped(row.provider, label, by)
                    news.append(_News(_Due.of(row), [stopped], dict(row.snapshot or {}), status))
            await self._announce(session, news, at=now)
        self.sender.wake()
        return [WatchInfo.of(row) for row in rows]

    async def list(self, channel: str | None = None) -> list[WatchInfo]:
        """What is followed (active or paused), in one channel or everywhere."""
        query = select(Watch).where(Watch.status.in_(LIVE))
        if channel is not None:
            query = query.where(Watch.channel == channel)
        async with self.runtime.db.session() as session:
            rows = (
                (await session.execute(query.order_by(Watch.channel, Watch.provider, Watch.label)))
                .scalars()
                .all()
            )
        return [WatchInfo.of(row) for row in rows]

    # -- polling ----------------------------------------------------------------------------------

    async def tick(self) -> TickReport:
        """Poll every watch due now, a round at a time: claim, read, record; until none is left.

        A round is what every provider can read at once: ``batch_size`` ids a call,
        ``provider_concurrency`` calls in flight per provider. Rounds are claimed by provider
        and resource, so a resource watched from several channels is read once, and a provider
        with N due resources gets ceil(N / batch_size) batch calls.
        """
        report = TickReport()
        # What becomes due while this tick runs waits for the next. It is also when this tick's
        # watches count as claimed: each is due again its interval after it, not after its read,
        # so a watch polled every tick_seconds does not slip to every second tick.
        cutoff = self.runtime.clock.now()
        for poller in self.pollers.values():
            # a poller sharing one listing among its batches must not answer this tick from the last
            begin_sweep = getattr(poller, "begin_sweep", None)
            if callable(begin_sweep):
                begin_sweep()
        watch = self.settings
        round_size = watch.batch_size * watch.provider_concurrency * max(1, len(self.pollers))
        while True:
            due = await self._claim(cutoff, round_size)
            report.claimed += len(due)
            if due:
                results = await self._read(due, report)
                await self._record(due, results, report, claimed_at=cutoff)
            if len(due) < round_size:
                break
        if report.messages:
            self.sender.wake()
        return report

    async def _claim(self, cutoff: datetime, limit: int) -> list[_Due]:
        """Take up to ``limit`` due watches and lease them, in one statement.

        On PostgreSQL, ``WITH c AS MATERIALIZED (SELECT … FOR UPDATE SKIP LOCKED) UPDATE … FROM c``:
        replicas skip each other's rows, and the CTE is evaluated once (the planner may run an
        ``IN (subquery)`` again, locking and leasing more than ``limit`` rows). On SQLite the
        single ``UPDATE … WHERE id IN (…)`` is atomic on its own.
        """
        db = self.runtime.db
        due = (
            select(Watch.id)
            .where(Watch.status == "active", Watch.next_poll_at <= cutoff)
            .order_by(Watch.provider, Watch.resource_id, Watch.id)
            .limit(limit)
        )
        claim = update(Watch).values(next_poll_at=self.runtime.clock.now() + self.lease)
        if db.skip_locked:
            chosen = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
            claim = claim.where(Watch.id == chosen.c.id)
        else:
            claim = claim.where(Watch.id.in_(due))
        claim = claim.returning(*_DUE_COLUMNS).execution_options(synchronize_session=False)
        async with db.session() as session:
            rows = (await session.execute(claim)).all()
        # RETURNING keeps no order
        return sorted((_Due.of(r) for r in rows), key=lambda d: (d.provider, d.resource_id, d.id))

    async def _read(self, due: Sequence[_Due], report: TickReport) -> dict[tuple[str, str], Result]:
        """Every claimed resource read once (several channels may watch one), per provider at once."""
        wanted: dict[str, dict[str, None]] = collections.defaultdict(dict)  # ordered sets
        for watch in due:
            wanted[watch.provider][watch.resource_id] = None

        async def one_provider(provider: str, ids: list[str]) -> dict[tuple[str, str], Result]:
            poller = self.pollers.get(provider)
            if poller is None:
                missing = OperationError(f"{provider} is not configured")
                return {(provider, r): missing for r in ids}
            results, calls = await poll(
                poller,
                ids,
                strategy=self.settings.strategy,
                batch_size=self.settings.batch_size,
                limit=self._limit(provider),
            )
            report.calls[provider] += calls
            return {(provider, r): result for r, result in results.items()}

        merged: dict[tuple[str, str], Result] = {}
        parts = await asyncio.gather(*(one_provider(p, list(ids)) for p, ids in wanted.items()))
        for part in parts:
            merged.update(part)
        report.resources += len(merged)
        return merged

    async def _record(
        self,
        due: Sequence[_Due],
        results: dict[tuple[str, str], Result],
        report: TickReport,
        *,
        claimed_at: datetime,
    ) -> None:
        """Write what the reads found, in one transaction; the next polls are scheduled from
        ``claimed_at``.

        Quiet rows are written in bulk; a change costs one compare-and-set on its watch, and the
        rest (transition rows, card timelines, superseded card edits, outbox rows) is written for
        every change of the round at once, so a mass event costs a few statements more, not a
        few per watch.
        """
        now = self.runtime.clock.now()
        quiet: _Quiet = collections.defaultdict(list)
        news: list[_News] = []
        outcomes: collections.Counter[tuple[str, str]] = collections.Counter()
        async with self.runtime.db.session() as session:
            for watch in due:
                result = results[(watch.provider, watch.resource_id)]
                if isinstance(result, Exception):
                    outcomes[(watch.provider, "error")] += 1
                    report.errors += 1
                    news += await self._failed_poll(session, watch, result, now, quiet, claimed_at=claimed_at)
                    continue
                outcomes[(watch.provider, "ok" if result is not None else "gone")] += 1
                changes = diff(watch.snapshot, result) if result is not None else []
                ended = terminal_state(result) if result is not None else "gone"
                if not changes and not watch.unreachable and ended is None:
                    values: dict[str, Any] = {"next_poll_at": claimed_at + self._interval(result)}
                    if watch.error_count:
                        values["error_count"] = 0
                    quiet[tuple(sorted(values.items()))].append((watch.id, watch.version))
                    continue
                news += await self._changed(
                    session, watch, result, changes, ended, now, report, claimed_at=claimed_at
                )
            for values, claimed in quiet.items():
                for chunk in _chunks(claimed):
                    # Only rows nobody wrote since the claim: a poll that outlived its lease must
                    # not reset what another replica recorded meanwhile (its errors, its schedule).
                    await session.execute(
                        update(Watch)
                        .where(tuple_(Watch.id, Watch.version).in_(chunk), Watch.status == "active")
                        .values(version=Watch.version + 1, updated_at=now, **dict(values))
                        .execution_options(synchronize_session=False)
                    )
            report.messages += await self._announce(session, news, at=now)
        for (provider, outcome), count in outcomes.items():
            metrics.polls.labels(provider, outcome).inc(count)

    async def _changed(
        self,
        session: AsyncSession,
        watch: _Due,
        snapshot: Snapshot | None,
        changes: list[Change],
        ended: str | None,
        now: datetime,
        report: TickReport,
        *,
        claimed_at: datetime,
    ) -> list[_News]:
        """A transition (or a recovery, or an end): the watch written now, what to say about it
        returned (written with the round's other news)."""
        current = snapshot if snapshot is not None else watch.snapshot
        values: dict[str, Any] = {
            "snapshot": current,
            "error_count": 0,
            "unreachable": False,
            "next_poll_at": claimed_at + self._interval(current),
        }
        if ended is not None:
            values["status"] = "ended"
            values["status_reason"] = "no longer exists" if snapshot is None else f"reached {ended}"
        if not await self._compare_and_set(session, watch, values, now):
            return []
        replies = []
        transition = None
        if watch.unreachable:
            replies.append(messages.recovered(watch.provider, watch.label))
        if snapshot is None:
            line = "no longer exists"
            transition = _transition(watch, now, watch.snapshot, {}, line)
            replies.append(messages.gone(watch.provider, watch.label))
            report.transitions += 1
        elif changes:
            old, new = changed_only(changes)
            line = summary(changes)
            transition = _transition(watch, now, old, new, line)
            replies.append(messages.changed(watch.provider, watch.label, changes))
            report.transitions += 1
        if snapshot is not None and ended is not None:
            replies.append(messages.ended(watch.provider, watch.label, ended))
        if ended is not None:
            report.ended += 1
            status = "ended: no longer exists" if snapshot is None else f"ended: reached {ended}"
        else:
            status = self._status_line(current)
        if changes or snapshot is None:
            metrics.transitions.labels(watch.provider).inc()
        return [_News(watch, replies, current, status, transition)]

    async def _failed_poll(
        self,
        session: AsyncSession,
        watch: _Due,
        error: Exception,
        now: datetime,
        quiet: _Quiet,
        *,
        claimed_at: datetime,
    ) -> list[_News]:
        """Back off (from the claim, as every schedule); say "unreachable" once, when the errors
        have lasted, not at every tick."""
        errors = watch.error_count + 1
        delay = min(
            self.settings.max_backoff_seconds, self.settings.fast_interval_seconds * 2 ** (errors - 1)
        )
        next_poll_at = claimed_at + timedelta(seconds=delay)
        log.info(
            "watch %s: reading %s %s failed (%s), attempt %d",
            watch.id,
            watch.provider,
            watch.resource_id,
            type(error).__name__,
            errors,
        )
        if watch.unreachable or errors < self.unreachable_after:
            quiet[(("error_count", errors), ("next_poll_at", next_poll_at))].append((watch.id, watch.version))
            return []
        values = {"error_count": errors, "unreachable": True, "next_poll_at": next_poll_at}
        if not await self._compare_and_set(session, watch, values, now):
            return []
        error_text = str(error) or type(error).__name__
        reply = messages.unreachable(watch.provider, watch.label, error_text, delay)
        status = f"unreachable since {messages.when(now)}; retrying with backoff"
        return [_News(watch, [reply], watch.snapshot, status)]

    async def _compare_and_set(
        self, session: AsyncSession, watch: _Due, values: dict[str, Any], now: datetime
    ) -> bool:
        """Write only if nobody recorded anything since this watch was claimed."""
        written = await session.execute(
            update(Watch)
            .where(Watch.id == watch.id, Watch.version == watch.version, Watch.status == "active")
            .values(version=watch.version + 1, updated_at=now, **values)
            .execution_options(synchronize_session=False)
        )
        return written.rowcount == 1

    async def _announce(self, session: AsyncSession, news: Sequence[_News], *, at: datetime) -> int:
        """Each watch's transition row, its replies in its thread, then its card brought up to date
        with its latest timeline; how many outbox rows that was. A fixed number of statements
        for any number of watches (the inserts go out as multi-row statements)."""
        if not news:
            return 0
        transitions = [n.transition for n in news if n.transition is not None]
        if transitions:  # before the timelines are read: the new transitions belong in them
            await session.execute(insert(WatchTransition), transitions)
        ids = [n.watch.id for n in news]
        timelines = await _timelines(session, ids)
        await supersede_card_updates(session, ids)
        rows = []
        for item in news:
            watch = item.watch
            for reply in item.replies:
                rows.append(
                    outbox_row(
                        kind="reply",
                        channel=watch.channel,
                        thread_ts=watch.thread_ts,
                        watch_id=watch.id,
                        reply=reply,
                        at=at,
                    )
                )
            card = messages.card(
                provider=watch.provider,
                resource_id=watch.resource_id,
                label=watch.label,
                snapshot=item.snapshot,
                status=item.status,
                timeline=timelines.get(watch.id, []),
            )
            rows.append(
                outbox_row(kind="update", channel=watch.channel, watch_id=watch.id, reply=card, at=at)
            )
        await enqueue_many(session, rows)
        return len(rows)

    # -- intervals --------------------------------------------------------------------------------

    def _interval(self, snapshot: Snapshot | None) -> timedelta:
        seconds = (
            self.settings.fast_interval_seconds
            if is_transitional(snapshot)
            else self.settings.slow_interval_seconds
        )
        return timedelta(seconds=seconds)

    def _status_line(self, snapshot: Snapshot | None) -> str:
        if is_transitional(snapshot):
            return f"changing; checking every {_duration(self.settings.fast_interval_seconds)}"
        return f"stable; checking every {_duration(self.settings.slow_interval_seconds)}"


def _transition(watch: _Due, at: datetime, old: Snapshot, new: Snapshot, line: str) -> dict[str, Any]:
    return {"watch_id": watch.id, "at": at, "old": old, "new": new, "summary": line}


async def _timelines(session: AsyncSession, watch_ids: list[int]) -> dict[int, list[tuple[datetime, str]]]:
    """The latest transitions of each watch (oldest first), for its card: one query per chunk."""
    timelines: dict[int, list[tuple[datetime, str]]] = collections.defaultdict(list)
    for chunk in _chunks(watch_ids):
        ranked = (
            select(
                WatchTransition.watch_id,
                WatchTransition.at,
                WatchTransition.summary,
                func.row_number()
                .over(partition_by=WatchTransition.watch_id, order_by=WatchTransition.id.desc())
                .label("place"),
            )
            .where(WatchTransition.watch_id.in_(chunk))
            .subquery()
        )
        rows = await session.execute(
            select(ranked.c.watch_id, ranked.c.at, ranked.c.summary)
            .where(ranked.c.place <= messages.TIMELINE_ENTRIES)
            .order_by(ranked.c.watch_id, ranked.c.place.desc())
        )
        for row in rows:
            timelines[row.watch_id].append((row.at, row.summary))
    return timelines


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


def _chunks(items: list[_T]) -> list[list[_T]]:
    return [items[n : n + ID_CHUNK] for n in range(0, len(items), ID_CHUNK)]
