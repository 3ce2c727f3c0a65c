"""The process's one scheduler (APScheduler's AsyncIOScheduler): wake-ups, one run at a time,
failures, and a bounded stop. Each test waits on events, with a real-time safety net only."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from circuitbot.context import correlated, correlation_id
from circuitbot.scheduling import Scheduler

HOUR = 3600.0


@pytest.fixture
async def scheduler():
    s = Scheduler()
    yield s
    await s.shutdown()


async def test_a_wake_brings_the_next_run_forward(scheduler: Scheduler) -> None:
    job = scheduler.every("job", HOUR, lambda: asyncio.sleep(0), now=False)
    scheduler.wake("job")
    await asyncio.wait_for(job.ran(1), 10)  # a safety net only: an hour is not waited for
    later = scheduler.next_run("job")
    assert later is not None and later - datetime.now(UTC) > timedelta(seconds=HOUR - 60), "on its beat"


async def test_a_wake_during_a_run_makes_it_go_round_once_more_never_twice_at_once(
    scheduler: Scheduler,
) -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    rounds, in_flight, most = [], 0, 0

    async def work() -> None:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        rounds.append(len(rounds))
        if len(rounds) == 1:
            entered.set()
            await release.wait()
        in_flight -= 1

    job = scheduler.every("job", HOUR, work)
    await asyncio.wait_for(entered.wait(), 10)
    scheduler.wake("job")
    scheduler.wake("job")  # folded into the same extra round
    release.set()
    await asyncio.wait_for(job.ran(1), 10)
    assert rounds == [0, 1] and most == 1


async def test_a_failing_run_is_logged_and_the_job_goes_on(scheduler: Scheduler, caplog) -> None:
    calls = 0

    async def work() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("boom")

    job = scheduler.every("job", HOUR, work)
    await asyncio.wait_for(job.ran(1), 10)
    scheduler.wake("job")
    await asyncio.wait_for(job.ran(2), 10)
    assert calls == 2
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == ["job job failed"]


async def test_retiring_lets_a_run_finish_within_the_grace_then_cancels_it_quietly(
    scheduler: Scheduler, caplog
) -> None:
    entered = asyncio.Event()
    finished: list[str] = []

    async def slow() -> None:
        entered.set()
        await asyncio.Event().wait()  # never ends by itself

    async def flush() -> None:
        finished.append("flushed")

    scheduler.every("slow", HOUR, slow)
    await asyncio.wait_for(entered.wait(), 10)
    await scheduler.retire(["slow"], 0.01, then=flush)

    assert scheduler.jobs == {} and scheduler.next_run("slow") is None
    assert finished == [], "the flush comes after the run, and the grace was over"
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == [], "a stop is not a failure"

    quick = scheduler.every("quick", HOUR, lambda: asyncio.sleep(0))
    await asyncio.wait_for(quick.ran(1), 10)
    await scheduler.retire(["quick"], 10, then=flush)
    assert finished == ["flushed"]


async def test_a_run_woken_from_a_request_does_not_carry_its_correlation_id(scheduler: Scheduler) -> None:
    seen: list[str | None] = []

    async def work() -> None:
        seen.append(correlation_id.get())

    job = scheduler.every("job", HOUR, work, now=False)
    with correlated("c-request"):
        scheduler.wake("job")
    await asyncio.wait_for(job.ran(1), 10)
    assert seen == [None]
