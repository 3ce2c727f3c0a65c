"""The Azure poller: what it reads of a circuit, and how many calls the two strategies cost,
counted where the requests arrive (the simulator)."""

from __future__ import annotations

import math

from azure_support import EUAP_NEW, FABRIKAM, WOODGROVE, Harness, deliver, drive

from circuitbot.actions.registry import WatchTarget
from circuitbot.sandbox.world import World
from circuitbot.watch.engine import WatchEngine

NET = "/subscriptions/{subscriptionId}/providers/Microsoft.Network"
LIST_ALL = f"GET {NET}/expressRouteCrossConnections"
GET_ONE = (
    "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network"
    "/expressRouteCrossConnections/{crossConnectionName}"
)


async def test_a_snapshot_holds_the_states_of_the_circuit_and_of_each_peering(harness: Harness) -> None:
    poller = harness.runtime.pollers["azure"]

    snapshot = await drive(harness.clock, poller.snapshot_one(WOODGROVE))

    assert snapshot == {
        "provisioningState": "Succeeded",
        "serviceProviderProvisioningState": "Provisioned",
        "peering[MicrosoftPeering].state": "Enabled",
        "peering[MicrosoftPeering].provisioningState": "Succeeded",
        "peering[MicrosoftPeering].advertisedPublicPrefixesState": "Configured",
    }
    assert poller.describe(WOODGROVE, snapshot) == "er-woodgrove-sv @ SiliconValley (cccc2c2c…)"
    assert await drive(harness.clock, poller.snapshot_one("00000000-0000-0000-0000-000000000000")) is None


async def test_a_batch_answers_keys_and_ids_from_one_listing(harness: Harness) -> None:
    poller = harness.runtime.pollers["azure"]
    woodgrove_id = (await drive(harness.clock, harness.client.get_cross_connection(WOODGROVE))).id
    unknown = "00000000-0000-0000-0000-000000000000"
    harness.sim.reset_calls()

    found = await drive(harness.clock, poller.snapshot_many([FABRIKAM.upper(), woodgrove_id, unknown]))

    assert found[FABRIKAM.upper()]["serviceProviderProvisioningState"] == "Provisioned"
    assert found[woodgrove_id]["peering[MicrosoftPeering].state"] == "Enabled"
    assert found[unknown] is None
    pages = math.ceil(len(harness.sim.cross_connections) / harness.sim.page_size)
    assert harness.sim.calls[LIST_ALL] == pages
    assert harness.sim.calls[GET_ONE] == 0


async def test_batched_polls_list_once_per_tick_while_per_resource_gets_each_circuit(make_harness) -> None:
    world = World.demo(extra_circuits=30, seed=2)
    harness: Harness = await make_harness(world)
    engine: WatchEngine = harness.runtime.watches
    watched = [circuit.service_key for circuit in world.circuits[:20]]
    for key in watched:
        await drive(harness.clock, engine.watch(WatchTarget("azure", key), "COPS", created_by="UREQ"))
    sim = harness.sim
    slow = harness.runtime.settings.watch.slow_interval_seconds

    sim.reset_calls()
    await harness.clock.advance(slow + 1)
    batched = await drive(harness.clock, engine.tick())

    assert batched.resources == len(watched)
    assert batched.calls["azure"] == 1
    assert sim.calls[LIST_ALL] == math.ceil(len(world.circuits) / sim.page_size)  # every page, once
    assert sim.calls[GET_ONE] == 0

    harness.runtime.settings.watch.strategy = "per-resource"
    sim.reset_calls()
    await harness.clock.advance(slow + 1)
    one_by_one = await drive(harness.clock, engine.tick())

    assert one_by_one.resources == len(watched)
    assert sim.calls[GET_ONE] == len(watched)
    assert sim.calls[LIST_ALL] == 0  # the keys were resolved before; each circuit is one GET


async def test_the_batches_of_one_sweep_share_one_listing(make_harness) -> None:
    world = World.demo(extra_circuits=30, seed=3)
    harness: Harness = await make_harness(world)
    engine: WatchEngine = harness.runtime.watches
    harness.runtime.settings.watch.batch_size = 4  # 20 due watches: five batches in one tick
    watched = [circuit.service_key for circuit in world.circuits[:20]]
    for key in watched:
        await drive(harness.clock, engine.watch(WatchTarget("azure", key), "COPS", created_by="UREQ"))
    sim = harness.sim
    sim.reset_calls()
    await harness.clock.advance(harness.runtime.settings.watch.slow_interval_seconds + 1)

    report = await drive(harness.clock, engine.tick())

    assert report.resources == len(watched)
    assert report.calls["azure"] == 5
    assert sim.calls[LIST_ALL] == math.ceil(len(world.circuits) / sim.page_size)  # one listing, not five

    # a later sweep reads Azure again rather than trusting the old listing
    sim.reset_calls()
    await harness.clock.advance(harness.runtime.settings.watch.slow_interval_seconds + 1)
    await drive(harness.clock, engine.tick())
    assert sim.calls[LIST_ALL] == math.ceil(len(world.circuits) / sim.page_size)


async def test_a_change_at_azure_becomes_a_transition_in_the_watch(harness: Harness) -> None:
    engine: WatchEngine = harness.runtime.watches
    settings = harness.runtime.settings.watch
    await drive(harness.clock, engine.watch(WatchTarget("azure", EUAP_NEW), "COPS", created_by="UREQ"))

    # when the watch is next due, the provider state was just set and the operation still runs
    await harness.clock.advance(settings.slow_interval_seconds + 1)
    await drive(harness.clock, harness.client.set_provisioning_state(EUAP_NEW, "Provisioned", wait=False))
    first = await drive(harness.clock, engine.tick())
    [watch] = await engine.list()
    assert first.transitions == 1
    assert watch.snapshot["serviceProviderProvisioningState"] == "Provisioned"
    assert watch.snapshot["provisioningState"] == "Updating"

    # in flight, it is polled at the fast interval, and sees the operation end
    await harness.clock.advance(settings.fast_interval_seconds + 1)
    second = await drive(harness.clock, engine.tick())
    [watch] = await engine.list()
    assert second.transitions == 1
    assert watch.snapshot["provisioningState"] == "Succeeded"
    await deliver(harness)
    said = harness.poster.everything()
    assert "serviceProviderProvisioningState" in said and "NotProvisioned → *Provisioned*" in said
    assert "Updating → *Succeeded*" in said
