"""The Alibaba poller: per region the cheaper of the whole listing (PageSize 50, shared within a
sweep) and the PhysicalConnectionId filter (five ids a call); both strategies agree."""

from __future__ import annotations

from alibaba_support import CONFIRMED, INITIAL, NO_VBRS, WITH_VBRS, make_rig

from circuitbot.providers.alibaba.poller import AlibabaPoller
from circuitbot.sandbox.faults import FaultConfig, QueuedFault


def calls_by_region(rig) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for request in rig.recorder.requests:
        params = dict(request.url.params)
        out.setdefault(params["RegionId"], []).append(params)
    return out


async def test_a_few_watched_ids_are_read_with_the_id_filter_five_a_call() -> None:
    rig = make_rig(extra=400)
    poller = AlibabaPoller(rig.client, rig.clock)
    await rig.drive(rig.client.list_connections())  # the regions of the seeded ids are known
    rig.recorder.requests.clear()
    poller.begin_sweep()
    got = await rig.drive(poller.snapshot_many([WITH_VBRS, INITIAL]))
    assert got[WITH_VBRS] == {"Status": "Enabled", "BusinessStatus": "Normal"}
    assert got[INITIAL] == {"Status": "Initial", "BusinessStatus": "Normal"}
    [call] = calls_by_region(rig)["cn-beijing"]
    assert call["Filter.1.Key"] == "PhysicalConnectionId"
    assert {call["Filter.1.Value.1"], call["Filter.1.Value.2"]} == {WITH_VBRS, INITIAL}
    assert "cn-hangzhou" not in calls_by_region(rig), "a region with nothing watched is not read"


async def test_many_watched_ids_in_a_region_are_read_from_its_listing_shared_by_the_sweep() -> None:
    rig = make_rig(extra=400)  # about a hundred connections a region: two pages of 50
    poller = AlibabaPoller(rig.client, rig.clock)
    hangzhou = [c.pc_id for c in rig.sim.connections.values() if c.region == "cn-hangzhou"]
    await rig.drive(rig.client.list_connections())
    rig.recorder.requests.clear()
    poller.begin_sweep()
    first = await rig.drive(poller.snapshot_many(hangzhou[:30]))
    second = await rig.drive(poller.snapshot_many(hangzhou[30:60]))
    assert all(first.values()) and all(second.values())
    pages = calls_by_region(rig)["cn-hangzhou"]
    assert [p["PageSize"] for p in pages] == ["50"] * len(pages) and len(pages) == 3
    assert all("Filter.1.Key" not in p for p in pages), "30 ids: 6 filtered calls cost more than 3 pages"
    poller.begin_sweep()
    await rig.drive(poller.snapshot_many(hangzhou[:30]))
    assert len(calls_by_region(rig)["cn-hangzhou"]) == 6, "a new sweep reads afresh"


async def test_the_cheaper_strategy_is_picked_from_the_regions_last_total() -> None:
    rig = make_rig(extra=400)
    poller = AlibabaPoller(rig.client, rig.clock)
    hangzhou = [c.pc_id for c in rig.sim.connections.values() if c.region == "cn-hangzhou"]
    poller.begin_sweep()
    # Ids never seen may be in any region, and no total is known yet: each region is listed whole.
    await rig.drive(poller.snapshot_many(hangzhou[:10]))
    assert poller.calls_by_strategy == {"listing": 12, "filter": 0}  # 3 pages in each of 4 regions
    for count, strategy in ((5, "filter"), (10, "filter"), (15, "listing")):
        before = dict(poller.calls_by_strategy)
        poller.begin_sweep()
        await rig.drive(poller.snapshot_many(hangzhou[:count]))
        assert poller.calls_by_strategy[strategy] > before[strategy], count


async def test_both_strategies_agree_and_an_unknown_id_reads_as_gone() -> None:
    rig = make_rig(extra=40)
    poller = AlibabaPoller(rig.client, rig.clock)
    ids = [WITH_VBRS, NO_VBRS, CONFIRMED, INITIAL, "pc-00000000000000000000"]
    ids += [c.pc_id for c in list(rig.sim.connections.values())[-12:]]
    poller.begin_sweep()
    many = await rig.drive(poller.snapshot_many(ids))
    one = {rid: await rig.drive(poller.snapshot_one(rid)) for rid in ids}
    assert many == one and one["pc-00000000000000000000"] is None
    assert poller.describe(CONFIRMED, one[CONFIRMED]) == f"shanghai-standby ({CONFIRMED})"
    assert poller.normalize("  PC-119MFJZM7 ") == CONFIRMED


async def test_a_region_that_fails_fails_only_its_own_ids() -> None:
    rig = make_rig()
    poller = AlibabaPoller(rig.client, rig.clock)
    await rig.drive(rig.client.list_connections())
    rig.client.rpc.max_attempts = 1
    rig.sim.faults = FaultConfig(fail_next=[QueuedFault(status=500, count=1)])
    poller.begin_sweep()
    got = await rig.drive(poller.snapshot_many([CONFIRMED]))
    assert isinstance(got[CONFIRMED], Exception)
    got = await rig.drive(poller.snapshot_many([CONFIRMED, WITH_VBRS]))
    assert got[CONFIRMED]["Status"] == "Confirmed" and got[WITH_VBRS]["Status"] == "Enabled"
