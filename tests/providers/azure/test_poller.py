"""The Azure poller: what it reads of a circuit, and how many calls the two strategies cost,
counted where the requests arrive (the simulator)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math

import httpx
from azure_support import EUAP_NEW, FABRIKAM, WOODGROVE, Harness

from circuitbot.actions.registry import WatchTarget
from circuitbot.clock import FakeClock
from circuitbot.providers.azure.client import AzurePartnerClient
from circuitbot.providers.azure.credentials import StaticTokenCredential
from circuitbot.providers.azure.poller import AzurePoller
from circuitbot.sandbox.azure import AzureSimulator
from circuitbot.sandbox.faults import FaultConfig
from circuitbot.sandbox.world import World
from circuitbot.watch.engine import WatchEngine

NET = "/subscriptions/{subscriptionId}/providers/Microsoft.Network"
LIST_ALL = f"GET {NET}/expressRouteCrossConnections"
BY_GROUP = (
    "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network"
    "/expressRouteCrossConnections"
)
GET_ONE = (
    "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network"
    "/expressRouteCrossConnections/{crossConnectionName}"
)


def group_pages(sim: AzureSimulator) -> int:
    """Pages of listing the group of each port-pair location: an empty group is one empty page."""
    groups = {"CrossConnection-" + pair.peering_location.replace(" ", "") for pair in sim.world.port_pairs}
    held = [c.resource_group for c in sim.cross_connections.values()]
    return sum(max(1, math.ceil(held.count(group) / sim.page_size)) for group in groups)


async def test_a_snapshot_holds_the_states_of_the_circuit_and_of_each_peering(harness: Harness) -> None:
    poller = harness.runtime.pollers["azure"]

    snapshot = await harness.clock.run_until(poller.snapshot_one(WOODGROVE))

    assert snapshot == {
        "provisioningState": "Succeeded",
        "serviceProviderProvisioningState": "Provisioned",
        "peering[MicrosoftPeering].state": "Enabled",
        "peering[MicrosoftPeering].provisioningState": "Succeeded",
        "peering[MicrosoftPeering].advertisedPublicPrefixesState": "Configured",
    }
    assert poller.describe(WOODGROVE, snapshot) == "er-woodgrove-sv @ SiliconValley (cccc2c2c…)"
    assert await harness.clock.run_until(poller.snapshot_one("00000000-0000-0000-0000-000000000000")) is None


async def test_a_batch_answers_keys_and_ids_from_one_listing(harness: Harness) -> None:
    poller = harness.runtime.pollers["azure"]
    woodgrove_id = (await harness.clock.run_until(harness.client.get_cross_connection(WOODGROVE))).id
    unknown = "00000000-0000-0000-0000-000000000000"
    harness.sim.page_size = 4  # several pages to follow
    harness.sim.reset_calls()

    found = await harness.clock.run_until(poller.snapshot_many([FABRIKAM.upper(), woodgrove_id, unknown]))

    assert found[FABRIKAM.upper()]["serviceProviderProvisioningState"] == "Provisioned"
    assert found[woodgrove_id]["peering[MicrosoftPeering].state"] == "Enabled"
    assert found[unknown] is None
    # every group's pages once, and one name-filtered lookup to confirm the unknown key is not just missed
    assert harness.sim.calls[BY_GROUP] == group_pages(harness.sim)
    assert harness.sim.calls[LIST_ALL] == 1
    assert harness.sim.calls[GET_ONE] == 0


async def test_batched_polls_list_once_per_tick_while_per_resource_gets_each_circuit(make_harness) -> None:
    world = World.demo(extra_circuits=30, seed=2)
    harness: Harness = await make_harness(world)
    engine: WatchEngine = harness.runtime.watches
    watched = [circuit.service_key for circuit in world.circuits[:20]]
    for key in watched:
        await harness.clock.run_until(engine.watch(WatchTarget("azure", key), "COPS", created_by="UREQ"))
    sim = harness.sim
    sim.page_size = 4  # several pages to follow
    slow = harness.runtime.settings.watch.slow_interval_seconds

    sim.reset_calls()
    await harness.clock.advance(slow + 1)
    batched = await harness.clock.run_until(engine.tick())

    assert batched.resources == len(watched)
    assert batched.calls["azure"] == 1
    assert sim.calls[BY_GROUP] == group_pages(sim)  # every page, once
    assert sim.calls[LIST_ALL] == sim.calls[GET_ONE] == 0

    harness.runtime.settings.watch.strategy = "per-resource"
    sim.reset_calls()
    await harness.clock.advance(slow + 1)
    one_by_one = await harness.clock.run_until(engine.tick())

    assert one_by_one.resources == len(watched)
    assert sim.calls[GET_ONE] == len(watched)
    assert sim.calls[LIST_ALL] == sim.calls[BY_GROUP] == 0  # keys resolved before; each circuit one GET


async def test_the_batches_of_one_sweep_share_one_listing(make_harness) -> None:
    world = World.demo(extra_circuits=30, seed=3)
    harness: Harness = await make_harness(world)
    engine: WatchEngine = harness.runtime.watches
    harness.runtime.settings.watch.batch_size = 4  # 20 due watches: five batches in one tick
    watched = [circuit.service_key for circuit in world.circuits[:20]]
    for key in watched:
        await harness.clock.run_until(engine.watch(WatchTarget("azure", key), "COPS", created_by="UREQ"))
    sim = harness.sim
    sim.page_size = 4  # several pages to follow
    sim.reset_calls()
    await harness.clock.advance(harness.runtime.settings.watch.slow_interval_seconds + 1)

    report = await harness.clock.run_until(engine.tick())

    assert report.resources == len(watched)
    assert report.calls["azure"] == 5
    assert sim.calls[BY_GROUP] == group_pages(sim)  # one listing, not five

    # a later sweep reads Azure again rather than trusting the old listing
    sim.reset_calls()
    await harness.clock.advance(harness.runtime.settings.watch.slow_interval_seconds + 1)
    await harness.clock.run_until(engine.tick())
    assert sim.calls[BY_GROUP] == group_pages(sim)


async def test_a_change_at_azure_becomes_a_transition_in_the_watch(harness: Harness) -> None:
    engine: WatchEngine = harness.runtime.watches
    settings = harness.runtime.settings.watch
    await harness.clock.run_until(engine.watch(WatchTarget("azure", EUAP_NEW), "COPS", created_by="UREQ"))

    # when the watch is next due, the provider state was just set and the operation still runs
    await harness.clock.advance(settings.slow_interval_seconds + 1)
    await harness.clock.run_until(harness.client.set_provisioning_state(EUAP_NEW, "Provisioned", wait=False))
    first = await harness.clock.run_until(engine.tick())
    [watch] = await engine.list_watches()
    assert first.transitions == 1
    assert watch.snapshot["serviceProviderProvisioningState"] == "Provisioned"
    assert watch.snapshot["provisioningState"] == "Updating"

    # in flight, it is polled at the fast interval, and sees the operation end
    await harness.clock.advance(settings.fast_interval_seconds + 1)
    second = await harness.clock.run_until(engine.tick())
    [watch] = await engine.list_watches()
    assert second.transitions == 1
    assert watch.snapshot["provisioningState"] == "Succeeded"
    await harness.deliver()
    said = harness.poster.everything()
    assert "serviceProviderProvisioningState" in said and "NotProvisioned → *Provisioned*" in said
    assert "Updating → *Succeeded*" in said


class YieldingTransport(httpx.AsyncBaseTransport):
    """The in-process transport never gives up control; a network does, while it waits."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)
        response = await self.inner.handle_async_request(request)
        await asyncio.sleep(0)
        return response


def poller_on(sim: AzureSimulator, clock: FakeClock, transport: httpx.AsyncBaseTransport) -> AzurePoller:
    client = AzurePartnerClient(
        subscription_ids=[sim.world.partner_subscription_id],
        credential=StaticTokenCredential(),
        transport=transport,
        clock=clock,
    )
    return AzurePoller(client, clock=clock)


async def test_concurrent_batches_share_the_listing_in_flight() -> None:
    clock = FakeClock()
    world = World.demo(extra_circuits=30, seed=4)
    sim = AzureSimulator(world, clock, page_size=4)
    poller = poller_on(sim, clock, YieldingTransport(sim.transport()))
    keys = [circuit.service_key for circuit in world.circuits[:20]]
    batches = [keys[i : i + 5] for i in range(0, 20, 5)]

    answers = await asyncio.gather(*(poller.snapshot_many(batch) for batch in batches))

    assert sim.calls[BY_GROUP] == group_pages(sim)  # one listing, not four
    assert all(isinstance(found, dict) for answer in answers for found in answer.values())
    assert [set(answer) for answer in answers] == [set(batch) for batch in batches]
    await poller.client.aclose()


async def test_the_rounds_of_one_sweep_share_its_listing_and_the_next_sweep_lists_afresh() -> None:
    clock = FakeClock()
    world = World.demo(extra_circuits=30, seed=5)
    sim = AzureSimulator(world, clock, faults=FaultConfig(latency_ms=2000), page_size=4)  # 2 s a page
    poller = poller_on(sim, clock, sim.transport())
    pages = group_pages(sim)
    keys = [circuit.service_key for circuit in world.circuits]

    poller.begin_sweep()
    await clock.run_until(poller.snapshot_many(keys[:10]))
    await clock.advance(poller.listing_max_age + 30)  # a long round of recording in between
    second = await clock.run_until(poller.snapshot_many(keys[10:20]))

    assert sim.calls[BY_GROUP] == pages  # one listing for the whole sweep
    assert all(isinstance(found, dict) for found in second.values())

    # the next tick, however soon: a circuit changed since must be seen as it is now
    sim.cross_connection(keys[0]).provider_state = "Deprovisioning"
    poller.begin_sweep()
    third = await clock.run_until(poller.snapshot_many(keys[:10]))

    assert sim.calls[BY_GROUP] == 2 * pages
    assert third[keys[0]]["serviceProviderProvisioningState"] == "Deprovisioning"
    await poller.client.aclose()


async def test_without_sweeps_a_listing_serves_only_the_moment_after_it_ended() -> None:
    clock = FakeClock()
    world = World.demo(extra_circuits=30, seed=6)
    sim = AzureSimulator(world, clock, faults=FaultConfig(latency_ms=2000), page_size=4)  # 2 s a page
    poller = poller_on(sim, clock, sim.transport())
    pages = group_pages(sim)
    keys = [circuit.service_key for circuit in world.circuits]

    await clock.run_until(poller.snapshot_many(keys[:10]))  # takes far longer than the max age
    await clock.advance(poller.listing_max_age / 2)
    await clock.run_until(poller.snapshot_many(keys[10:20]))
    assert sim.calls[BY_GROUP] == pages  # the round right after it is answered from it

    sim.cross_connection(keys[0]).provider_state = "Deprovisioning"
    await clock.advance(poller.listing_max_age)  # by now older than the max age: read Azure again
    later = await clock.run_until(poller.snapshot_many(keys[:10]))

    assert sim.calls[BY_GROUP] == 2 * pages
    assert later[keys[0]]["serviceProviderProvisioningState"] == "Deprovisioning"
    assert poller.listing_max_age <= 1.0  # below any poll interval
    await poller.client.aclose()


async def test_each_tick_reads_azure_afresh_however_close_the_ticks(make_harness) -> None:
    world = World.demo(extra_circuits=30, seed=7)
    harness: Harness = await make_harness(world)
    engine: WatchEngine = harness.runtime.watches
    settings = harness.runtime.settings.watch
    poller: AzurePoller = harness.runtime.pollers["azure"]
    poller.listing_max_age = 3600.0  # only the tick's start may tell the poller to list again
    settings.fast_interval_seconds = settings.slow_interval_seconds = 2.0
    watched = [circuit.service_key for circuit in world.circuits[:10]]
    for key in watched:
        await harness.clock.run_until(engine.watch(WatchTarget("azure", key), "COPS", created_by="UREQ"))
    sim = harness.sim
    sim.page_size = 4
    pages = group_pages(sim)
    await harness.clock.advance(2)
    await harness.clock.run_until(engine.tick())
    sim.reset_calls()

    sim.cross_connection(watched[3]).provider_state = "Deprovisioning"
    await harness.clock.advance(2)
    report = await harness.clock.run_until(engine.tick())

    assert report.claimed == len(watched)
    assert sim.calls[BY_GROUP] == pages
    assert report.transitions == 1


class Omitting(httpx.AsyncBaseTransport):
    """Leaves one cross-connection out of unfiltered listings, as paging under change can."""

    def __init__(self, inner: httpx.AsyncBaseTransport, name: str) -> None:
        self.inner = inner
        self.name = name

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        listing = request.url.path.endswith("/expressRouteCrossConnections")
        if not listing or "$filter" in request.url.params:
            return response
        body = json.loads(await response.aread())
        body["value"] = [item for item in body["value"] if item["name"] != self.name]
        return httpx.Response(200, json=body, headers={"x-ms-request-id": "r"})


async def test_a_circuit_missing_from_the_listing_is_read_before_it_is_called_gone() -> None:
    clock = FakeClock()
    sim = AzureSimulator(World.demo(), clock)
    poller = poller_on(sim, clock, Omitting(sim.transport(), FABRIKAM))
    unknown = "00000000-0000-0000-0000-000000000000"

    found = await clock.run_until(poller.snapshot_many([FABRIKAM, WOODGROVE, unknown]))

    fabrikam = found[FABRIKAM]
    assert isinstance(fabrikam, dict) and fabrikam["serviceProviderProvisioningState"] == "Provisioned"
    assert found[unknown] is None
    assert sim.calls[GET_ONE] == 1  # only the missed one is read on its own
    assert poller.describe(FABRIKAM, found[FABRIKAM]) == "er1 @ SiliconValley (24e6ea2b…)"
    assert poller.describe(WOODGROVE, found[WOODGROVE]) == "er-woodgrove-sv @ SiliconValley (cccc2c2c…)"
    await poller.client.aclose()


class CountingInFlight(httpx.AsyncBaseTransport):
    """Yields while a request is out, as a network does, and counts the group listings in flight."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.in_flight = self.most_in_flight = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        by_group = "/resourceGroups/" in request.url.path and request.url.path.endswith(
            "/expressRouteCrossConnections"
        )
        self.in_flight += by_group
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0)
            response = await self.inner.handle_async_request(request)
            await asyncio.sleep(0)
            return response
        finally:
            self.in_flight -= by_group


async def test_a_sweep_lists_the_resource_groups_side_by_side() -> None:
    clock = FakeClock()
    world = World.demo(extra_circuits=60, seed=8)
    sim = AzureSimulator(world, clock, page_size=4)
    transport = CountingInFlight(sim.transport())
    poller = poller_on(sim, clock, transport)
    groups = {c.resource_group for c in sim.cross_connections.values()}
    assert len(groups) >= 3  # a world spread over several locations
    keys = [circuit.service_key for circuit in world.circuits]

    poller.begin_sweep()
    found = await poller.snapshot_many(keys)

    assert all(isinstance(found[key], dict) for key in keys)  # every watched circuit
    assert sim.calls[BY_GROUP] == group_pages(sim)
    assert sim.calls[LIST_ALL] == sim.calls[GET_ONE] == 0
    assert transport.most_in_flight > 1  # the groups were listed concurrently
    await poller.client.aclose()


async def test_a_circuit_at_a_location_the_poller_did_not_know_is_still_found() -> None:
    clock = FakeClock()
    world = World.demo(extra_circuits=60, seed=9)
    sim = AzureSimulator(world, clock, page_size=4)
    # the port pairs do not tell of Seattle, so the poller does not know its group
    sim.world = dataclasses.replace(
        world, port_pairs=tuple(p for p in world.port_pairs if p.peering_location != "Seattle")
    )
    poller = poller_on(sim, clock, sim.transport())
    seattle = [c.service_key for c in world.circuits if c.peering_location == "Seattle"]
    assert len(seattle) > 5
    keys = [circuit.service_key for circuit in world.circuits]

    poller.begin_sweep()
    found = await poller.snapshot_many(keys)

    assert all(isinstance(found[key], dict) for key in seattle)
    assert sim.calls[LIST_ALL] == math.ceil(len(sim.cross_connections) / sim.page_size)  # the fallback
    assert sim.calls[GET_ONE] == 0

    # the ids it saw taught the poller Seattle's group: the next sweep lists by group alone
    sim.reset_calls()
    poller.begin_sweep()
    again = await poller.snapshot_many(keys)
    assert all(isinstance(again[key], dict) for key in keys)
    assert sim.calls[LIST_ALL] == 0
    assert sim.calls[BY_GROUP] >= len({c.resource_group for c in sim.cross_connections.values()})
    await poller.client.aclose()
