"""``az drain <port-pair>``: a plan approved once, run one circuit at a time against the Azure
simulator; refused when the location lacks room; stopped at the first failure; resumed after a
crash without moving any circuit twice."""

from __future__ import annotations

import dataclasses

import pytest
from azure_support import FABRIKAM, Harness

from circuitbot.sandbox.faults import FaultConfig, QueuedFault
from circuitbot.sandbox.world import PortPair, World

PAIR1, PAIR3, PAIR4 = "bvtazureixpportpair1", "bvtazureixpportpair3", "bvtazureixpportpair4"
SMALL = "11111111-2222-4333-8444-555555555501"  # 200 Mbps on pair 1
MEDIUM = "11111111-2222-4333-8444-555555555502"  # 500 Mbps on pair 1


class Crash(BaseException):
    """The process dies (not an error the engine would catch)."""


def drain_world(shrink: dict[str, int] | None = None) -> World:
    """The demo world with a fourth pair at SiliconValley and two more circuits on pair 1."""
    world = World.demo()
    fabrikam = world.circuit(FABRIKAM)
    for n, (key, bandwidth) in enumerate(((SMALL, 200), (MEDIUM, 500)), 1):
        azure = dataclasses.replace(fabrikam.azure, name=f"er-drain{n}")
        world.circuits.append(
            dataclasses.replace(
                fabrikam, service_key=key, bandwidth_mbps=bandwidth, azure=azure, s_tag=50 + n, peerings=()
            )
        )
    pairs = (*world.port_pairs, PortPair(PAIR4, "SiliconValley", "bvtazureixp04a", "bvtazureixp04b"))
    world.port_pairs = tuple(
        dataclasses.replace(p, port_bandwidth_mbps=(shrink or {}).get(p.descriptor, p.port_bandwidth_mbps))
        for p in pairs
    )
    return world


def puts(harness: Harness, key: str) -> int:
    return len(harness.recorder.sent("PUT", f"/expressRouteCrossConnections/{key}"))


async def test_a_drain_is_planned_approved_once_and_moves_every_circuit_once(make_harness) -> None:
    harness: Harness = await make_harness(drain_world())
    request_id = await harness.request(f"az drain {PAIR1}")
    row = await harness.row(request_id)
    # Largest first, each to the pair with the most headroom after the moves planned before it
    # (4,000 Mbps each, less Woodgrove's 1,000 on pair 3; a tie goes to the first by name).
    plan = [(change[0], change[2]) for change in row.preview["changes"]]
    assert plan == [
        (FABRIKAM, f"{PAIR4} (4,000 Mbps → 3,000 Mbps free)"),
        (MEDIUM, f"{PAIR3} (3,000 Mbps → 2,500 Mbps free)"),
        (SMALL, f"{PAIR4} (3,000 Mbps → 2,800 Mbps free)"),
    ]
    assert sum(puts(harness, k) for k in (FABRIKAM, MEDIUM, SMALL)) == 0, "nothing moves before approval"

    await harness.approve(request_id)

    row = await harness.row(request_id)
    assert row.status == "succeeded", row.error
    assert harness.sim.used_bandwidth(PAIR1) == 0
    assert [puts(harness, k) for k in (FABRIKAM, MEDIUM, SMALL)] == [1, 1, 1]
    thread = harness.thread_text(row)
    assert f"1/3 {FABRIKAM} moved to {PAIR4}" in thread and f"3/3 {SMALL} moved to" in thread
    assert f"Port pair {PAIR1} drained: 3 circuit(s) moved" in thread


async def test_a_drain_is_refused_when_the_location_lacks_room_naming_the_circuits(make_harness) -> None:
    harness: Harness = await make_harness(drain_world(shrink={PAIR3: 1200, PAIR4: 1100}))
    surface = await harness.command(f"az drain {PAIR1}")
    assert "refused" in surface.text and "SiliconValley lacks room to drain" in surface.text
    assert f"{MEDIUM} (500 Mbps)" in surface.text and f"{SMALL} (200 Mbps)" not in surface.text
    assert await harness.runtime.approvals.requests("all") == ([], 1, 1, 0)


async def test_a_drain_stops_at_the_first_failure_leaving_the_rest_unmoved(make_harness) -> None:
    harness: Harness = await make_harness(drain_world())
    request_id = await harness.request(f"az drain {PAIR1}")
    harness.sim.faults = FaultConfig(
        fail_next=[QueuedFault(kind="status", status=400, method="PUT", path=MEDIUM)]
    )

    await harness.approve(request_id)

    row = await harness.row(request_id)
    assert row.status == "failed"
    assert f"the drain stopped at {MEDIUM}" in row.error
    assert f"moved: {FABRIKAM}; not moved: {MEDIUM}, {SMALL}" in row.error
    assert [puts(harness, k) for k in (FABRIKAM, SMALL)] == [1, 0]
    assert f"Not moved: {MEDIUM}, {SMALL}" in harness.thread_text(row)


async def test_a_drain_interrupted_by_a_crash_resumes_without_moving_a_circuit_twice(
    make_harness, monkeypatch
) -> None:
    harness: Harness = await make_harness(drain_world())
    request_id = await harness.request(f"az drain {PAIR1}")
    move, calls = harness.client.move_to_port_pair, []

    async def dies_before_the_second_move(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise Crash
        return await move(*args, **kwargs)

    monkeypatch.setattr(harness.client, "move_to_port_pair", dies_before_the_second_move)
    with pytest.raises(Crash):
        await harness.approve(request_id)
    assert (await harness.row(request_id)).status == "executing"
    assert [puts(harness, k) for k in (FABRIKAM, MEDIUM, SMALL)] == [1, 0, 0]

    monkeypatch.setattr(harness.client, "move_to_port_pair", move)
    # The next start reconciles what was left executing: a drain resumes where it stopped.
    assert await harness.clock.run_until(harness.runtime.approvals.recover()) == {request_id: "succeeded"}
    assert [puts(harness, k) for k in (FABRIKAM, MEDIUM, SMALL)] == [1, 1, 1]
    assert harness.sim.used_bandwidth(PAIR1) == 0


async def test_a_drain_with_at_waits_for_its_time_then_runs(make_harness) -> None:
    harness: Harness = await make_harness(drain_world())
    request_id = await harness.request(f'az drain {PAIR1} at="sat 02:00"')
    clicked = await harness.approve(request_id)
    assert "scheduled for Sat 2026-01-03 02:00 UTC" in clicked.text
    await harness.clock.run_until(harness.runtime.approvals.execute_round())
    assert harness.sim.used_bandwidth(PAIR1) == 1700, "nothing moved before its time"

    await harness.clock.advance((2 * 24 + 2) * 3600)
    await harness.clock.run_until(harness.runtime.approvals.execute_round())
    assert (await harness.row(request_id)).status == "succeeded"
    assert harness.sim.used_bandwidth(PAIR1) == 0
