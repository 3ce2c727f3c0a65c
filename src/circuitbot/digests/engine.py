"""The digest engine: each digest is a job on the process's scheduler with APScheduler's
``CronTrigger``, and each of its occurrences is posted once across replicas.

Invariants and pitfalls:

* **One post per occurrence.** Posting inserts ``digest_posts(digest_id, occurrence)`` (its
  primary key) and the outbox row of the message in one transaction: a replica that fires the
  same occurrence loses on the key and posts nothing.
* **The occurrence comes from the runtime's clock.** A job's run asks which occurrence is the
  latest at or before ``clock.now()`` (its trigger's fire times), so the tests (and the shell
  after ``:clock``) call ``post_due`` on a moved clock; APScheduler only decides when to look.
  Occurrences missed while no process ran are coalesced: only the latest is posted, late, once
  (its header names the occurrence), as APScheduler's ``coalesce`` does for its jobs.
* **Replicas learn of digests from the table.** The sync job (every ``SYNC_SECONDS``) adds the
  jobs of digests made elsewhere and retires those removed; a process adds or retires its own
  at once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from circuitbot.digests import content
from circuitbot.store.tables import Digest, DigestPost
from circuitbot.watch.outbox import enqueue

if TYPE_CHECKING:
    from circuitbot.runtime import Runtime

log = logging.getLogger(__name__)

SYNC_JOB = "digests.sync"
SYNC_SECONDS = 60.0
STOP_GRACE_SECONDS = 5.0


def trigger(digest: Digest) -> CronTrigger:
    hour, minute = map(int, digest.at.split(":"))
    day = digest.day if digest.cadence == "weekly" else "*"
    return CronTrigger(day_of_week=day, hour=hour, minute=minute, timezone=ZoneInfo(digest.tz))


def latest_occurrence(digest: Digest, now: datetime) -> datetime | None:
    """The digest's latest occurrence at or before ``now`` (within the last eight days)."""
    cron, found = trigger(digest), None
    at = cron.get_next_fire_time(None, now - timedelta(days=8))
    while at is not None and at <= now:
        found = at
        at = cron.get_next_fire_time(at, at + timedelta(seconds=1))
    return found


def job_name(digest_id: int) -> str:
    return f"digest.{digest_id}"


class DigestEngine:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._started = False
        self._jobs: set[int] = set()  # digests with a job on the scheduler

    # -- jobs -----------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.runtime.scheduler.every(SYNC_JOB, SYNC_SECONDS, self.sync)

    async def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        if not self._started:
            return
        self._started = False
        names = [SYNC_JOB, *(job_name(d) for d in self._jobs)]
        self._jobs.clear()
        await self.runtime.scheduler.retire(names, grace_seconds)

    async def sync(self) -> None:
        """The sync job: a job for every active digest, none for the others. Only jobs that were
        there before the read can be found gone: a digest created here while the read was under
        way is not in it, and must keep the job its creation gave it."""
        known = set(self._jobs)
        async with self.runtime.db.session() as session:
            active = list(await session.scalars(select(Digest).where(Digest.active.is_(True))))
        for digest in active:
            self._schedule(digest)
        gone = known - {d.id for d in active}
        if gone:
            self._jobs -= gone
            await self.runtime.scheduler.retire([job_name(d) for d in gone], STOP_GRACE_SECONDS)

    def _schedule(self, digest: Digest) -> None:
        if not self._started or digest.id in self._jobs:
            return
        self._jobs.add(digest.id)
        digest_id = digest.id
        self.runtime.scheduler.add(
            job_name(digest_id), trigger(digest), lambda: self.post_due(digest_id), now=False
        )

    # -- posting --------------------------------------------------------------------------------

    async def post_due(self, digest_id: int | None = None) -> list[tuple[int, datetime]]:
        """Post the latest occurrence of each active digest (or of one) if it is due and not
        posted yet, here or by a replica; the (digest, occurrence) pairs this call posted."""
        now = self.runtime.clock.now()
        query = select(Digest).where(Digest.active.is_(True))
        if digest_id is not None:
            query = query.where(Digest.id == digest_id)
        async with self.runtime.db.session() as session:
            digests = list(await session.scalars(query))
        posted = []
        for digest in digests:
            occurrence = latest_occurrence(digest, now)
            if occurrence is None or occurrence < digest.created_at:
                continue
            if digest.last_occurrence is not None and occurrence <= digest.last_occurrence:
                continue
            if await self._post(digest, occurrence):
                posted.append((digest.id, occurrence))
        if posted and self.runtime.watches is not None:
            self.runtime.watches.sender.wake()
        return posted

    async def _post(self, digest: Digest, occurrence: datetime) -> bool:
        since = digest.last_occurrence or digest.created_at
        reply = await content.build(self.runtime, digest, occurrence, since)
        now = self.runtime.clock.now()
        try:
            async with self.runtime.db.session() as session:
                session.add(DigestPost(digest_id=digest.id, occurrence=occurrence, posted_at=now))
                await session.flush()  # the claim: a replica that got there first wins here
                await session.execute(
                    update(Digest).where(Digest.id == digest.id).values(last_occurrence=occurrence)
                )
                enqueue(session, kind="post", channel=digest.channel, reply=reply, at=now)
        except IntegrityError:
            return False
        log.info("digest %s posted for %s", digest.id, occurrence.isoformat())
        return True

    # -- the verbs' side ------------------------------------------------------------------------

    async def create(
        self, *, channel: str, cadence: str, day: str | None, at: str, tz: str, by: str
    ) -> Digest:
        now = self.runtime.clock.now()
        digest = Digest(
            channel=channel,
            cadence=cadence,
            day=day,
            at=at,
            tz=tz,
            created_by=by,
            created_at=now,
            active=True,
        )
        async with self.runtime.db.session() as session:
            session.add(digest)
        self._schedule(digest)
        return digest

    async def remove(self, digest_id: int) -> Digest | None:
        async with self.runtime.db.session() as session:
            digest = await session.get(Digest, digest_id)
            if digest is None or not digest.active:
                return None
            digest.active = False
        if digest_id in self._jobs:
            self._jobs.discard(digest_id)
            await self.runtime.scheduler.retire([job_name(digest_id)], STOP_GRACE_SECONDS)
        return digest

    async def list(self, channel: str | None = None) -> list[Digest]:
        query = select(Digest).where(Digest.active.is_(True)).order_by(Digest.id)
        if channel is not None:
            query = query.where(Digest.channel == channel)
        async with self.runtime.db.session() as session:
            return list(await session.scalars(query))

    def next_run(self, digest: Digest) -> datetime | None:
        return trigger(digest).get_next_fire_time(None, self.runtime.clock.now())
