"""Fixtures of the Azure command tests: the runtime built as the shell builds it (sandbox
providers in-process), on a FakeClock, with every request to the simulator recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from azure_support import Harness

from circuitbot.clock import FakeClock
from circuitbot.sandbox.azure import AzureSimulator
from circuitbot.settings import Settings
from support.http import Recorder
from support.router_harness import harness_maker, recording_transports

MakeHarness = Callable[..., Awaitable[Harness]]


@pytest.fixture
def recorders(monkeypatch) -> list[Recorder]:
    """Each simulator transport handed out, wrapped so the test sees the requests the client sent."""
    return recording_transports(monkeypatch, AzureSimulator)


@pytest.fixture
async def make_harness(
    settings: Settings, clock: FakeClock, recorders: list[Recorder]
) -> AsyncIterator[MakeHarness]:
    async with harness_maker(Harness, settings, clock, recorders) as make:
        yield make


@pytest.fixture
async def harness(make_harness: MakeHarness) -> Harness:
    return await make_harness()
