"""Test doubles for the watch room: an in-memory provider whose resources tests move through
states, and helpers that run the outbox and the poll loop on the fake clock. The poster that
records what reached "Slack" is ``support.poster.RecordingPoster``."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from typing import Any

from circuitbot.actions.registry import Registry
from circuitbot.chat import builtin
from circuitbot.clock import FakeClock
from circuitbot.providers.base import Snapshot
from circuitbot.runtime import Runtime
from circuitbot.store.db import Database
from circuitbot.watch import commands
from circuitbot.watch.engine import WatchEngine


class ProviderDown(Exception):
    """What the fake provider raises while it is made unreachable."""


class FakePoller:
    """A provider with resources in memory. ``resources[id]`` is the snapshot it reports."""

    def __init__(self, provider: str = "azure") -> None:
        self.provider = provider
        self.resources: dict[str, Snapshot] = {}
        self.down = False  # every read fails
        self.failing: set[str] = set()  # reads of these ids fail (the batch still answers the rest)
        self.many_calls: list[list[str]] = []
        self.one_calls: list[str] = []
        self.read: Counter[str] = Counter()  # id -> times it was read by a poll
        self.in_flight = 0
        self.max_in_flight = 0
        self.gate: asyncio.Barrier | None = None  # snapshot_one waits here: calls leave it together

    def set(self, resource_id: str, **fields: str) -> None:
        self.resources[resource_id] = dict(fields)

    def update(self, resource_id: str, **fields: str) -> None:
        self.resources[resource_id] = {**self.resources[resource_id], **fields}

    def reset_counts(self) -> None:
        self.many_calls.clear()
        self.one_calls.clear()
        self.read.clear()
        self.max_in_flight = 0

    async def _enter(self) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        for _ in range(3):  # stay in flight across a few loop turns, so overlapping calls show
            await asyncio.sleep(0)

    async def snapshot_many(self, resource_ids: Sequence[str]) -> dict[str, Snapshot | Exception | None]:
        self.many_calls.append(list(resource_ids))
        await self._enter()
        try:
            if self.down:
                raise ProviderDown(f"{self.provider} answered 503")
            out: dict[str, Snapshot | Exception | None] = {}
            for rid in resource_ids:
                self.read[rid] += 1
                if rid in self.failing:
                    out[rid] = ProviderDown(f"{rid}: 500")
                else:
                    found = self.resources.get(rid)
                    out[rid] = dict(found) if found is not None else None
            return out
        finally:
            self.in_flight -= 1

    async def snapshot_one(self, resource_id: str) -> Snapshot | None:
        self.one_calls.append(resource_id)
        if self.gate is not None:
            await self.gate.wait()
        await self._enter()
        try:
            if self.down or resource_id in self.failing:
                raise ProviderDown(f"{self.provider} answered 503")
            self.read[resource_id] += 1
            found = self.resources.get(resource_id)
            return dict(found) if found is not None else None
        finally:
            self.in_flight -= 1

    def describe(self, resource_id: str, snapshot: Snapshot | None) -> str:
        return f"circuit-{resource_id}"


class CaseInsensitivePoller(FakePoller):
    """A provider whose ids are case-insensitive (Azure's): it says how it spells them."""

    def normalize(self, resource_id: str) -> str:
        return resource_id.strip().lower()

    async def snapshot_one(self, resource_id: str) -> Snapshot | None:
        return await super().snapshot_one(self.normalize(resource_id))


async def drain(engine: Any, clock: FakeClock, *, step: float = 1.0, limit: int = 500) -> None:
    """Run the outbox sender until nothing is pending, moving the clock a step between passes."""
    for _ in range(limit):
        await engine.sender.run_once()
        if await engine.sender.pending() == 0:
            return
        await clock.advance(step)
    raise AssertionError("the outbox did not drain")


async def poll_when_due(engine: Any, clock: FakeClock, seconds: float) -> Any:
    """Move the clock on and run one tick."""
    await clock.advance(seconds)
    return await engine.tick()


def make_runtime(settings: Any, db: Database, clock: FakeClock, poller: FakePoller, poster: Any) -> Runtime:
    """A runtime as a front end builds it, with the fake provider and poster and no approvals."""
    registry = Registry()
    builtin.register(registry)
    commands.register(registry)
    runtime = Runtime(settings=settings, db=db, registry=registry, clock=clock, poster=poster)
    runtime.pollers = {poller.provider: poller}
    runtime.watches = WatchEngine(runtime)
    return runtime
