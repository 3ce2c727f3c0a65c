"""Azure changes through approvals: request, approve, the conditional write, the long-running
operation followed to its end, the watch in the approval thread; refusals, 412s and recovery."""

from __future__ import annotations

import dataclasses
import json

import httpx
import pytest
from azure_support import (
    EUAP_NEW,
    EUAP_PROVISIONED,
    FABRIKAM,
    SEEDED_SHARED_KEY,
    Harness,
)

from circuitbot.actions.registry import Caller, OpContext, Role
from circuitbot.providers.azure.operations.move import move_choices, read_placement
from circuitbot.sandbox.faults import FaultConfig, QueuedFault
from circuitbot.sandbox.world import PortPair, World
from circuitbot.settings import Settings
from support.poster import message_text

CROSS_CONNECTION_PUT = (
    "PUT /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network"
    "/expressRouteCrossConnections/{crossConnectionName}"
)


class Crash(BaseException):
    """The process dies (not an error the engine would catch)."""


def world_with(*pairs: PortPair, shrink: dict[str, int] | None = None) -> World:
    """The demo world with extra port pairs, and some pairs' port bandwidth cut down."""
    world = World.demo()
    kept = [
        dataclasses.replace(p, port_bandwidth_mbps=(shrink or {}).get(p.descriptor, p.port_bandwidth_mbps))
        for p in world.port_pairs
    ]
    world.port_pairs = (*kept, *pairs)
    return world


async def refusal(harness: Harness, text: str) -> str:
    surface = await harness.command(text)
    [reply] = surface.replies
    assert "refused" in reply.text, reply.text
    return reply.text


# --- the move workflow --------------------------------------------------------------------------


async def test_move_end_to_end_through_an_approval(harness: Harness) -> None:
    sim = harness.sim
    request_id = await harness.request(f"az move {FABRIKAM}")
    row = await harness.row(request_id)
    assert row.preview["summary"] == (
        f"move {FABRIKAM} to bvtazureixpportpair3: primary port bvtazureixp01a → bvtazureixp03a, "
        "secondary bvtazureixp01b → bvtazureixp03b"
    )
    assert row.preview["changes"] == [
        ["port pair", "bvtazureixpportpair1", "bvtazureixpportpair3"],
        ["primary port", "bvtazureixp01a", "bvtazureixp03a"],
        ["secondary port", "bvtazureixp01b", "bvtazureixp03b"],
    ]
    assert any("Recommended bvtazureixpportpair3" in note for note in row.preview["notes"])
    approved_etag = row.precondition["etag"]
    assert approved_etag == sim.cross_connection(FABRIKAM).etag
    assert sim.calls[CROSS_CONNECTION_PUT] == 0, "nothing is written before the approval"
    message = message_text(harness.approval_message(row))
    assert "bvtazureixp01a" in message and "bvtazureixp03a" in message

    surface = await harness.approve(request_id, "UAPP1")

    assert "You approved" in surface.text
    row = await harness.row(request_id)
    assert row.status == "succeeded", row.error
    [put] = harness.recorder.sent("PUT", f"/expressRouteCrossConnections/{FABRIKAM}")
    assert put.headers["If-Match"] == approved_etag
    body = json.loads(put.content)
    # the whole resource as read, only the ports changed (Azure rejects anything less)
    assert body["location"] == "westus"
    assert body["properties"]["expressRouteCircuit"]["id"].endswith("/expressRouteCircuits/er1")
    assert body["properties"]["peeringLocation"] == "SiliconValley"
    assert body["properties"]["bandwidthInMbps"] == 1000
    assert body["properties"]["sTag"] == 2
    assert [p["name"] for p in body["properties"]["peerings"]] == ["AzurePrivatePeering"]
    assert (body["properties"]["primaryAzurePort"], body["properties"]["secondaryAzurePort"]) == (
        "bvtazureixp03a",
        "bvtazureixp03b",
    )
    # the operation was followed to its end before the result was read back
    assert harness.recorder.sent("GET", "/operations/")
    assert harness.clock.monotonic() >= sim.operation_seconds
    moved = sim.cross_connection(FABRIKAM)
    assert (moved.primary_port, moved.secondary_port, moved.provisioning_state) == (
        "bvtazureixp03a",
        "bvtazureixp03b",
        "Succeeded",
    )
    assert sim.used_bandwidth("bvtazureixpportpair1") == 0
    assert sim.used_bandwidth("bvtazureixpportpair3") == 2000
    thread = harness.thread_text(row)
    assert f"{FABRIKAM} moved to port pair bvtazureixpportpair3 (provisioning Succeeded)" in thread
    assert "primary port: bvtazureixp01a → *bvtazureixp03a*" in thread

    [watch] = await harness.runtime.watches.list_watches()
    assert (watch.provider, watch.resource_id, watch.request_id) == ("azure", FABRIKAM, request_id)
    assert (watch.channel, watch.thread_ts) == ("CAPPROVALS", row.approvals_ts)
    assert watch.snapshot["provisioningState"] == "Succeeded"
    assert watch.label == "er1 @ SiliconValley (24e6ea2b…)"
    await harness.deliver()
    assert "er1 @ SiliconValley" in harness.thread_text(row)


async def test_move_to_a_named_pair_refuses_another_location_the_current_pair_and_unknown_ones(
    harness: Harness,
) -> None:
    text = await refusal(harness, f"az move {FABRIKAM} bvtazureixpportpair2")
    assert "bvtazureixpportpair2 is at Seattle" in text and "is at SiliconValley" in text
    text = await refusal(harness, f"az move {FABRIKAM} BVTAZUREIXPPORTPAIR1")
    assert "already on port pair bvtazureixpportpair1" in text
    text = await refusal(harness, f"az move {FABRIKAM} nosuchpair")
    assert "no port pair `nosuchpair`" in text
    assert harness.sim.calls[CROSS_CONNECTION_PUT] == 0
    assert await harness.runtime.approvals.requests("all") == ([], 1, 1, 0)


async def test_move_refuses_a_pair_without_room_for_the_circuit(make_harness) -> None:
    # pair 3 shrunk to 1500 Mbps: Woodgrove's 1000 leaves 500, less than Fabrikam's 1000
    harness: Harness = await make_harness(world_with(shrink={"bvtazureixpportpair3": 1500}))

    text = await refusal(harness, f"az move {FABRIKAM} bvtazureixpportpair3")
    assert "bvtazureixpportpair3 has 500 Mbps free" in text and "needs 1,000 Mbps" in text

    text = await refusal(harness, f"az move {FABRIKAM}")
    assert "no other port pair at SiliconValley has 1,000 Mbps free" in text
    assert "bvtazureixpportpair3: 500 Mbps free, too little" in text


async def test_move_recommends_the_pair_with_the_most_headroom(make_harness) -> None:
    big = PortPair(
        "bvtazureixpportpair4", "SiliconValley", "bvtazureixp04a", "bvtazureixp04b", port_bandwidth_mbps=10000
    )
    harness: Harness = await make_harness(world_with(big))

    request_id = await harness.request(f"az move {FABRIKAM}")
    row = await harness.row(request_id)
    assert row.precondition["port_pair"] == "bvtazureixpportpair4"
    notes = " ".join(row.preview["notes"])
    assert "Recommended bvtazureixpportpair4: the most headroom at SiliconValley (10,000 Mbps free)" in notes
    assert "bvtazureixpportpair1 (current): 3,000 Mbps free" in notes
    assert "After the move bvtazureixpportpair4 has 9,000 Mbps free" in notes

    ctx = OpContext(harness.runtime, Caller("UREQ", frozenset({Role.REQUESTER})))
    choices = await harness.clock.run_until(move_choices(ctx, {"key": FABRIKAM}))
    assert [value for _, value in choices["port_pair"]] == ["bvtazureixpportpair4", "bvtazureixpportpair3"]
    assert choices["port_pair"][0][0] == "bvtazureixpportpair4 · SiliconValley · 10,000 Mbps free"

    # the approved recommendation is what runs, even if another pair had more room by then
    await harness.approve(request_id)
    assert harness.sim.cross_connection(FABRIKAM).port_pair == "bvtazureixpportpair4"


async def test_move_without_a_key_opens_the_modal_with_the_port_pairs_to_choose(harness: Harness) -> None:
    surface = await harness.command("az move")
    [view] = surface.modals
    assert "loading choices" in json.dumps(view)
    [filled] = surface.updated_modals
    [select] = [b for b in filled["blocks"] if b.get("block_id") == "port_pair"]
    options = [o["value"] for o in select["element"]["options"]]
    assert set(options) == {p.descriptor for p in harness.sim.world.port_pairs}
    assert select["optional"] is True


async def test_a_circuit_changed_after_approval_is_refused_before_anything_is_written(
    harness: Harness,
) -> None:
    harness.sim.conditional_headers = False  # as ARM may: the spec declares no If-Match
    request_id = await harness.request(f"az move {FABRIKAM} bvtazureixpportpair3")
    # someone else writes the circuit between the request and the approval
    await harness.clock.run_until(harness.client.set_notes(FABRIKAM, "re-patched by the field team"))
    puts = harness.sim.calls[CROSS_CONNECTION_PUT]

    await harness.approve(request_id)

    row = await harness.row(request_id)
    assert row.status == "failed"
    assert "changed since the request was reviewed for approval" in row.error
    assert "request it again" in row.error
    assert harness.sim.calls[CROSS_CONNECTION_PUT] == puts, "the etag is compared before writing"
    assert harness.sim.cross_connection(FABRIKAM).primary_port == "bvtazureixp01a"
    assert harness.sim.cross_connection(FABRIKAM).notes == "re-patched by the field team"
    assert harness.sim.used_bandwidth("bvtazureixpportpair3") == 1000
    assert "changed since the request was reviewed for approval" in harness.thread_text(row)
    assert await harness.runtime.watches.list_watches() == []


async def test_a_change_between_the_last_read_and_the_write_is_refused_by_if_match(harness: Harness) -> None:
    request_id = await harness.request(f"az move {FABRIKAM} bvtazureixpportpair3")
    approved_etag = (await harness.row(request_id)).precondition["etag"]
    circuit = harness.sim.cross_connection(FABRIKAM)

    def someone_writes_first(request: httpx.Request) -> None:
        if request.method == "PUT":
            circuit.notes, circuit.etag = "changed in between", 'W/"theirs"'

    harness.recorder.before = someone_writes_first

    await harness.approve(request_id)

    row = await harness.row(request_id)
    assert row.status == "failed"
    assert "changed since the request was reviewed for approval" in row.error
    [put] = harness.recorder.sent("PUT", "/expressRouteCrossConnections/")
    assert put.headers["If-Match"] == approved_etag
    assert (circuit.primary_port, circuit.notes) == ("bvtazureixp01a", "changed in between")


async def test_an_approved_write_whose_answer_is_lost_is_confirmed_by_reading_not_sent_again(
    harness: Harness,
) -> None:
    request_id = await harness.request(f"az move {FABRIKAM} bvtazureixpportpair3")
    harness.sim.faults = FaultConfig(fail_next=[QueuedFault(kind="process_then_drop", method="PUT")])

    await harness.approve(request_id)

    row = await harness.row(request_id)
    assert row.status == "succeeded", row.error
    assert harness.sim.calls[CROSS_CONNECTION_PUT] == 1
    assert len(harness.recorder.sent("PUT", "/expressRouteCrossConnections/")) == 1
    moved = harness.sim.cross_connection(FABRIKAM)
    assert (moved.port_pair, moved.provisioning_state) == ("bvtazureixpportpair3", "Succeeded")
    assert f"{FABRIKAM} moved to port pair bvtazureixpportpair3 (provisioning Succeeded)" in (
        harness.thread_text(row)
    )


async def test_an_approved_write_that_was_lost_before_azure_saw_it_is_reported_not_retried(
    harness: Harness,
) -> None:
    request_id = await harness.request(f"az provision {EUAP_NEW}")
    harness.sim.faults = FaultConfig(fail_next=[QueuedFault(kind="drop", method="PUT")])

    await harness.approve(request_id)

    row = await harness.row(request_id)
    assert row.status == "needs_attention"  # not "failed": nobody should simply request it again
    assert "was lost" in row.error and "not sent again" in row.error
    assert f"`az show {EUAP_NEW}` tells which" in row.error
    assert len(harness.recorder.sent("PUT", "/expressRouteCrossConnections/")) == 1
    assert harness.sim.cross_connection(EUAP_NEW).provider_state == "NotProvisioned"


async def test_a_crash_before_the_write_needs_attention_and_is_not_run_again(harness: Harness) -> None:
    request_id = await harness.request(f"az move {FABRIKAM} bvtazureixpportpair3")

    async def crash(_: str) -> None:
        raise Crash

    harness.runtime.approvals.after_claim = crash
    with pytest.raises(Crash):
        await harness.approve(request_id)
    assert (await harness.row(request_id)).status == "executing"

    assert await harness.runtime.approvals.recover() == {request_id: "needs_attention"}
    assert "not visible" in (await harness.row(request_id)).error
    assert harness.sim.calls[CROSS_CONNECTION_PUT] == 0
    assert harness.sim.cross_connection(FABRIKAM).port_pair == "bvtazureixpportpair1"


async def test_a_crash_after_the_write_is_reconciled_by_reading_the_ports(harness: Harness) -> None:
    request_id = await harness.request(f"az move {FABRIKAM} bvtazureixpportpair3")

    async def moved_then_crashed(_: str) -> None:
        await harness.client.move_to_port_pair(FABRIKAM, "bvtazureixpportpair3")
        raise Crash

    harness.runtime.approvals.after_claim = moved_then_crashed
    with pytest.raises(Crash):
        await harness.approve(request_id)
    puts = harness.sim.calls[CROSS_CONNECTION_PUT]

    outcome = await harness.clock.run_until(harness.runtime.approvals.recover())

    assert outcome == {request_id: "succeeded"}
    assert harness.sim.calls[CROSS_CONNECTION_PUT] == puts, "recovery reads, never writes"


# --- provisioning state and notes ---------------------------------------------------------------


async def test_provision_and_deprovision(harness: Harness) -> None:
    request_id = await harness.request(f"az provision {EUAP_NEW}")
    row = await harness.row(request_id)
    assert row.preview["changes"] == [["serviceProviderProvisioningState", "NotProvisioned", "Provisioned"]]

    await harness.approve(request_id)

    assert (await harness.row(request_id)).status == "succeeded"
    assert harness.sim.cross_connection(EUAP_NEW).provider_state == "Provisioned"
    [put] = harness.recorder.sent("PUT", f"/expressRouteCrossConnections/{EUAP_NEW}")
    assert put.headers["If-Match"] == row.precondition["etag"]
    sent = json.loads(put.content)
    assert sent["location"] == "eastus2euap" and sent["properties"]["peeringLocation"] == "EUAP Test"
    assert f"{EUAP_NEW} is now Provisioned" in harness.thread_text(row)
    assert [w.resource_id for w in await harness.runtime.watches.list_watches()] == [EUAP_NEW]

    assert "already Provisioned" in await refusal(harness, f"az provision {EUAP_NEW}")

    request_id = await harness.request(f"az deprovision {EUAP_NEW}")
    await harness.approve(request_id)
    assert harness.sim.cross_connection(EUAP_NEW).provider_state == "NotProvisioned"


async def test_a_crash_after_provisioning_is_reconciled_by_its_state(harness: Harness) -> None:
    request_id = await harness.request(f"az provision {EUAP_NEW}")

    async def provisioned_then_crashed(_: str) -> None:
        await harness.client.set_provisioning_state(EUAP_NEW, "Provisioned")
        raise Crash

    harness.runtime.approvals.after_claim = provisioned_then_crashed
    with pytest.raises(Crash):
        await harness.approve(request_id)
    assert await harness.clock.run_until(harness.runtime.approvals.recover()) == {request_id: "succeeded"}


async def test_notes_take_the_rest_of_the_line(harness: Harness) -> None:
    request_id = await harness.request(f"az notes {FABRIKAM} patched at SV1, rack 12 port 7")
    await harness.approve(request_id)

    assert harness.sim.cross_connection(FABRIKAM).notes == "patched at SV1, rack 12 port 7"
    shown = message_text((await harness.command(f"az show {FABRIKAM}")).last)
    assert "*Notes*\\npatched at SV1, rack 12 port 7" in shown
    assert "already say that" in await refusal(harness, f"az notes {FABRIKAM} patched at SV1, rack 12 port 7")


async def test_a_change_while_another_is_running_is_refused(harness: Harness) -> None:
    await harness.clock.run_until(harness.client.set_notes(FABRIKAM, "busy", wait=False))
    assert "is Updating: another change is still running" in await refusal(
        harness, f"az deprovision {FABRIKAM}"
    )


async def test_a_peering_change_while_its_peering_is_updating_is_refused(harness: Harness) -> None:
    await harness.clock.run_until(
        harness.client.put_peering(EUAP_PROVISIONED, "AzurePrivatePeering", {"vlanId": 201}, wait=False),
    )
    text = await refusal(harness, f"az peering-delete {EUAP_PROVISIONED} private")
    assert f"AzurePrivatePeering of {EUAP_PROVISIONED} is Updating: another change is still running" in text


async def test_a_placement_repr_leaves_out_the_circuit_as_read(harness: Harness) -> None:
    ctx = OpContext(harness.runtime, Caller("UREQ", frozenset({Role.REQUESTER})))
    place = await harness.clock.run_until(read_placement(ctx, EUAP_PROVISIONED))
    assert SEEDED_SHARED_KEY in json.dumps(place.current.raw)  # the peerings as read carry the key
    assert SEEDED_SHARED_KEY not in repr(place)


# --- peerings -----------------------------------------------------------------------------------


async def test_create_a_microsoft_peering_with_a_shared_key_that_is_never_shown(harness: Harness) -> None:
    secret = "Zx9-very-secret"
    surface = await harness.command(
        f"az peering {EUAP_PROVISIONED} microsoft peer-asn=900 vlan-id=300 primary-prefix=203.0.113.0/30 "
        f"secondary-prefix=203.0.113.4/30 advertised-prefixes=203.0.113.128/25 routing-registry=arin "
        f"customer-asn=45 shared-key={secret}"
    )
    request_id = surface.text.split("Request `")[1][:7]
    row = await harness.row(request_id)
    assert row.preview["summary"] == f"create MicrosoftPeering of {EUAP_PROVISIONED} (VLAN 300, peer ASN 900)"
    assert row.precondition == {"absent": True}

    await harness.approve(request_id)

    assert (await harness.row(request_id)).status == "succeeded"
    [put] = harness.recorder.sent("PUT", "/peerings/MicrosoftPeering")
    assert "If-Match" not in put.headers
    assert put.headers["If-None-Match"] == "*"  # create only
    sent = json.loads(put.content)["properties"]
    assert sent["sharedKey"] == secret
    assert sent["microsoftPeeringConfig"] == {
        "advertisedPublicPrefixes": ["203.0.113.128/25"],
        "routingRegistryName": "ARIN",
        "customerASN": 45,
    }
    peering = harness.sim.cross_connection(EUAP_PROVISIONED).peerings["microsoftpeering"].properties
    assert (peering["state"], peering["provisioningState"], peering["azureASN"]) == (
        "Enabled",
        "Succeeded",
        12076,
    )
    assert peering["microsoftPeeringConfig"]["advertisedPublicPrefixesState"] == "Configured"
    seen = surface.text + harness.poster.everything() + json.dumps(row.preview)
    assert secret not in seen and SEEDED_SHARED_KEY not in seen
    assert "advertised `203.0.113.128/25` (Configured)" in harness.thread_text(row)


async def test_update_a_peering_shows_only_what_changes_and_writes_with_its_etag(harness: Harness) -> None:
    base = (
        f"az peering {FABRIKAM} private peer-asn=65010 primary-prefix=10.10.0.0/30 "
        "secondary-prefix=10.10.0.4/30"
    )
    peering_etag = harness.sim.cross_connection(FABRIKAM).peerings["azureprivatepeering"].etag
    request_id = await harness.request(f"{base} vlan-id=211")
    row = await harness.row(request_id)
    assert row.preview["changes"] == [["VLAN", 210, 211]]
    assert row.precondition == {"etag": peering_etag}

    await harness.approve(request_id)

    [put] = harness.recorder.sent("PUT", "/peerings/AzurePrivatePeering")
    assert put.headers["If-Match"] == peering_etag
    assert harness.sim.cross_connection(FABRIKAM).peerings["azureprivatepeering"].properties["vlanId"] == 211
    assert "nothing to change" in await refusal(harness, f"{base} vlan-id=211")


async def test_peerings_need_a_provisioned_circuit_and_a_free_vlan(harness: Harness) -> None:
    fields = "peer-asn=65020 primary-prefix=10.20.0.0/30 secondary-prefix=10.20.0.4/30"
    text = await refusal(harness, f"az peering {EUAP_NEW} private vlan-id=220 {fields}")
    assert "is NotProvisioned: peerings can be configured once it is Provisioned" in text
    assert f"`az provision {EUAP_NEW}`" in text

    text = await refusal(
        harness,
        f"az peering {EUAP_PROVISIONED} microsoft vlan-id=200 {fields} advertised-prefixes=198.51.100.0/24 "
        "routing-registry=RADB",
    )
    assert "VLAN 200 is already used by AzurePrivatePeering" in text

    text = await refusal(
        harness,
        f"az peering {EUAP_NEW} private vlan-id=220 peer-asn=65020 "
        "primary-prefix=3ffe:ffff::/126 secondary-prefix=3ffe:ffff::4/126",
    )
    assert "is NotProvisioned" in text


async def test_delete_a_peering_with_two_approvals_from_settings(make_harness, settings: Settings) -> None:
    two = settings.model_copy(update={"approvals_required": {"azure.peering-delete": 2}})
    harness: Harness = await make_harness(settings_=two)
    peering_etag = harness.sim.cross_connection(EUAP_PROVISIONED).peerings["azureprivatepeering"].etag

    request_id = await harness.request(f"az peering-delete {EUAP_PROVISIONED} private")
    row = await harness.row(request_id)
    assert row.approvals_required == 2
    assert row.preview["changes"] == [
        ["AzurePrivatePeering", "VLAN 200 · peer ASN 500 · 10.0.0.0/30 + 10.0.0.4/30", None]
    ]
    first = await harness.approve(request_id, "UAPP1")
    assert "1 of 2" in first.text
    assert "azureprivatepeering" in harness.sim.cross_connection(EUAP_PROVISIONED).peerings

    await harness.approve(request_id, "UAPP2")

    assert (await harness.row(request_id)).status == "succeeded"
    [delete] = harness.recorder.sent("DELETE", "/peerings/AzurePrivatePeering")
    assert delete.headers["If-Match"] == peering_etag
    assert harness.sim.cross_connection(EUAP_PROVISIONED).peerings == {}
    assert "has no AzurePrivatePeering" in await refusal(
        harness, f"az peering-delete {EUAP_PROVISIONED} private"
    )


async def test_an_operation_that_ends_failed_reports_azures_error(harness: Harness) -> None:
    request_id = await harness.request(f"az move {FABRIKAM} bvtazureixpportpair3")
    harness.sim.fail_next_operations(
        code="PortPairUnavailable", message="The port pair is under maintenance."
    )

    await harness.approve(request_id)

    row = await harness.row(request_id)
    assert row.status == "failed"
    assert row.error == "Azure PortPairUnavailable: The port pair is under maintenance."
    assert harness.sim.cross_connection(FABRIKAM).provisioning_state == "Failed"
    assert await harness.runtime.watches.list_watches() == []


async def test_a_peering_created_by_someone_else_meanwhile_is_not_overwritten(harness: Harness) -> None:
    fields = (
        "peer-asn=900 vlan-id=300 primary-prefix=203.0.113.0/30 secondary-prefix=203.0.113.4/30 "
        "advertised-prefixes=203.0.113.128/25 routing-registry=ARIN"
    )
    request_id = await harness.request(f"az peering {EUAP_PROVISIONED} microsoft {fields}")
    theirs = {
        "peerASN": 65123,
        "vlanId": 301,
        "primaryPeerAddressPrefix": "198.51.100.0/30",
        "secondaryPeerAddressPrefix": "198.51.100.4/30",
        "microsoftPeeringConfig": {
            "advertisedPublicPrefixes": ["198.51.100.128/25"],
            "routingRegistryName": "RADB",
        },
    }
    await harness.clock.run_until(harness.client.put_peering(EUAP_PROVISIONED, "MicrosoftPeering", theirs))

    await harness.approve(request_id)

    row = await harness.row(request_id)
    assert row.status == "failed"
    assert "was created by someone else" in row.error
    peering = harness.sim.cross_connection(EUAP_PROVISIONED).peerings["microsoftpeering"].properties
    assert (peering["peerASN"], peering["vlanId"]) == (65123, 301)


async def test_a_peering_created_between_the_last_read_and_the_write_is_refused_by_if_none_match(
    harness: Harness,
) -> None:
    fields = (
        "peer-asn=900 vlan-id=300 primary-prefix=203.0.113.0/30 secondary-prefix=203.0.113.4/30 "
        "advertised-prefixes=203.0.113.128/25 routing-registry=ARIN"
    )
    request_id = await harness.request(f"az peering {EUAP_PROVISIONED} microsoft {fields}")
    circuit = harness.sim.cross_connection(EUAP_PROVISIONED)
    private = circuit.peerings["azureprivatepeering"]
    theirs = dataclasses.replace(private, name="MicrosoftPeering", etag='W/"t"')

    def someone_creates_it_first(request: httpx.Request) -> None:
        if request.method == "PUT":
            circuit.peerings["microsoftpeering"] = theirs

    harness.recorder.before = someone_creates_it_first

    await harness.approve(request_id)

    row = await harness.row(request_id)
    assert row.status == "failed"
    assert "was created by someone else" in row.error
    [put] = harness.recorder.sent("PUT", "/peerings/MicrosoftPeering")
    assert put.headers["If-None-Match"] == "*"
    assert circuit.peerings["microsoftpeering"] is theirs


@pytest.mark.parametrize("verb", ["update", "delete"])
async def test_a_peering_changed_after_approval_is_refused_before_anything_is_written(
    harness: Harness, verb: str
) -> None:
    harness.sim.conditional_headers = False  # as ARM may: the spec declares no If-Match
    command = (
        f"az peering {FABRIKAM} private peer-asn=65010 primary-prefix=10.10.0.0/30 "
        "secondary-prefix=10.10.0.4/30 vlan-id=211"
        if verb == "update"
        else f"az peering-delete {FABRIKAM} private"
    )
    request_id = await harness.request(command)
    theirs = {
        "peerASN": 65099,
        "vlanId": 299,
        "primaryPeerAddressPrefix": "10.99.0.0/30",
        "secondaryPeerAddressPrefix": "10.99.0.4/30",
    }
    await harness.clock.run_until(harness.client.put_peering(FABRIKAM, "AzurePrivatePeering", theirs))
    writes = len(harness.recorder.sent("PUT")) + len(harness.recorder.sent("DELETE"))

    await harness.approve(request_id)

    row = await harness.row(request_id)
    assert row.status == "failed"
    assert "changed since the request was reviewed for approval" in row.error
    assert len(harness.recorder.sent("PUT")) + len(harness.recorder.sent("DELETE")) == writes
    peering = harness.sim.cross_connection(FABRIKAM).peerings["azureprivatepeering"].properties
    assert (peering["peerASN"], peering["vlanId"]) == (65099, 299)
