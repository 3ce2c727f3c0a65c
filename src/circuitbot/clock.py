"""Time as a dependency.

Everything that waits or schedules (simulators, watches, approval expiry, retries) takes a
Clock, so tests move time forward instead of sleeping.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

# Loop turns ``run_until`` gives ready work before it decides that only the clock can help.
_SETTLE_TURNS = 5


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ShiftedClock(SystemClock):
    """The host's clock, moved forward on request: the sandbox shell's ``:clock +2h`` shows what
    a change window or a digest does without waiting for it. Only ``now`` moves (what is due);
    waits and ``monotonic`` stay real, and the clock never goes back."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def shift(self, by: timedelta) -> None:
        if by < timedelta(0):
            raise ValueError("the clock only moves forward")
        self.offset += by


class NeverFinished(RuntimeError):
    """``FakeClock.run_until`` gave up: the awaitable cannot finish however far time moves."""


class FakeClock:
    """A clock that only moves when a test says so.

    ``sleep`` parks the caller until ``advance`` carries the clock past its deadline, so code
    that retries or polls runs at full speed in tests with no real waiting.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._elapsed = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        # futures run_until waits on, resolved when anything starts sleeping on this clock
        self._sleep_watchers: list[asyncio.Future[None]] = []

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._elapsed

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._elapsed + seconds, next(self._seq), future))
        for watcher in self._sleep_watchers:
            if not watcher.done():
                watcher.set_result(None)
        self._sleep_watchers.clear()
        await future

    @property
    def sleepers(self) -> int:
        """How many coroutines are parked in ``sleep`` right now."""
        return sum(1 for _, _, f in self._sleepers if not f.done())

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking every sleeper whose deadline has passed, in order."""
        target = self._elapsed + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            self._set(deadline)
            if not future.done():
                future.set_result(None)
            # let the woken coroutine run (and perhaps sleep again) before moving on
            for _ in range(5):
                await asyncio.sleep(0)
        self._set(target)
        for _ in range(5):
            await asyncio.sleep(0)

    def _set(self, elapsed: float) -> None:
        self._now += timedelta(seconds=elapsed - self._elapsed)
        self._elapsed = elapsed

    async def run_until(
        self,
        awaitable: Awaitable[T],
        *,
        step: float = 1.0,
        max_steps: int = 10_000,
        stall_seconds: float = 5.0,
    ) -> T:
        """Run ``awaitable`` to its end, moving time ``step`` seconds whenever only time can help.

        Time moves once everything ready has had its turn and something sleeps on this clock,
        so code that retries, polls or backs off runs as in production with no real waiting.
        While nothing sleeps on the clock the awaitable is waiting on real I/O (a socket, a
        database thread): that is awaited as it is, and ``stall_seconds`` of real time is only
        ever reached by a test that would otherwise hang. The awaitable's own exception
        propagates; ``NeverFinished`` is raised after ``max_steps`` moves or such a stall.
        """
        task = asyncio.ensure_future(awaitable)
        try:
            for _ in range(max_steps):
                await self._settle(task, stall_seconds)
                if task.done():
                    return task.result()
                await self.advance(step)
            raise NeverFinished(f"not finished after the clock moved {max_steps} times by {step} s")
        finally:
            if not task.done():
                task.cancel()

    async def _settle(self, task: asyncio.Future[T], stall_seconds: float) -> None:
        """Return once ``task`` is done, or once ready work has run and something sleeps here."""
        while True:
            for _ in range(_SETTLE_TURNS):
                await asyncio.sleep(0)
            if task.done() or self.sleepers:
                return
            someone_sleeps: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._sleep_watchers.append(someone_sleeps)
            either: set[asyncio.Future[Any]] = {task, someone_sleeps}
            try:
                done, _ = await asyncio.wait(
                    either, timeout=stall_seconds, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                someone_sleeps.cancel()
            if not done:
                raise NeverFinished(f"nothing happened for {stall_seconds} s and nothing sleeps on the clock")
