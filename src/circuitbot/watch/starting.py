"""Starting a watch: one round of ``WatchEngine.watch`` against the database.

A round finds the live watch of the resource on the channel (locking it on PostgreSQL) and, if
it is active, returns it. Otherwise it inserts a new watch, or resumes the paused one, and
enqueues its card, all in one transaction. Another call (a double click, another replica) may
get there first: the unique index on live watches stops a second insert (IntegrityError), and a
resume is a compare-and-set on the paused row's version (StartedMeanwhile). Either way the
caller runs another round, which finds what the other call made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from circuitbot.providers.base import Snapshot
from circuitbot.store.db import rows_changed
from circuitbot.store.tables import Watch
from circuitbot.watch import messages
from circuitbot.watch.model import WatchInfo
from circuitbot.watch.outbox import enqueue
from circuitbot.watch.schedule import Schedule
from circuitbot.watch.status import LIVE, WatchStatus

if TYPE_CHECKING:
    from circuitbot.runtime import Runtime


@dataclass(frozen=True)
class StartRequest:
    """What ``watch`` was asked to follow, and where."""

    provider: str
    resource_id: str
    label: str
    channel: str
    thread_ts: str | None
    created_by: str
    request_id: str | None


class StartedMeanwhile(Exception):
    """Another call resumed the paused watch this one was about to resume."""


async def start_round(
    runtime: Runtime, schedule: Schedule, start: StartRequest, snapshot: Snapshot
) -> WatchInfo:
    """The live watch if there is one, else a new or resumed watch and its card. Raises
    IntegrityError or StartedMeanwhile when another call got there first."""
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        row = await _live_watch(runtime, session, start)
        if row is not None and row.status == WatchStatus.ACTIVE:
            # Followed again after a change (enable, then terminate): poll at once when the fresh
            # read differs from what the watch holds, else as soon as its states ask, rather than
            # at the slow pace the watch kept while nothing moved.
            due = now if snapshot != row.snapshot else now + schedule.interval(start.provider, snapshot)
            await session.execute(
                update(Watch).where(Watch.id == row.id, Watch.next_poll_at > due).values(next_poll_at=due)
            )
            return WatchInfo.of(row)
        values = {
            "label": start.label,
            "thread_ts": start.thread_ts,
            "status_ts": None,
            "created_by": start.created_by,
            "request_id": start.request_id,
            "snapshot": snapshot,
            "status_reason": None,
            "next_poll_at": now + schedule.interval(start.provider, snapshot),
            "error_count": 0,
            "unreachable": False,
            "updated_at": now,
        }
        if row is None:
            row = await _insert(session, start, values, now)
        else:
            await _resume(session, row, values)
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
                status=schedule.status_line(start.provider, snapshot),
            ),
        )
    return WatchInfo.of(row, created=True)


async def _live_watch(runtime: Runtime, session: AsyncSession, start: StartRequest) -> Watch | None:
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
    if runtime.db.skip_locked:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def _insert(session: AsyncSession, start: StartRequest, values: dict[str, Any], now: datetime) -> Watch:
    """A new active watch; the unique index on live watches stops a second one."""
    row = Watch(
        provider=start.provider,
        resource_id=start.resource_id,
        channel=start.channel,
        created_at=now,
        version=0,
        status=WatchStatus.ACTIVE,
        **values,
    )
    session.add(row)
    await session.flush()
    return row


async def _resume(session: AsyncSession, row: Watch, values: dict[str, Any]) -> None:
    """The paused watch active again with a fresh card, unless another call just resumed it."""
    resumed = await rows_changed(
        session,
        update(Watch)
        .where(Watch.id == row.id, Watch.status == WatchStatus.PAUSED, Watch.version == row.version)
        .values(version=row.version + 1, status=WatchStatus.PAUSED.become(WatchStatus.ACTIVE), **values)
        .execution_options(synchronize_session=False),
    )
    if resumed != 1:
        raise StartedMeanwhile
    await session.refresh(row)
