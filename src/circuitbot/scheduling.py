"""The one scheduler of a process: APScheduler 3's ``AsyncIOScheduler``, owning every periodic job.

The approvals executor and expiry, the watch tick, the outbox sender and purge (and the digests)
are jobs here; each engine adds its jobs when it starts and retires them when it stops.

Invariants and pitfalls:

* **The database is the source of truth.** Jobs live in APScheduler's in-memory job store (APScheduler
  3 cannot share a store between processes); what a job does is claimed row by row in the
  database, so any number of replicas may run the same jobs and each piece of work is done once.
* **Runs on the host's time.** APScheduler reads the wall clock. What a job finds due is decided
  by the runtime's clock inside the job, so tests call each job's coroutine on a ``FakeClock``
  instead of waiting for the scheduler.
* **One run at a time, never a pile.** Every job has ``max_instances=1`` and ``coalesce``; a run
  that comes due while the previous one is still going is not dropped: it is folded into the
  one under way, which goes round once more as soon as it ends. A ``wake`` (a new approval, a new
  watch, a new outbox row) brings the next run forward to now in the same way.
* **Stopping is bounded and leaves no claim.** ``retire`` takes a job off the schedule, lets the run
  under way finish within a bound (real time: the host's deadline), then cancels it. Cancelling
  happens on the job's own inner task, never on APScheduler's executor task, so a stop is not
  logged as a job failure; giving back what a cancelled run had claimed is the engine's part.
  ``AsyncIOScheduler.shutdown`` cancels running jobs outright, so it only comes after retiring.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

MISFIRE_GRACE_SECONDS = 60  # a run delayed longer than this (a host paused, a loop stalled) is skipped


class _FoldedRuns(logging.Filter):
    """APScheduler warns when a run comes due while the last is still going; here that run is
    folded into the one under way (``Scheduler._overlapped``), so it is not a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in str(record.msg)


_FOLDED_RUNS = _FoldedRuns()


@dataclass
class Job:
    """One periodic job: ``work`` is a plain coroutine function, run by the scheduler or by a test."""

    name: str
    work: Callable[[], Awaitable[Any]]
    runs: int = 0  # finished runs (each possibly going round more than once)
    again: bool = False  # woken or due while running: go round once more
    retired: bool = False
    _inner: asyncio.Task[Any] | None = None
    _waiters: list[asyncio.Future[None]] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self._inner is not None and not self._inner.done()

    async def run(self) -> None:
        """What APScheduler calls. A failing round is logged and the job goes on at its next run."""
        try:
            while True:
                self.again = False
                # A fresh context: APScheduler starts a run in the context of whatever woke it
                # (a Slack request's), and a job's logs must not carry that request's id.
                loop = asyncio.get_running_loop()
                self._inner = loop.create_task(self._round(), context=contextvars.Context())
                # wait() does not raise when the inner task is cancelled by retire(): APScheduler
                # sees a normal end, not an error to log with its traceback.
                await asyncio.wait({self._inner})
                if not self._inner.cancelled() and (error := self._inner.exception()) is not None:
                    log.error("job %s failed", self.name, exc_info=error)
                if not self.again or self.retired or self._inner.cancelled():
                    break
        finally:
            self._inner = None
            self.runs += 1
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def _round(self) -> Any:
        return await self.work()

    async def ran(self, count: int) -> None:
        """Wait until the job has finished ``count`` runs in all (``runs`` counts them)."""
        while self.runs < count and not self.retired:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter


class Scheduler:
    """The process's ``AsyncIOScheduler`` and its jobs, by name. Started by the first job added
    (inside the running event loop), shut down by ``shutdown`` when the runtime closes."""

    def __init__(self, misfire_grace_seconds: int = MISFIRE_GRACE_SECONDS) -> None:
        self._aps = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                "max_instances": 1,
                "coalesce": True,
                "misfire_grace_time": misfire_grace_seconds,
            },
        )
        self._aps.add_listener(self._overlapped, EVENT_JOB_MAX_INSTANCES)
        aps_log = logging.getLogger("apscheduler.scheduler")
        if _FOLDED_RUNS not in aps_log.filters:
            aps_log.addFilter(_FOLDED_RUNS)
        self.jobs: dict[str, Job] = {}

    # -- adding and waking ----------------------------------------------------------------------

    def every(
        self, name: str, seconds: float, work: Callable[[], Awaitable[Any]], *, now: bool = True
    ) -> Job:
        """Run ``work`` every ``seconds`` (start to start), the first time at once when ``now``."""
        return self.add(name, IntervalTrigger(seconds=seconds, timezone=UTC), work, now=now)

    def add(self, name: str, trigger: BaseTrigger, work: Callable[[], Awaitable[Any]], *, now: bool) -> Job:
        """Put ``work`` on ``trigger`` under ``name``, replacing a job of that name."""
        if not self._aps.running:
            self._aps.start()
        job = Job(name, work)
        self.jobs[name] = job
        first: dict[str, Any] = {"next_run_time": datetime.now(UTC)} if now else {}
        self._aps.add_job(job.run, trigger, id=name, name=name, replace_existing=True, **first)
        return job

    def once(self, name: str, work: Callable[[], Awaitable[Any]]) -> Job:
        """Run ``work`` once, now (e.g. following at start-up what a previous process left)."""
        if not self._aps.running:
            self._aps.start()
        job = Job(name, work)
        self.jobs[name] = job
        self._aps.add_job(
            job.run, "date", run_date=datetime.now(UTC), id=name, name=name, replace_existing=True
        )
        return job

    def wake(self, name: str) -> None:
        """Bring the job's next run forward to now; a run under way goes round once more instead."""
        job = self.jobs.get(name)
        if job is None or job.retired:
            return
        if job.running:
            job.again = True
            return
        with contextlib.suppress(LookupError):  # a one-off job that already ran
            self._aps.modify_job(name, next_run_time=datetime.now(UTC))

    def next_run(self, name: str) -> datetime | None:
        aps_job = self._aps.get_job(name) if self._aps.running else None
        return aps_job.next_run_time if aps_job is not None else None

    def _overlapped(self, event: JobSubmissionEvent) -> None:
        """A run came due while the last was still going: it follows that one at once."""
        job = self.jobs.get(event.job_id)
        if job is not None and not job.retired:
            log.debug("job %s came due while running: it goes round once more", job.name)
            job.again = True

    async def catch_up(self, bound_seconds: float) -> bool:
        """Wake every job and wait (``bound_seconds`` real seconds at most) until each has run since;
        True when all did. The shell's ``:wait`` after the clock moved."""
        jobs = [job for job in self.jobs.values() if not job.retired]
        before = {job.name: job.runs for job in jobs}
        for job in jobs:
            self.wake(job.name)

        async def all_ran() -> None:
            for job in jobs:
                if self._aps.get_job(job.name) is not None or job.running:  # not a one-off gone
                    await job.ran(before[job.name] + 1)

        try:
            await asyncio.wait_for(all_ran(), bound_seconds)
        except TimeoutError:
            return False
        return True

    # -- stopping -------------------------------------------------------------------------------

    async def retire(
        self,
        names: Iterable[str],
        grace_seconds: float,
        *,
        then: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        """Take the jobs off the schedule; let the runs under way, then ``then`` (a last flush),
        go on for at most ``grace_seconds`` (real time), and cancel what is left of them."""
        jobs = [job for name in names if (job := self.jobs.pop(name, None)) is not None]
        for job in jobs:
            job.retired = True
            with contextlib.suppress(LookupError):
                self._aps.remove_job(job.name)
            for waiter in job._waiters:  # nobody waits for a run that will not come
                if not waiter.done():
                    waiter.set_result(None)
        running = [job._inner for job in jobs if job._inner is not None and not job._inner.done()]

        async def finish() -> None:
            if running:
                await asyncio.wait(running)
            if then is not None:
                await then()

        last = asyncio.ensure_future(finish())
        try:
            await asyncio.wait({last}, timeout=grace_seconds)
        finally:
            for task in (*running, last):
                task.cancel()
            ended = await asyncio.gather(*running, last, return_exceptions=True)
        for outcome in ended[len(running) :]:  # the runs' own failures are their jobs' to log
            if isinstance(outcome, Exception):
                log.error("the last run before stopping failed", exc_info=outcome)

    async def shutdown(self, grace_seconds: float = 0.0) -> None:
        """Retire every job left, then stop APScheduler itself."""
        await self.retire(list(self.jobs), grace_seconds)
        if self._aps.running:
            self._aps.shutdown(wait=False)
