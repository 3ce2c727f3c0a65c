"""Crash recovery while the provider is still applying a change: recovery waits for the change
to land (through the clock, within a deadline), never writes, and follows a landed change with a
watch exactly as a normal run does. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from approvals_support import FakeWatches, Harness


class Crash(BaseException):
    """The process dies (not an error the engine would catch)."""


async def crash_while_in_flight(harness: Harness) -> str:
    """A request whose write reached the provider, which is still applying it, when the process
    died before recording the outcome."""
    request_id = await harness.request()

    async def written_then_crashed(_: str) -> None:
        harness.provider.circuits["c1"].update(port="B", etag="e2", state="Updating")
        raise Crash

    harness.engine.after_claim = written_then_crashed
    try:
        await harness.click("approve", request_id, "UAPP1")
    except Crash:
        pass
    assert (await harness.row(request_id)).status == "executing"
    await harness.runtime.clock.advance(
        120
    )  # the restart: past the time a live executor takes to hold its lease
    return request_id


async def settle_after(harness: Harness, seconds: float, state: str) -> None:
    """The provider's operation ends ``seconds`` from now, in ``state``."""
    await harness.runtime.clock.sleep(seconds)
    harness.provider.circuits["c1"]["state"] = state


async def test_recovery_waits_for_a_change_in_flight_then_follows_it_as_a_normal_run(
    make_harness, database, settings
) -> None:
    normal = make_harness(database, settings, instance_id="normal")
    normal.runtime.watches = normal_watches = FakeWatches()
    normal_id = await normal.request("demo move c2 B")
    await normal.click("approve", normal_id, "UAPP1")

    harness = make_harness(database, settings, instance_id="crashed", poster=normal.poster)
    harness.runtime.watches = watches = FakeWatches()
    request_id = await crash_while_in_flight(harness)
    clock = harness.runtime.clock
    started, writes = clock.monotonic(), harness.provider.writes

    outcome, _ = await clock.run_until(
        asyncio.gather(harness.engine.recover(), settle_after(harness, 40, "Succeeded"))
    )

    assert outcome == {request_id: "succeeded"}
    assert clock.monotonic() >= started + 40, "not succeeded before the provider finished"
    assert harness.provider.writes == writes, "recovery reads, never re-executes"
    row = await harness.row(request_id)
    [(target, kwargs)] = watches.calls
    [(normal_target, normal_kwargs)] = normal_watches.calls
    assert (target.provider, target.resource_id) == ("demo", "c1")
    assert type(target) is type(normal_target) and target.label == "circuit c1"
    assert kwargs.keys() == normal_kwargs.keys()
    assert kwargs == {
        "channel": "CAPPROVALS",
        "thread_ts": row.approvals_ts,
        "created_by": "UREQ",
        "request_id": request_id,
    }


async def test_a_change_in_flight_that_ends_failed_needs_attention(harness: Harness) -> None:
    harness.runtime.watches = watches = FakeWatches()
    request_id = await crash_while_in_flight(harness)

    outcome, _ = await harness.runtime.clock.run_until(
        asyncio.gather(harness.engine.recover(), settle_after(harness, 40, "Failed"))
    )

    assert outcome == {request_id: "needs_attention"}
    assert "not visible" in (await harness.row(request_id)).error
    assert watches.calls == []


async def test_a_change_in_flight_past_the_deadline_needs_attention(harness: Harness) -> None:
    harness.runtime.watches = watches = FakeWatches()
    request_id = await crash_while_in_flight(harness)
    harness.engine.settle_within_seconds = 300
    clock = harness.runtime.clock
    started = clock.monotonic()

    outcome = await clock.run_until(harness.engine.recover())  # the operation is lost: never ends

    assert outcome == {request_id: "needs_attention"}
    assert started + 300 <= clock.monotonic() < started + 300 + 2 * harness.engine.settle_poll_seconds
    row = await harness.row(request_id)
    assert "still in progress at the provider after 300 s" in row.error
    assert any("*not* run again" in r.text for r in harness.poster.thread(row.approvals_ts))
    assert watches.calls == []
    assert harness.provider.writes == 0
