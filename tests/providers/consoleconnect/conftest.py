"""Fixtures of the Console Connect tests: a simulator with a client on it, and the runtime built
as the shell builds it (sandbox providers in-process) on a FakeClock, every request recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from cc_support import Harness

from circuitbot.clock import FakeClock
from circuitbot.providers.consoleconnect.client import ConsoleConnectClient
from circuitbot.providers.http import RetryPolicy
from circuitbot.sandbox.consoleconnect import DEFAULT_API_KEY, ConsoleConnectSimulator
from circuitbot.sandbox.world import World
from circuitbot.settings import Settings
from support.http import Recorder
from support.router_harness import harness_maker, recording_transports

MakeHarness = Callable[..., Awaitable[Harness]]


@pytest.fixture
def sim(clock: FakeClock) -> ConsoleConnectSimulator:
    return ConsoleConnectSimulator(World.demo(), clock, operation_seconds=60.0)


@pytest.fixture
async def recorder(sim: ConsoleConnectSimulator) -> Recorder:
    return Recorder(sim.transport())


@pytest.fixture
async def client(
    sim: ConsoleConnectSimulator, recorder: Recorder, clock: FakeClock
) -> AsyncIterator[ConsoleConnectClient]:
    async with ConsoleConnectClient(
        api_key=DEFAULT_API_KEY,
        company="Acme",
        base_url="http://cc.test",
        transport=recorder,
        clock=clock,
        retry=RetryPolicy(jitter=False),
    ) as made:
        yield made


@pytest.fixture
def recorders(monkeypatch) -> list[Recorder]:
    """Each simulator transport handed out, wrapped so the test sees the requests the client sent."""
    return recording_transports(monkeypatch, ConsoleConnectSimulator)


@pytest.fixture
async def make_harness(
    settings: Settings, clock: FakeClock, recorders: list[Recorder]
) -> AsyncIterator[MakeHarness]:
    async with harness_maker(Harness, settings, clock, recorders) as make:
        yield make


@pytest.fixture
async def harness(make_harness: MakeHarness) -> Harness:
    return await make_harness()
