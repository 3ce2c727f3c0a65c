"""The watch engine: follows resources and turns each change into Slack messages, exactly once.

A tick claims the due watches (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, pushing their next
poll time forward in the same transaction so no other replica polls them), reads them grouped by
provider with a bounded number of calls in flight, and compares each answer with the stored
snapshot (``watch.record``). A difference is a transition: the new snapshot, the transition row
and its outbox messages are written in one transaction, guarded by the watch's version so a poll
that outlived its claim cannot record it twice. Intervals adapt (``watch.schedule``): fast while
something is in flight by the provider's state vocabulary, slow when stable, backing off after
provider errors. A terminal state is announced and ends the watch.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from circuitbot import metrics
from circuitbot.actions.registry import OperationError, WatchTarget
from circuitbot.chat import blocks as bk
from circuitbot.context import doing
from circuitbot.logs import scrub
from circuitbot.providers.base import Poller, SweepingPoller, normalize_resource_id, snapshot_of
from circuitbot.store.db import rows_changed
from circuitbot.store.tables import Watch
from circuitbot.watch import messages
from circuitbot.watch.announce import News, announce
from circuitbot.watch.model import DUE_COLUMNS, WATCHES, Due, TickReport, WatchInfo, chunks
from circuitbot.watch.poll import Result, poll
from circuitbot.watch.record import Recorder
from circuitbot.watch.schedule import Schedule
from circuitbot.watch.sender import OutboxSender
from circuitbot.watch.starting import StartedMeanwhile, StartRequest, start_round
from circuitbot.watch.status import LIVE, WatchStatus

if TYPE_CHECKING:
    from circuitbot.runtime import Runtime
    from circuitbot.settings import WatchSettings

log = logging.getLogger(__name__)

LEASE_SECONDS = 120.0  # a claimed watch is not due again for this long, unless its poll finishes
TICK_JOB = "watch.tick"
STOP_GRACE_SECONDS = 10.0  # a round under way at stop may finish within this
UNREACHABLE_AFTER = 3  # consecutive failed polls before "unreachable" is announced
# Rounds a provider has claimed and being read while an older one waits to be recorded: enough
# to claim 10,000 watches while their listing loads, few enough to hold little memory and lease.
ROUNDS_AHEAD = 4
CLAIM_SLICE = 250  # claimed rows read between turns of the event loop
START_ATTEMPTS = 3  # rounds of ``watch`` racing other calls: the second finds what the first made


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
        self.schedule = Schedule(runtime)
        self.recorder = Recorder(runtime, self.schedule, unreachable_after=unreachable_after)
        self.lease = timedelta(seconds=lease_seconds)
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._started = False
        self._stopping = asyncio.Event()
        # the rounds claimed and not yet recorded, oldest first: their ids, leased until
        self._rounds: collections.deque[tuple[list[int], datetime]] = collections.deque()

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
        """Put the tick on the runtime's scheduler, every ``settings.watch.tick_seconds`` (start to
        start; a long tick is followed at once by the next, never by a pile of them), and start
        delivering the outbox."""
        if not self._started:
            self._started = True
            self.runtime.scheduler.every(TICK_JOB, self.settings.tick_seconds, self.scheduled_tick)
        await self.sender.start()

    def wake(self) -> None:
        """A watch was started or resumed: tick now rather than at the next beat."""
        self.runtime.scheduler.wake(TICK_JOB)

    async def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        """Stop polling, then the outbox (which first delivers what is due, within its bound).

        No new round is claimed; the rounds under way (claimed, being read) may finish within
        ``grace_seconds`` (real time: the host's deadline). Those cut short give their claims
        back, due at once, so another replica or the next start polls them now rather than after
        the lease.
        """
        if self._started:
            self._started = False
            self._stopping.set()
            try:
                await self.runtime.scheduler.retire([TICK_JOB], grace_seconds)
            finally:
                self._stopping.clear()
            await self._release_rounds()
        await self.sender.stop()

    async def _release_rounds(self) -> None:
        """Give back the claims of rounds cut short: each watch due now, unless its poll was
        recorded meanwhile (then its next poll time is no longer the lease's)."""
        held, self._rounds = self._rounds, collections.deque()
        if not held:
            return
        released = 0
        async with self.runtime.db.session() as session:
            for ids, leased_until in held:
                for part in chunks(ids):
                    claimed = (Watch.id.in_(part), Watch.next_poll_at == leased_until)
                    released += await rows_changed(
                        session, update(Watch).where(*claimed).values(next_poll_at=self.runtime.clock.now())
                    )
        log.info("stopping: %d claimed watch(es) given back, due now", released)

    async def scheduled_tick(self) -> None:
        """The tick job: one ``tick``, logged and counted; a failure waits for the next."""
        started = time.perf_counter()
        try:
            with doing("watch.poll"):  # the tick's provider calls are counted under it
                report = await self.tick()
        except Exception:
            log.exception("watch tick failed")
            return
        metrics.sweep_resources.set(report.claimed)
        if report.claimed:
            metrics.sweep_seconds.observe(time.perf_counter() - started)
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
            raise OperationError(
                f"could not read {target.provider} {bk.code(resource_id)}: {bk.escape(reason)}"
            ) from exc
        if snapshot is None:
            raise OperationError(f"{target.provider} has no {bk.code(resource_id)} to watch")
        snapshot = snapshot_of(snapshot)
        ended = self.runtime.vocabulary(target.provider).terminal_state(snapshot)
        if ended is not None:
            raise OperationError(f"{target.provider} {bk.code(resource_id)} is already {bk.escape(ended)}")
        label = bk.clip(target.label or poller.describe(resource_id, snapshot), 255)
        start = StartRequest(target.provider, resource_id, label, channel, thread_ts, created_by, request_id)
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                info = await start_round(self.runtime, self.schedule, start, snapshot)
            except (IntegrityError, StartedMeanwhile):
                if attempt == START_ATTEMPTS:
                    raise
                continue  # another call started or resumed it meanwhile: the next round finds it
            if info.created:
                self.sender.wake()
            else:
                self.wake()  # followed again after a change: it may be due at once
            return info
        raise AssertionError("unreachable")

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
                raise OperationError(f"{bk.code(resource)} at {provider} is not watched in <#{channel}>")
            news = []
            for row in rows:
                was_active = row.status == WatchStatus.ACTIVE
                row.status = WatchStatus(row.status).become(WatchStatus.ENDED)
                row.status_reason = f"stopped by {by}"
                row.version += 1  # a poll in flight must not record a change any more
                row.updated_at = now
                if was_active:
                    label = row.label or row.resource_id
                    status = f"no longer watched (stopped by <@{by}>)"
                    stopped = messages.stopped(row.provider, label, by)
                    news.append(News(Due.of(row), [stopped], dict(row.snapshot or {}), status))
            await announce(session, news, at=now)
        self.sender.wake()
        return [WatchInfo.of(row) for row in rows]

    async def list_watches(
        self, channel: str | None = None, *, created_by: str | None = None
    ) -> list[WatchInfo]:
        """What is followed (active or paused), in one channel or everywhere, by anyone or by
        ``created_by``."""
        query = select(Watch).where(Watch.status.in_(LIVE))
        if channel is not None:
            query = query.where(Watch.channel == channel)
        if created_by is not None:
            query = query.where(Watch.created_by == created_by)
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

        A round is one provider's: ``batch_size`` ids a call, ``provider_concurrency`` calls in
        flight. The providers take turns, so each one's reads (and the listing its rounds share)
        start at the beginning of the tick rather than after the providers before it. A round
        is claimed by resource, so a resource watched from several channels is read once, and a
        provider with N due resources gets ceil(N / batch_size) batch calls.

        Rounds overlap: each round's read starts as soon as it is claimed, and while the oldest
        read is still waiting (on a listing, on pages) the next rounds are claimed and their
        reads started, up to ``ROUNDS_AHEAD`` a provider; rounds are recorded one at a time, in
        the order claimed. Each provider's first round is one batch, so its reads start after a
        short claim rather than a round's.
        """
        report = TickReport()
        # What becomes due while this tick runs waits for the next. It is also when this tick's
        # watches count as claimed: each is due again its interval after it, not after its read,
        # so a watch polled every tick_seconds does not slip to every second tick.
        cutoff = self.runtime.clock.now()
        for poller in self.pollers.values():
            # a poller sharing one listing among its batches must not answer this tick from the last
            if isinstance(poller, SweepingPoller):
                poller.begin_sweep()
        watch = self.settings
        lanes = self._lanes()  # claimed in turn; a lane drops out once it has no more due
        sizes = dict.fromkeys(range(len(lanes)), watch.batch_size)
        turns = collections.deque(range(len(lanes)))
        most_ahead = ROUNDS_AHEAD * max(1, len(self.pollers))
        ahead: collections.deque[tuple[list[Due], asyncio.Task[dict[tuple[str, str], Result]]]]
        ahead = collections.deque()
        self._rounds.clear()  # a tick that failed left its rounds leased: due again after the lease
        try:
            while True:
                while turns and len(ahead) < most_ahead and not self._stopping.is_set():
                    if ahead and ahead[0][1].done():
                        break  # the oldest read is in: record it before claiming more
                    lane = turns.popleft()
                    due = await self._claim(cutoff, sizes[lane], lanes[lane])
                    report.claimed += len(due)
                    if len(due) == sizes[lane]:
                        turns.append(lane)  # more may be due
                    sizes[lane] = watch.batch_size * watch.provider_concurrency
                    if due:
                        ahead.append((due, asyncio.create_task(self._read(due, report))))
                if not ahead:
                    break
                due, reading = ahead.popleft()
                await self.recorder.record(due, await reading, report, claimed_at=cutoff)
                self._rounds.popleft()
        finally:
            for _, reading in ahead:
                reading.cancel()
        if report.messages:
            self.sender.wake()
        return report

    def _lanes(self) -> list[ColumnElement[bool]]:
        """Who takes turns in a tick's claims: each configured provider, then the watches of any
        other (they are read as errors: nobody can poll them)."""
        provider = WATCHES.c.provider
        return [provider == name for name in self.pollers] + [provider.not_in(list(self.pollers))]

    async def _claim(
        self, cutoff: datetime, limit: int, lane: ColumnElement[bool] | None = None
    ) -> list[Due]:
        """Take up to ``limit`` due watches (of ``lane``, or any) and lease them, in one statement.

        On PostgreSQL, ``WITH c AS MATERIALIZED (SELECT … FOR UPDATE SKIP LOCKED) UPDATE … FROM c``:
        replicas skip each other's rows, and the CTE is evaluated once (the planner may run an
        ``IN (subquery)`` again, locking and leasing more than ``limit`` rows). On SQLite the
        single ``UPDATE … WHERE id IN (…)`` is atomic on its own.
        """
        db = self.runtime.db
        table = WATCHES  # Core, not the ORM: no ORM bookkeeping for thousands of returned rows
        due = (
            select(table.c.id)
            .where(
                table.c.status == WatchStatus.ACTIVE,
                table.c.next_poll_at <= cutoff,
                lane if lane is not None else true(),
            )
            .order_by(table.c.provider, table.c.resource_id, table.c.id)
            .limit(limit)
        )
        leased_until = self.runtime.clock.now() + self.lease
        claim = update(table).values(next_poll_at=leased_until)
        if db.skip_locked:
            chosen = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
            claim = claim.where(table.c.id == chosen.c.id)
        else:
            claim = claim.where(table.c.id.in_(due))
        claim = claim.returning(*(table.c[name] for name in DUE_COLUMNS))
        async with db.session() as session:
            result = await session.execute(claim)  # fetched, then committed
        # The rows are read (their snapshots decoded) a slice at a time, letting the loop turn in
        # between: the listing the earlier rounds wait for goes on meanwhile.
        claimed: list[Due] = []
        try:
            for rows in result.partitions(CLAIM_SLICE):
                claimed += map(Due.of, rows)
                await asyncio.sleep(0)
        finally:  # cut short (a stop), the rest at once: every claim is known, to give it back
            claimed += map(Due.of, result)
            if claimed:
                self._rounds.append(([due.id for due in claimed], leased_until))
        claimed.sort(key=lambda d: (d.provider, d.resource_id, d.id))  # RETURNING keeps no order
        return claimed

    async def _read(self, due: Sequence[Due], report: TickReport) -> dict[tuple[str, str], Result]:
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
