"""FakeClock.run_until: awaitables that wait on the fake clock run to their end at once."""

from __future__ import annotations

import asyncio

import pytest

from circuitbot.clock import FakeClock, NeverFinished


async def test_run_until_completes_a_coroutine_that_sleeps_on_the_clock(clock: FakeClock) -> None:
    woke_at: list[float] = []

    async def poll_three_times() -> str:
        for _ in range(3):
            await clock.sleep(30)
            woke_at.append(clock.monotonic())
        return "done"

    assert await clock.run_until(poll_three_times(), step=10) == "done"
    assert woke_at == [30, 60, 90]


async def test_run_until_moves_time_only_while_the_awaitable_waits_on_it(clock: FakeClock) -> None:
    async def no_sleeping() -> int:
        for _ in range(20):
            await asyncio.sleep(0)
        return 7

    assert await clock.run_until(no_sleeping()) == 7
    assert clock.monotonic() == 0


async def test_run_until_waits_for_work_that_is_not_on_the_clock(clock: FakeClock) -> None:
    """A database thread or a socket: nothing sleeps on the clock, so time stays put."""

    async def then_sleep() -> float:
        await asyncio.to_thread(sum, range(1000))
        await clock.sleep(5)
        return clock.monotonic()

    assert await clock.run_until(then_sleep()) == 5


async def test_run_until_raises_the_awaitables_own_exception(clock: FakeClock) -> None:
    async def fails_after_a_retry() -> None:
        await clock.sleep(2)
        raise LookupError("no such circuit")

    with pytest.raises(LookupError, match="no such circuit"):
        await clock.run_until(fails_after_a_retry())


async def test_run_until_gives_up_on_an_awaitable_that_sleeps_forever(clock: FakeClock) -> None:
    async def forever() -> None:
        while True:
            await clock.sleep(1)

    task = asyncio.ensure_future(forever())
    with pytest.raises(NeverFinished, match="moved 50 times"):
        await clock.run_until(task, max_steps=50)
    assert clock.monotonic() == 50
    await asyncio.sleep(0)
    assert task.cancelled()


async def test_run_until_gives_up_when_nothing_can_ever_happen(clock: FakeClock) -> None:
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    with pytest.raises(NeverFinished, match="nothing sleeps on the clock"):
        await clock.run_until(never, stall_seconds=0.01)
