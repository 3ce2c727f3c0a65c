"""Recording what a round of polls found, exactly once.

Each claimed watch is compared with the answer its resource got. A quiet poll (nothing changed,
nothing to say) only moves the watch's schedule; such rows are written in bulk. A difference is
a transition: the new snapshot, the transition row and its outbox messages are written in one
transaction, guarded by the watch's version (a compare-and-set), so a poll that outlived its
claim cannot record it twice nor undo what another replica recorded meanwhile. A terminal state
of the resource, or the resource gone, is announced and ends the watch. Errors back off, and
"unreachable" is said once, when they have lasted.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, bindparam, column, update
from sqlalchemy import values as sa_values
from sqlalchemy.ext.asyncio import AsyncSession

from circuitbot import metrics
from circuitbot.providers.base import Snapshot
from circuitbot.store.db import rows_changed
from circuitbot.watch import messages
from circuitbot.watch.announce import News, announce, transition_row
from circuitbot.watch.model import WATCHES, Due, TickReport, chunks
from circuitbot.watch.poll import Result
from circuitbot.watch.schedule import Schedule
from circuitbot.watch.snapshots import Change, changed_only, diff, summary
from circuitbot.watch.status import WatchStatus

if TYPE_CHECKING:
    from circuitbot.runtime import Runtime

log = logging.getLogger(__name__)

# Polls with nothing to record, written in bulk: the values to set -> the (id, version) claimed.
_Quiet = dict[tuple[tuple[str, Any], ...], list[tuple[int, int]]]
_QUIET: tuple[tuple[str, Any], ...] = ()
_QUIET_RESET: tuple[tuple[str, Any], ...] = (("error_count", 0),)  # an error before, not now
# (provider, a snapshot's items) -> (its terminal state, its next poll)
_Verdicts = dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str | None, datetime]]


@dataclass(frozen=True)
class _Change:
    """A poll that found something to record: what it read, and the values to write."""

    watch: Due
    snapshot: Snapshot | None  # None: the resource is gone
    changes: list[Change]
    ended: str | None
    values: dict[str, Any]


class Recorder:
    """Writes a round's results; ``unreachable_after`` consecutive failed polls are announced."""

    def __init__(self, runtime: Runtime, schedule: Schedule, *, unreachable_after: int) -> None:
        self.runtime = runtime
        self.schedule = schedule
        self.unreachable_after = unreachable_after

    async def record(
        self,
        due: Sequence[Due],
        results: dict[tuple[str, str], Result],
        report: TickReport,
        *,
        claimed_at: datetime,
    ) -> None:
        """Write what the reads found, in one transaction; the next polls are scheduled from
        ``claimed_at``.

        Quiet rows are written in bulk; the changes' compare-and-sets are one statement a round
        (each row guarded by its own claimed version, the rows written returned), and the rest
        (transition rows, card timelines, superseded card edits, outbox rows) is written for
        every change of the round at once, so a mass event costs no statement more per watch.
        """
        now = self.runtime.clock.now()
        quiet: _Quiet = collections.defaultdict(list)
        news: list[News] = []
        changed: list[_Change] = []
        outcomes: collections.Counter[tuple[str, str]] = collections.Counter()
        verdicts: _Verdicts = {}
        async with self.runtime.db.session() as session:
            for watch in due:
                result = results[(watch.provider, watch.resource_id)]
                if isinstance(result, Exception):
                    outcomes[(watch.provider, "error")] += 1
                    report.errors += 1
                    news += await self._failed_poll(session, watch, result, now, quiet, claimed_at=claimed_at)
                    continue
                outcomes[(watch.provider, "ok" if result is not None else "gone")] += 1
                if result is not None and result == watch.snapshot and not watch.unreachable:
                    # the common case, nothing to say: only the schedule moves, with the others'
                    ended, next_poll_at = self._verdict(watch.provider, result, verdicts, claimed_at)
                    if ended is None:
                        key = _QUIET_RESET if watch.error_count else _QUIET
                        quiet[(*key, ("next_poll_at", next_poll_at))].append((watch.id, watch.version))
                        continue
                change = self._answered(watch, result, quiet, claimed_at=claimed_at)
                if change is not None:
                    changed.append(change)
            await self._write_quiet(session, quiet, now)
            written = await _compare_and_set_many(session, [(c.watch, c.values) for c in changed], now)
            news += [self._news(c, now, report) for c in changed if c.watch.id in written]
            report.messages += await announce(session, news, at=now)
        for (provider, outcome), count in outcomes.items():
            metrics.polls.labels(provider, outcome).inc(count)

    def _verdict(
        self, provider: str, snapshot: Snapshot, verdicts: _Verdicts, claimed_at: datetime
    ) -> tuple[str | None, datetime]:
        """The terminal state ``snapshot`` reads as, and the next poll it gets: the same for every
        watch in that state, so worked out once a round (a sweep sees a handful of states)."""
        key = (provider, tuple(snapshot.items()))
        verdict = verdicts.get(key)
        if verdict is None:
            ended = self.runtime.vocabulary(provider).terminal_state(snapshot)
            verdict = verdicts[key] = (ended, claimed_at + self.schedule.interval(provider, snapshot))
        return verdict

    def _answered(
        self, watch: Due, result: Snapshot | None, quiet: _Quiet, *, claimed_at: datetime
    ) -> _Change | None:
        """A poll that got an answer (a snapshot, or None: the resource is gone): the change to
        write, or None when it was quiet after all (its schedule then moves with the others')."""
        vocabulary = self.runtime.vocabulary(watch.provider)
        changes = diff(watch.snapshot, result) if result is not None else []
        ended = vocabulary.terminal_state(result) if result is not None else "gone"
        if changes or watch.unreachable or ended is not None:
            return self._change(watch, result, changes, ended, claimed_at=claimed_at)
        values: dict[str, Any] = {"next_poll_at": claimed_at + self.schedule.interval(watch.provider, result)}
        if watch.error_count:
            values["error_count"] = 0
        quiet[tuple(sorted(values.items()))].append((watch.id, watch.version))
        return None

    async def _write_quiet(self, session: AsyncSession, quiet: _Quiet, now: datetime) -> None:
        table = WATCHES
        for values, claimed in quiet.items():
            # Only rows nobody wrote since the claim: a poll that outlived its lease must not
            # reset what another replica recorded meanwhile (its errors, its schedule). One
            # statement run for every row (executemany): compiling an IN of 10,000 (id, version)
            # pairs cost more than the writes.
            statement = (
                update(table)
                .where(
                    table.c.id == bindparam("claimed_id"),
                    table.c.version == bindparam("claimed_version"),
                    table.c.status == WatchStatus.ACTIVE,
                )
                .values(version=table.c.version + 1, updated_at=now, **dict(values))
            )
            for chunk in chunks(claimed):
                await session.execute(
                    statement, [{"claimed_id": id_, "claimed_version": version} for id_, version in chunk]
                )

    def _change(
        self,
        watch: Due,
        snapshot: Snapshot | None,
        changes: list[Change],
        ended: str | None,
        *,
        claimed_at: datetime,
    ) -> _Change:
        """A transition (or a recovery, or an end): the values its watch is to be written with."""
        current = snapshot if snapshot is not None else watch.snapshot
        values: dict[str, Any] = {
            "snapshot": current,
            "error_count": 0,
            "unreachable": False,
            "next_poll_at": claimed_at + self.schedule.interval(watch.provider, current),
        }
        if ended is not None:
            values["status"] = WatchStatus.ACTIVE.become(WatchStatus.ENDED)  # only active rows are set
            values["status_reason"] = "no longer exists" if snapshot is None else f"reached {ended}"
        return _Change(watch, snapshot, changes, ended, values)

    def _news(self, change: _Change, now: datetime, report: TickReport) -> News:
        """What to say about a change its compare-and-set wrote (written with the round's other
        news)."""
        watch, snapshot, changes, ended = change.watch, change.snapshot, change.changes, change.ended
        current = change.values["snapshot"]
        replies = [messages.recovered(watch.provider, watch.label)] if watch.unreachable else []
        transition = None
        if snapshot is None:
            transition = transition_row(watch, now, watch.snapshot, {}, "no longer exists")
            replies.append(messages.gone(watch.provider, watch.label))
        elif changes:
            old, new = changed_only(changes)
            transition = transition_row(watch, now, old, new, summary(changes))
            replies.append(messages.changed(watch.provider, watch.label, changes))
        if transition is not None:
            report.transitions += 1
            metrics.transitions.labels(watch.provider).inc()
        if snapshot is not None and ended is not None:
            replies.append(messages.ended(watch.provider, watch.label, ended))
        if ended is not None:
            report.ended += 1
            status = "ended: no longer exists" if snapshot is None else f"ended: reached {ended}"
        else:
            status = self.schedule.status_line(watch.provider, current)
        return News(watch, replies, current, status, transition)

    async def _failed_poll(
        self,
        session: AsyncSession,
        watch: Due,
        error: Exception,
        now: datetime,
        quiet: _Quiet,
        *,
        claimed_at: datetime,
    ) -> list[News]:
        """Back off (from the claim, as every schedule); say "unreachable" once, when the errors
        have lasted, not at every tick."""
        errors = watch.error_count + 1
        delay = self.schedule.backoff_seconds(errors)
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
        if not await _compare_and_set(session, watch, values, now):
            return []
        error_text = str(error) or type(error).__name__
        reply = messages.unreachable(watch.provider, watch.label, error_text, delay)
        status = f"unreachable since {messages.when(now)}; retrying with backoff"
        return [News(watch, [reply], watch.snapshot, status)]


async def _compare_and_set(session: AsyncSession, watch: Due, values: dict[str, Any], now: datetime) -> bool:
    """Write only if nobody recorded anything since this watch was claimed (and it is active)."""
    written = await rows_changed(
        session,
        update(WATCHES)
        .where(
            WATCHES.c.id == watch.id,
            WATCHES.c.version == watch.version,
            WATCHES.c.status == WatchStatus.ACTIVE,
        )
        .values(version=watch.version + 1, updated_at=now, **values),
    )
    return written == 1


async def _compare_and_set_many(
    session: AsyncSession, writes: Sequence[tuple[Due, dict[str, Any]]], now: datetime
) -> set[int]:
    """:func:`_compare_and_set` for many watches, in a statement for each set of columns (and
    chunk): ``WITH claimed(…) AS (VALUES …) UPDATE … FROM claimed``, each row guarded by its own
    claimed version, ``RETURNING`` the ids it wrote. The watches written, by id."""
    table = WATCHES
    by_columns: dict[tuple[str, ...], list[tuple[Due, dict[str, Any]]]] = collections.defaultdict(list)
    for watch, values in writes:
        by_columns[tuple(sorted(values))].append((watch, values))
    written: set[int] = set()
    for names, group in by_columns.items():
        columns = [column("claimed_id", Integer), column("claimed_version", Integer)]
        columns += [column(name, table.c[name].type) for name in names]
        for chunk in chunks(group):
            rows = [(watch.id, watch.version, *(values[n] for n in names)) for watch, values in chunk]
            claimed = sa_values(*columns, name="claimed").data(rows).cte("claimed")
            statement = (
                update(table)
                .where(
                    table.c.id == claimed.c.claimed_id,
                    table.c.version == claimed.c.claimed_version,
                    table.c.status == WatchStatus.ACTIVE,
                )
                .values(version=table.c.version + 1, updated_at=now, **{n: claimed.c[n] for n in names})
                .returning(table.c.id)
            )
            written.update(await session.scalars(statement))
    return written
