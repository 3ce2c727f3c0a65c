"""What each change's ``verify`` finds at Console Connect after a crash: the change landed, did
not land, or is still on its way; and a recovered approval is settled by it."""

from __future__ import annotations

from cc_support import CONTOSO, CREATE, NEW_KEY, PORT_A, PORT_B, Harness

from circuitbot.actions.registry import Caller, OpContext, Role, Verified
from circuitbot.providers.consoleconnect import models as m
from circuitbot.providers.consoleconnect.operations import connections, peerings
from circuitbot.providers.consoleconnect.operations.params import (
    ConnectionParams,
    CreateParams,
    PeeringParams,
    PeeringRefParams,
)

CREATE_CALL = "PUT /api/company/{username}/connections/directConnectPartner/AZURE/layer2/create"


def context(harness: Harness) -> OpContext:
    return OpContext(harness.runtime, Caller("UREQ", frozenset({Role.REQUESTER})))


async def verified(harness: Harness, verify, params) -> Verified:  # type: ignore[no-untyped-def]
    return await harness.clock.run_until(verify(context(harness), params, {}))


async def test_create_verifies_by_the_keys_connection(harness: Harness) -> None:
    params = CreateParams(service_key=NEW_KEY, name="Contoso-DC", port_a=PORT_A, port_b=PORT_B, speed=200)
    assert await verified(harness, connections.create_verify, params) is Verified.NOT_LANDED
    await harness.approve(await harness.request(CREATE))
    assert await verified(harness, connections.create_verify, params) is Verified.LANDED


async def test_peering_verifies_by_its_values(harness: Harness) -> None:
    params = PeeringParams(
        connection_id=CONTOSO,
        peering_type="PRIVATE",
        peer_asn=65010,
        vlan_id=310,
        primary_prefix="10.31.0.0/30",
        secondary_prefix="10.31.0.4/30",
    )
    assert await verified(harness, peerings.peering_verify, params) is Verified.NOT_LANDED
    await harness.client.update_peering(CONTOSO, "PRIVATE", params.request())
    assert await verified(harness, peerings.peering_verify, params) is Verified.LANDED


async def test_deletes_verify_by_what_is_gone(harness: Harness) -> None:
    peering = PeeringRefParams(connection_id=CONTOSO, peering_type="PRIVATE")
    connection = ConnectionParams(connection_id=CONTOSO)
    assert await verified(harness, peerings.peering_delete_verify, peering) is Verified.NOT_LANDED
    assert await verified(harness, connections.delete_verify, connection) is Verified.NOT_LANDED
    await harness.client.delete_peering(CONTOSO, "PRIVATE")
    await harness.client.delete_connection(CONTOSO)
    assert await verified(harness, peerings.peering_delete_verify, peering) is Verified.LANDED
    assert await verified(harness, connections.delete_verify, connection) is Verified.LANDED
    assert m.same_status((await harness.client.get_connection(CONTOSO)).status, "DELETING")


class Crash(BaseException):
    """The process dies (not an error the engine would catch)."""


async def crash_after(harness: Harness, command: str, write) -> str:  # type: ignore[no-untyped-def]
    """Request and approve ``command``; its run does ``write`` (or nothing) and dies."""
    request_id = await harness.request(command)

    async def crashed(_: str) -> None:
        if write is not None:
            await write()
        raise Crash

    harness.runtime.approvals.after_claim = crashed
    try:
        await harness.approve(request_id)
    except Crash:
        pass
    assert (await harness.row(request_id)).status == "executing"
    return request_id


async def test_a_create_that_reached_console_connect_before_a_crash_is_not_ordered_again(
    harness: Harness,
) -> None:
    order = m.AzureLayer2CreateRequest(
        azure_service_key=NEW_KEY,
        name="Contoso-DC",
        src_port=[m.PortRef(port_id=PORT_A), m.PortRef(port_id=PORT_B)],
        speed=200,
    )
    request_id = await crash_after(harness, CREATE, lambda: harness.client.create_azure_connection(order))
    assert harness.sim.calls[CREATE_CALL] == 1

    outcome = await harness.clock.run_until(harness.runtime.approvals.recover())

    assert outcome == {request_id: "succeeded"}
    assert harness.sim.calls[CREATE_CALL] == 1, "recovery reads, never orders again"


async def test_a_create_that_never_left_before_a_crash_is_said_so(harness: Harness) -> None:
    request_id = await crash_after(harness, CREATE, None)

    outcome = await harness.clock.run_until(harness.runtime.approvals.recover())

    assert outcome == {request_id: "needs_attention"}  # not run again: a person decides
    assert await harness.client.find_by_service_key(NEW_KEY) is None
