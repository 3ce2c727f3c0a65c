"""Fixtures of the Azure command tests: the runtime built as the shell builds it (sandbox
providers in-process), on a FakeClock, with every request to the simulator recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from azure_support import Harness

from circuitbot.bootstrap import build_runtime
from circuitbot.clock import FakeClock
from circuitbot.runtime import Runtime
from circuitbot.sandbox.azure import AzureSimulator
from circuitbot.sandbox.world import World
from circuitbot.settings import Settings
from support.http import Recorder
from support.poster import RecordingPoster
from support.router_harness import recording_transports

MakeHarness = Callable[..., Awaitable[Harness]]


@pytest.fixture
def recorders(monkeypatch) -> list[Recorder]:
    """Each simulator transport handed out, wrapped so the test sees the requests the client sent."""
    return recording_transports(monkeypatch, AzureSimulator)


@pytest.fixture
async def make_harness(
    settings: Settings, clock: FakeClock, recorders: list[Recorder]
) -> AsyncIterator[MakeHarness]:
    runtimes: list[Runtime] = []

    async def make(world: World | None = None, settings_: Settings | None = None) -> Harness:
        runtime = await build_runtime(settings_ or settings, sandbox=True, clock=clock, world=world)
        runtimes.append(runtime)
        poster = RecordingPoster()
        runtime.poster = poster
        return Harness(runtime, poster, clock, recorders[-1])

    yield make
    for runtime in runtimes:
        await runtime.close()


@pytest.fixture
async def harness(make_harness: MakeHarness) -> Harness:
    return await make_harness()
