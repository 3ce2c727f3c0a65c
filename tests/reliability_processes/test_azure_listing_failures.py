"""A failed listing of one resource group fails the sweep with that failure's own error, so a
watch's "cannot read" note says what went wrong instead of "unhandled errors in a TaskGroup"."""

from __future__ import annotations

import pytest

from circuitbot.clock import FakeClock
from circuitbot.providers.azure.settings import AzureSettings
from circuitbot.providers.azure.spec import SPEC
from circuitbot.sandbox.faults import FaultConfig, QueuedFault
from circuitbot.sandbox.world import World


async def test_a_group_listing_that_fails_raises_its_own_error() -> None:
    clock = FakeClock()
    world = World.demo()
    simulator = SPEC.simulator(world, clock)
    client = SPEC.sandbox_client(AzureSettings(), simulator, clock)
    poller = SPEC.poller(client, clock)
    keys = [c.service_key for c in world.circuits]
    try:
        poller.begin_sweep()
        await poller.snapshot_many(keys)  # learns the resource groups
        simulator.faults = FaultConfig(
            fail_next=[
                QueuedFault(
                    kind="malformed", method="GET", path="resourceGroups/.*/expressRouteCrossConnections$"
                )
            ]
        )
        poller.begin_sweep()
        with pytest.raises(Exception) as failed:
            await poller.snapshot_many(keys)
    finally:
        await client.aclose()

    assert not isinstance(failed.value, BaseExceptionGroup)
    assert "TaskGroup" not in str(failed.value)
