"""Confirming a write whose answer was lost by reading the resource back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import pytest

from circuitbot.clock import FakeClock
from circuitbot.providers.kit.confirm import Confirmation, Outcome, confirm_write

T = TypeVar("T")


class Resource:
    """What each read finds, in turn (the last answer repeats); None is an absent resource."""

    def __init__(self, *states: str | None) -> None:
        self.states = list(states)
        self.reads = 0

    async def read(self) -> str | None:
        self.reads += 1
        return self.states[min(self.reads, len(self.states)) - 1]


def has_vlan(found: str | None) -> bool:
    return found is not None and "vlan=300" in found


def updating(found: str) -> bool:
    return found.endswith("updating")


async def run(clock: FakeClock, awaitable: Awaitable[T]) -> T:
    """Run ``awaitable``, moving the clock only while it sleeps."""
    task = asyncio.ensure_future(awaitable)
    for _ in range(1000):
        if task.done():
            return task.result()
        if clock.sleepers:
            await clock.advance(1)
        else:
            await asyncio.sleep(0)
    raise AssertionError("never finished")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def test_a_change_not_in_place_is_not_visible(clock: FakeClock) -> None:
    resource = Resource("vlan=200 succeeded")
    confirmation = await confirm_write(resource.read, has_vlan, settling=updating, clock=clock)
    assert confirmation == Confirmation(Outcome.NOT_VISIBLE, "vlan=200 succeeded")
    assert resource.reads == 1  # nothing waited for


async def test_a_change_in_place_is_applied_at_once_without_settling(clock: FakeClock) -> None:
    resource = Resource("vlan=300 updating")
    confirmation = await confirm_write(resource.read, has_vlan, clock=clock)
    assert confirmation == Confirmation(Outcome.APPLIED, "vlan=300 updating")
    assert resource.reads == 1


async def test_a_change_in_place_is_read_until_it_settles(clock: FakeClock) -> None:
    resource = Resource("vlan=300 updating", "vlan=300 updating", "vlan=300 succeeded")
    confirmation = await run(
        clock, confirm_write(resource.read, has_vlan, settling=updating, clock=clock, poll_interval=10)
    )
    assert confirmation == Confirmation(Outcome.APPLIED, "vlan=300 succeeded")
    assert (resource.reads, clock.monotonic()) == (3, 20)


async def test_a_change_that_never_settles_runs_out_of_time(clock: FakeClock) -> None:
    resource = Resource("vlan=300 updating")
    confirmation = await run(
        clock,
        confirm_write(
            resource.read, has_vlan, settling=updating, clock=clock, poll_interval=10, settle_within=30
        ),
    )
    assert confirmation == Confirmation(Outcome.STILL_SETTLING, "vlan=300 updating")
    assert (resource.reads, clock.monotonic()) == (4, 30)


async def test_a_delete_in_place_ends_when_the_resource_is_gone(clock: FakeClock) -> None:
    resource = Resource("deleting", None)

    def deleted(found: str | None) -> bool:
        return found is None or found == "deleting"

    confirmation = await run(
        clock,
        confirm_write(
            resource.read, deleted, settling=lambda found: found == "deleting", clock=clock, poll_interval=5
        ),
    )
    assert confirmation == Confirmation(Outcome.APPLIED, None)
    assert resource.reads == 2
