"""Fixtures of the process-level reliability suite: the fake Slack and the Azure simulator in
the test's event loop, served on loopback to the ``circuitbot serve`` children."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from circuitbot.sandbox.azure import AzureSimulator
from circuitbot.sandbox.server import SimulatorServer
from circuitbot.sandbox.world import World
from circuitbot.store.db import Database
from circuitbot.testing.fake_slack import FakeSlack
from support.processes import azure_simulator, slack_workspace


@pytest.fixture
def fake_slack() -> FakeSlack:
    return slack_workspace()


@pytest.fixture
async def slack_api_url(fake_slack: FakeSlack) -> AsyncIterator[str]:
    async with fake_slack.serve() as url:
        yield url


@pytest.fixture
def world() -> World:
    return World.demo(seed=10)


@pytest.fixture
def simulator(world: World) -> AzureSimulator:
    return azure_simulator(world)


@pytest.fixture
async def azure_url(simulator: AzureSimulator) -> AsyncIterator[str]:
    async with SimulatorServer(simulator) as server:
        yield server.url


@pytest.fixture
async def migrated(database_url: str) -> str:
    """The database URL, migrated once here so that starting children never race to migrate."""
    db = Database(database_url)
    try:
        await db.upgrade()
    finally:
        await db.dispose()
    return database_url
