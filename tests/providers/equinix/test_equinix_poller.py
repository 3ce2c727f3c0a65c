"""What the watch engine reads of Equinix: v4 searches the batch's uuids in one IN filter,
v3 lists once per sweep for every batch; both agree with one GET per connection."""

from __future__ import annotations

from equinix_support import ABSENT, FABRIKAM_PRIMARY, MakeBot

from circuitbot.actions.registry import WatchTarget
from circuitbot.providers.equinix.poller import EquinixPoller, snapshot
from circuitbot.sandbox.world import World

SEARCH = "POST /fabric/v4/connections/search"
V4_GET = "GET /fabric/v4/connections/{connectionId}"
V3_LIST = "GET /ecx/v3/l2/buyer/connections"
V3_GET = "GET /ecx/v3/l2/connections/{uuid}"


def test_snapshots_hold_each_generations_own_states() -> None:
    v4 = {
        "state": "PROVISIONED",
        "operation": {"equinixStatus": "PROVISIONED", "providerStatus": "PENDING DELETE"},
    }
    assert snapshot(v4) == {
        "state": "PROVISIONED",
        "equinixStatus": "PROVISIONED",
        "providerStatus": "PENDING DELETE",
    }
    v3 = {"uuid": "u", "status": "PROVISIONING", "providerStatus": "NOT_AVAILABLE"}
    assert snapshot(v3) == {"status": "PROVISIONING", "providerStatus": "NOT_AVAILABLE"}


async def test_v4_asks_for_the_batchs_uuids_only_and_agrees_with_per_resource(make: MakeBot) -> None:
    bot = await make("v4", World.demo(extra_circuits=300, seed=5))
    poller: EquinixPoller = bot.runtime.pollers["equinix"]  # type: ignore[assignment]
    ids = [*sorted(bot.sim.state.connections)[:150], ABSENT]
    bot.sim.reset_calls()

    many = await bot.clock.run_until(poller.snapshot_many([i.upper() for i in ids]))

    assert bot.sim.calls[SEARCH] == 2, "150 uuids: two searches of 100"
    assert bot.sim.calls[V4_GET] == 1, "the absent one is read on its own before it is called gone"
    one = {i.upper(): await bot.clock.run_until(poller.snapshot_one(i)) for i in ids}
    assert many == one and one[ABSENT.upper()] is None


async def test_v3_lists_once_per_sweep_for_every_batch(make: MakeBot) -> None:
    bot = await make("v3", World.demo(extra_circuits=300, seed=5))
    poller: EquinixPoller = bot.runtime.pollers["equinix"]  # type: ignore[assignment]
    ids = sorted(bot.sim.state.connections)
    pages = -(-len(ids) // 100)
    bot.sim.reset_calls()

    poller.begin_sweep()
    for start in range(0, 60, 20):
        await bot.clock.run_until(poller.snapshot_many(ids[start : start + 20]))
    assert bot.sim.calls[V3_LIST] == pages and bot.sim.calls[V3_GET] == 0

    poller.begin_sweep()  # the next sweep reads Equinix again
    await bot.clock.run_until(poller.snapshot_many(ids[:5]))
    assert bot.sim.calls[V3_LIST] == 2 * pages


async def test_a_tick_of_many_watches_costs_one_search_per_batch(make: MakeBot) -> None:
    world = World.demo(extra_circuits=60, seed=7)
    bot = await make("v4", world)
    engine = bot.runtime.watches
    watched = sorted(bot.sim.state.connections)[:40]
    for uuid in watched:
        await bot.clock.run_until(engine.watch(WatchTarget("equinix", uuid), "COPS", created_by="UREQ"))
    bot.sim.reset_calls()
    await bot.clock.advance(bot.runtime.settings.watch.slow_interval_seconds + 1)

    report = await bot.clock.run_until(engine.tick())

    assert report.resources == len(watched)
    assert bot.sim.calls[SEARCH] == report.calls["equinix"] and bot.sim.calls[V4_GET] == 0


async def test_describe_names_the_connection_and_its_metro(make: MakeBot) -> None:
    bot = await make("v3")
    poller: EquinixPoller = bot.runtime.pollers["equinix"]  # type: ignore[assignment]
    state = await bot.clock.run_until(poller.snapshot_one(FABRIKAM_PRIMARY))
    assert poller.describe(FABRIKAM_PRIMARY, state) == "Fabrikam-SV-ER-PRI @ SV (006d08e2…)"
    assert poller.describe(ABSENT, None) == ABSENT
