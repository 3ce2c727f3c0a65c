"""Crash recovery against the Azure simulator: a change whose write reached Azure while the
process died before recording it is followed to the end of its long-running operation (never
written again), then watched in the approval's thread as a normal run is."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from azure_support import EUAP_NEW, EUAP_PROVISIONED, FABRIKAM, Harness

from circuitbot.providers.azure.client import AzurePartnerClient

CROSS_CONNECTION_PUT = (
    "PUT /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network"
    "/expressRouteCrossConnections/{crossConnectionName}"
)
PRIVATE = "AzurePrivatePeering"

# A command, and the same write sent without following its operation (as the dead process left it).
Write = Callable[[AzurePartnerClient], Awaitable[object]]
CHANGES: dict[str, tuple[str, Write]] = {
    "provision": (
        f"az provision {EUAP_NEW}",
        lambda c: c.set_provisioning_state(EUAP_NEW, "Provisioned", wait=False),
    ),
    "notes": (f"az notes {FABRIKAM} rack 12", lambda c: c.set_notes(FABRIKAM, "rack 12", wait=False)),
    "move": (
        f"az move {FABRIKAM} bvtazureixpportpair3",
        lambda c: c.move_to_port_pair(FABRIKAM, "bvtazureixpportpair3", wait=False),
    ),
    "peering": (
        f"az peering {FABRIKAM} private peer-asn=65010 vlan-id=211 primary-prefix=10.10.0.0/30 "
        "secondary-prefix=10.10.0.4/30",
        lambda c: c.put_peering(FABRIKAM, PRIVATE, {"vlanId": 211}, wait=False),
    ),
    "peering-delete": (
        f"az peering-delete {EUAP_PROVISIONED} private",
        lambda c: c.delete_peering(EUAP_PROVISIONED, PRIVATE, wait=False),
    ),
}


class Crash(BaseException):
    """The process dies (not an error the engine would catch)."""


async def crash_after_writing(harness: Harness, command: str, write: Write) -> tuple[str, float]:
    """Request and approve ``command``; its run sends ``write`` and dies before recording it.
    The request id, and when the write was sent (clock seconds)."""
    request_id = await harness.request(command)
    sent: list[float] = []

    async def written_then_crashed(_: str) -> None:
        await write(harness.client)
        sent.append(harness.clock.monotonic())
        raise Crash

    harness.runtime.approvals.after_claim = written_then_crashed
    with pytest.raises(Crash):
        await harness.approve(request_id)
    assert (await harness.row(request_id)).status == "executing"
    return request_id, sent[0]


async def test_recovery_says_succeeded_only_once_the_operation_ended_then_watches_the_circuit(
    harness: Harness,
) -> None:
    command, write = CHANGES["provision"]
    request_id, written_at = await crash_after_writing(harness, command, write)
    assert harness.sim.cross_connection(EUAP_NEW).provisioning_state == "Updating"
    puts = harness.sim.calls[CROSS_CONNECTION_PUT]

    outcome = await harness.clock.run_until(harness.runtime.approvals.recover())

    assert outcome == {request_id: "succeeded"}
    assert harness.clock.monotonic() >= written_at + harness.sim.operation_seconds
    assert harness.sim.cross_connection(EUAP_NEW).provisioning_state == "Succeeded"
    assert harness.sim.calls[CROSS_CONNECTION_PUT] == puts, "recovery reads, never writes"
    row = await harness.row(request_id)
    assert "interrupted by a restart" in harness.thread_text(row)
    # followed in the approval's thread, exactly as a normal run is
    [watch] = await harness.runtime.watches.list_watches()
    assert (watch.provider, watch.resource_id, watch.request_id) == ("azure", EUAP_NEW, request_id)
    assert (watch.channel, watch.thread_ts) == ("CAPPROVALS", row.approvals_ts)


@pytest.mark.parametrize("verb", sorted(CHANGES))
async def test_every_azure_change_is_in_flight_while_its_resource_is_busy(
    harness: Harness, verb: str
) -> None:
    command, write = CHANGES[verb]
    request_id, written_at = await crash_after_writing(harness, command, write)
    engine = harness.runtime.approvals

    assert await engine.recover(wait=False) == {request_id: "executing"}
    assert (await harness.row(request_id)).status == "executing"

    assert await harness.clock.run_until(engine.recover()) == {request_id: "succeeded"}
    assert harness.clock.monotonic() >= written_at + harness.sim.operation_seconds


async def test_a_recovered_change_whose_operation_ends_failed_needs_attention(harness: Harness) -> None:
    command, write = CHANGES["notes"]
    harness.sim.fail_next_operations(1)
    request_id, _ = await crash_after_writing(harness, command, write)

    outcome = await harness.clock.run_until(harness.runtime.approvals.recover())

    assert outcome == {request_id: "needs_attention"}
    assert harness.sim.cross_connection(FABRIKAM).provisioning_state == "Failed"
    assert await harness.runtime.watches.list_watches() == []


async def test_a_change_still_in_flight_after_the_deadline_needs_attention(harness: Harness) -> None:
    harness.sim.operation_seconds = 10 * 24 * 3600  # an operation that never ends in time
    command, write = CHANGES["move"]
    request_id, written_at = await crash_after_writing(harness, command, write)
    engine = harness.runtime.approvals
    engine.settle_within_seconds = 600

    outcome = await harness.clock.run_until(engine.recover())

    assert outcome == {request_id: "needs_attention"}
    assert written_at + 600 <= harness.clock.monotonic() < written_at + 700
    row = await harness.row(request_id)
    assert "still in progress at the provider after 600 s" in row.error
    assert "*not* run again" in harness.thread_text(row)
    assert await harness.runtime.watches.list_watches() == []


async def test_start_up_does_not_wait_for_an_operation_in_flight_the_loop_follows_it(
    harness: Harness,
) -> None:
    command, write = CHANGES["provision"]
    request_id, written_at = await crash_after_writing(harness, command, write)
    engine = harness.runtime.approvals

    await engine.start()
    try:
        assert (await harness.row(request_id)).status == "executing"
        assert harness.clock.monotonic() == written_at

        async def recovered() -> str:
            while (status := (await harness.row(request_id)).status) == "executing":
                await harness.clock.sleep(1)
            return status

        assert await harness.clock.run_until(recovered()) == "succeeded"
    finally:
        await engine.stop()
    assert harness.clock.monotonic() >= written_at + harness.sim.operation_seconds
    assert [w.resource_id for w in await harness.runtime.watches.list_watches()] == [EUAP_NEW]
