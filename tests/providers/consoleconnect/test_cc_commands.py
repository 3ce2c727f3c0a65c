"""The Console Connect commands through the Router, on the in-process simulator: the reads, and
every change through an approval to the watch that follows it."""

from __future__ import annotations

import json

from cc_support import (
    CONTOSO,
    CREATE,
    NEW_KEY,
    PORT_A,
    PORT_B,
    SEEDED_SHARED_KEY,
    TAILSPIN,
    UNKNOWN_KEY,
    USED_KEY,
    WOODGROVE,
    Harness,
)
from sqlalchemy import select

from circuitbot.store.tables import AuditEvent
from support.poster import message_text

CREATE_CALL = "PUT /api/company/{username}/connections/directConnectPartner/AZURE/layer2/create"
PEERING_POST = (
    "POST /api/company/{username}/connections/directConnectPartner/AZURE/layer2/{connectionId}"
    "/peering/{peeringType}"
)
PRIVATE = (
    "peer-asn=65010 vlan-id=310 primary-prefix=10.31.0.0/30 secondary-prefix=10.31.0.4/30 "
    "shared-key=Zz9-bgp-key"
)


def change(field: str, before: str, after: str) -> str:
    """A transition as the watch announces it."""
    return f"`{field}`: {before} → *{after}*"


async def refusal(harness: Harness, text: str) -> str:
    surface = await harness.command(text)
    assert "refused" in surface.text, surface.text
    return surface.text


async def created(harness: Harness) -> str:
    """Order the new key's connection through an approval; its id."""
    request_id = await harness.request(CREATE)
    await harness.approve(request_id)
    connection = await harness.client.find_by_service_key(NEW_KEY)
    assert connection is not None
    return connection.id


# --- reads ------------------------------------------------------------------------------------


async def test_verify_shows_what_a_key_resolves_to_and_says_plainly_when_it_is_not_valid(
    harness: Harness,
) -> None:
    good = await harness.command(f"cc verify {NEW_KEY}")
    assert "Service key verified" in good.text and "200 Mbps" in good.text and "EUAP Test" in good.text
    bad = await harness.command(f"cc verify {UNKNOWN_KEY}")
    assert "does not accept the service key" in bad.text and "is not valid" in bad.text
    typo = await harness.command("cc verify not-a-key")
    assert "an Azure service key is a GUID" in typo.text


async def test_ports_list_and_show(harness: Harness) -> None:
    ports = await harness.command("cc ports")
    assert PORT_A in ports.text and "Acme-DC2-01" in ports.text and "Equinix DC2" in ports.text

    listed = await harness.command("cc list")
    assert (
        all(cid in listed.text for cid in (CONTOSO, WOODGROVE, TAILSPIN)) and "3 connections" in listed.text
    )
    deleting = await harness.command("cc list deleting")
    assert TAILSPIN in deleting.text and CONTOSO not in deleting.text

    shown = await harness.command(f"cc show {CONTOSO}")
    for part in (
        "ACTIVE",
        "PROVISIONED",
        "200 Mbps",
        "GROUP_LAYER2",
        USED_KEY,
        "Sub-connections",
        "PRIVATE",
        "SYNCED",
    ):
        assert part in shown.text, part
    assert SEEDED_SHARED_KEY not in shown.text
    before = await harness.command(f"cc show {TAILSPIN}")
    assert "once the connection is ACTIVE" in before.text
    absent = await harness.command("cc show 000000000000000000000000")
    assert "Console Connect NotFound" in absent.text and "`cc list` shows the connections" in absent.text


async def test_peering_show_gives_the_config_and_its_sync_status(harness: Harness) -> None:
    shown = await harness.command(f"cc peering-show {WOODGROVE} microsoft")
    assert "MICROSOFT peering" in shown.text and "SYNCED" in shown.text and "ARIN" in shown.text
    assert "203.0.113.128/25" in shown.text
    none = await harness.command(f"cc peering-show {CONTOSO} public")
    assert "has no PUBLIC peering config" in none.text
    wrong = await harness.command(f"cc peering-show {CONTOSO} sideways")
    assert "PUBLIC" in wrong.text and "PRIVATE" in wrong.text


# --- create -----------------------------------------------------------------------------------


async def test_create_through_an_approval_orders_a_group_of_two_legs_and_watches_it_to_active(
    harness: Harness,
) -> None:
    request_id = await harness.request(CREATE)
    row = await harness.row(request_id)
    assert row.preview["changes"][1:3] == [
        ["source port A", None, "Acme-DC2-01"],
        ["source port B", None, "Acme-DC2-02"],
    ]
    assert any("Service key verified: 200 Mbps at EUAP Test" in note for note in row.preview["notes"])
    assert harness.sim.calls[CREATE_CALL] == 0, "nothing is ordered before the approval"

    await harness.approve(request_id)
    [put] = harness.recorder.sent("PUT")
    assert [p["portId"] for p in json.loads(put.content)["srcPort"]] == [PORT_A, PORT_B]
    connection = await harness.client.find_by_service_key(NEW_KEY)
    assert connection is not None and connection.status == "CREATING"
    thread = harness.thread_text(await harness.row(request_id))
    assert f"Connection *Contoso-DC* `{connection.id}` ordered" in thread

    [watch] = await harness.runtime.watches.list_watches()
    assert (watch.provider, watch.resource_id) == ("consoleconnect", connection.id)
    await harness.poll(20)
    thread = harness.thread_text(await harness.row(request_id))
    assert change("status", "CREATING", "ACTIVE") in thread
    assert change("partnerPeering", "NOT PROVISIONED", "PROVISIONED") in thread


async def test_create_refuses_a_used_or_unknown_key_a_foreign_port_and_too_much_speed(
    harness: Harness,
) -> None:
    text = await refusal(harness, CREATE.replace(NEW_KEY, USED_KEY))
    assert f"already has connection `{CONTOSO}`" in text
    text = await harness.command(CREATE.replace(NEW_KEY, UNKNOWN_KEY))
    assert "does not accept the service key" in text.text
    text = await refusal(harness, CREATE.replace(PORT_B, "5893d943878d635dde318099"))
    assert "not one of the company's ports" in text
    text = await refusal(harness, CREATE.replace("speed=200", "speed=1000"))
    assert "more than the circuit's 200 Mbps" in text
    same = await harness.command(CREATE.replace(PORT_B, PORT_A))
    assert "choose two different ports" in same.text
    assert harness.sim.calls[CREATE_CALL] == 0
    assert (await harness.runtime.approvals.requests("all"))[0] == []


async def test_create_without_its_parameters_opens_a_form_offering_the_companys_ports(
    harness: Harness,
) -> None:
    surface = await harness.command(f"cc create {NEW_KEY}")
    [view] = surface.modals
    [filled] = surface.updated_modals
    ports = next(b for b in filled["blocks"] if b.get("block_id") == "port_a")
    assert PORT_A in {o["value"] for o in ports["element"]["options"]}
    chosen = {"service_key": NEW_KEY, "name": "Contoso-DC", "port_a": PORT_A, "speed": "200"}
    errors, _ = await harness.submit(filled, chosen | {"port_b": PORT_A})
    assert errors is not None and "port_b" in errors
    errors, submitted = await harness.submit(filled, chosen | {"port_b": PORT_B})
    assert errors is None
    assert "created" in submitted.text and view["callback_id"] == filled["callback_id"]


# --- peering ----------------------------------------------------------------------------------


async def test_a_peering_is_refused_before_the_connection_is_active(harness: Harness) -> None:
    connection_id = await created(harness)
    text = await refusal(harness, f"cc peering {connection_id} PRIVATE {PRIVATE}")
    assert "is CREATING" in text and "only once the connection is ACTIVE" in text
    text = await refusal(harness, f"cc peering {TAILSPIN} PRIVATE {PRIVATE}")
    assert "is DELETING" in text
    assert harness.sim.calls[PEERING_POST] == 0


async def test_private_peering_through_an_approval_is_announced_as_it_syncs(harness: Harness) -> None:
    harness.sim.state.peering_seconds = 40  # PENDING for 13 s, SYNCING until 40 s: each one polled

    request_id = await harness.request(f"cc peering {CONTOSO} private {PRIVATE}")
    row = await harness.row(request_id)
    assert ["shared key", "••••", "•••• (new)"] not in row.preview["changes"]
    assert ["shared key", None, "•••• (new)"] in row.preview["changes"]
    assert ["VLAN", 200, 310] in row.preview["changes"]
    await harness.approve(request_id)
    assert harness.sim.connection(CONTOSO).peerings["PRIVATE"].config["sharedKey"] == "Zz9-bgp-key"
    row = await harness.row(request_id)
    assert "The PRIVATE peering" in harness.thread_text(row) and "PENDING" in harness.thread_text(row)
    [watch] = await harness.runtime.watches.list_watches()
    assert (watch.resource_id, watch.thread_ts) == (CONTOSO, row.approvals_ts)

    for _ in range(3):
        await harness.poll(16)
    thread = harness.thread_text(row)
    assert change("peering[PRIVATE].syncStatus", "PENDING", "SYNCING") in thread
    assert change("peering[PRIVATE].syncStatus", "SYNCING", "SYNCED") in thread
    shown = await harness.command(f"cc peering-show {CONTOSO} private")
    assert "SYNCED" in shown.text and "Zz9-bgp-key" not in shown.text
    assert "Zz9-bgp-key" not in harness.poster.everything()
    async with harness.runtime.db.session() as session:
        audited = " ".join(json.dumps(a.detail) for a in (await session.scalars(select(AuditEvent))).all())
    assert "Zz9-bgp-key" not in audited


async def test_a_peering_on_a_new_connection_once_it_is_active(harness: Harness) -> None:
    connection_id = await created(harness)
    await harness.poll(20)
    request_id = await harness.request(f"cc peering {connection_id} PRIVATE {PRIVATE}")
    await harness.approve(request_id)
    assert (await harness.row(request_id)).status == "succeeded"
    await harness.clock.advance(10)
    assert "SYNCED" in (await harness.command(f"cc peering-show {connection_id} PRIVATE")).text


async def test_microsoft_peering_needs_its_prefixes_and_registry(harness: Harness) -> None:
    missing = await harness.command(f"cc peering {WOODGROVE} microsoft {PRIVATE}")
    assert "needs the public prefixes" in missing.text
    private_space = await harness.command(
        f"cc peering {WOODGROVE} microsoft {PRIVATE} advertised-prefixes=10.1.0.0/24 routing-registry=arin"
    )
    assert "private address space" in private_space.text
    request_id = await harness.request(
        f"cc peering {WOODGROVE} microsoft {PRIVATE} "
        "advertised-prefixes=198.51.100.0/24 routing-registry=ripencc"
    )
    await harness.approve(request_id)
    config = harness.sim.connection(WOODGROVE).peerings["MICROSOFT"].config
    assert (
        config["advertisedPublicPrefixes"] == ["198.51.100.0/24"]
        and config["routingRegistryName"] == "RIPENCC"
    )


async def test_a_peering_changed_after_review_is_not_overwritten(harness: Harness) -> None:
    request_id = await harness.request(f"cc peering {CONTOSO} private {PRIVATE}")
    harness.sim.connection(CONTOSO).peerings["PRIVATE"].config["vlanId"] = 999  # someone else's change
    await harness.approve(request_id)
    row = await harness.row(request_id)
    assert row.status == "failed" and "changed since the request was reviewed" in harness.thread_text(row)
    assert harness.sim.calls[PEERING_POST] == 0


async def test_peering_delete_and_delete_through_approvals(harness: Harness) -> None:
    request_id = await harness.request(f"cc peering-delete {CONTOSO} private")
    await harness.approve(request_id)
    assert "PRIVATE" not in harness.sim.connection(CONTOSO).peerings
    text = await refusal(harness, f"cc peering-delete {CONTOSO} private")
    assert "has no PRIVATE peering config" in text

    request_id = await harness.request(f"cc delete {CONTOSO}")
    row = await harness.row(request_id)
    assert row.preview["changes"][0] == ["status", "ACTIVE", "DELETING"]
    await harness.approve(request_id)
    assert harness.sim.status_of(CONTOSO) == ("DELETING", "DEPROVISIONING")
    await harness.poll(301)  # the connection's watch, started by the peering-delete, polls it stable
    assert change("status", "ACTIVE", "DELETED") in harness.poster.everything()
    assert [w.resource_id for w in await harness.runtime.watches.list_watches()] == []
    text = await refusal(harness, f"cc delete {CONTOSO}")
    assert "already DELETED" in text


async def test_every_reply_is_text_a_person_can_read(harness: Harness) -> None:
    for text in (f"cc show {CONTOSO}", "cc list", "cc ports", "help cc peering"):
        surface = await harness.command(text)
        assert "Traceback" not in surface.text and ":warning:" not in surface.text
        assert all(message_text(r) for r in surface.replies)


async def test_peering_without_its_values_opens_a_form_whose_submission_is_a_request(
    harness: Harness,
) -> None:
    surface = await harness.command(f"cc peering {CONTOSO} PRIVATE")
    [view] = surface.modals
    fields = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert fields[:4] == ["connection_id", "peering_type", "peer_asn", "vlan_id"]
    assert {"shared_key", "advertised_prefixes", "routing_registry"} <= set(fields)
    values = {
        "connection_id": CONTOSO,
        "peering_type": "PRIVATE",
        "peer_asn": "65010",
        "vlan_id": "310",
        "primary_prefix": "10.31.0.1/30",
        "secondary_prefix": "10.31.0.4/30",
    }
    errors, _ = await harness.submit(view, values)
    assert errors is not None and "host bits" in errors["primary_prefix"]
    errors, submitted = await harness.submit(view, values | {"primary_prefix": "10.31.0.0/30"})
    assert errors is None and "created" in submitted.text


async def test_a_peering_is_refused_while_syncing_unchanged_or_on_a_vlan_in_use(harness: Harness) -> None:
    same = "peer-asn=500 vlan-id=200 primary-prefix=10.0.0.0/30 secondary-prefix=10.0.0.4/30"
    text = await refusal(harness, f"cc peering {CONTOSO} private {same}")
    assert "already has these values" in text
    text = await refusal(
        harness, f"cc peering {WOODGROVE} private {PRIVATE.replace('vlan-id=310', 'vlan-id=300')}"
    )
    assert "VLAN 300 is already used by the MICROSOFT peering" in text

    request_id = await harness.request(f"cc peering {CONTOSO} private {PRIVATE}")
    await harness.approve(request_id)
    text = await refusal(harness, f"cc peering {CONTOSO} private {same}")
    assert "another change is still running" in text
    assert harness.sim.calls[PEERING_POST] == 1
