"""The Azure read commands through the Router against the in-process ARM simulator."""

from __future__ import annotations

import json

import pytest
from azure_support import (
    EUAP_NEW,
    EUAP_PROVISIONED,
    FABRIKAM,
    SEEDED_SHARED_KEY,
    WOODGROVE,
    Harness,
    assert_within_slack_limits,
)

from circuitbot.sandbox.world import World
from support.poster import buttons, message_text

PORT_LIST = "GET /subscriptions/{subscriptionId}/providers/Microsoft.Network/expressRouteProviderPorts"


async def test_ports_shows_every_pair_with_its_usage_bar_after_a_working_note(harness: Harness) -> None:
    surface = await harness.command("az ports")

    assert "working on `az ports`" in surface.ack.text
    reply = surface.last
    text = message_text(reply)
    for descriptor in ("bvtazureixpportpair1", "bvtazureixpportpair2", "bvtazureixpportpair3"):
        assert descriptor in text
    # pair 1 carries Fabrikam's 1000 Mbps of its 4000: a quarter used, 3000 free
    [pair1] = [
        b["text"]["text"]
        for b in reply.blocks
        if "*bvtazureixpportpair1*" in b.get("text", {}).get("text", "")
    ]
    assert "`██░░░░░░░░ 25%`" in pair1
    assert "1,000 of 4,000 Mbps used" in pair1 and "*3,000 Mbps free*" in pair1
    assert "overprovision ×4" in pair1
    assert "primary `bvtazureixp01a` · secondary `bvtazureixp01b`" in pair1
    assert_within_slack_limits(reply)
    assert harness.sim.calls[PORT_LIST] == 1


async def test_ports_at_one_location_asks_with_the_spec_filter(harness: Harness) -> None:
    surface = await harness.command("az ports SiliconValley")

    text = message_text(surface.last)
    assert "bvtazureixpportpair1" in text and "bvtazureixpportpair3" in text
    assert "bvtazureixpportpair2" not in text  # Seattle
    [sent] = harness.recorder.sent("GET", "/expressRouteProviderPorts")
    assert sent.url.params["$filter"] == "location eq 'SiliconValley'"


async def test_an_unknown_location_answers_with_azures_code(harness: Harness) -> None:
    surface = await harness.command("az ports Atlantis")
    assert "Azure InvalidPeeringLocation" in surface.last.text


async def test_one_port_pair_and_an_unknown_one(harness: Harness) -> None:
    surface = await harness.command("az port bvtazureixpportpair2")
    text = message_text(surface.last)
    assert "Port pair bvtazureixpportpair2" in text
    assert "Seattle" in text and "`bvtazureixp02a`" in text and "700 Mbps" in text  # two circuits, 500 + 200

    surface = await harness.command("az port nosuchpair")
    assert "no port pair `nosuchpair`" in surface.last.text


async def test_list_filters_by_location_and_state(harness: Harness) -> None:
    everything = message_text((await harness.command("az list")).last)
    assert all(key in everything for key in (FABRIKAM, WOODGROVE, EUAP_NEW, EUAP_PROVISIONED))

    at = message_text((await harness.command("az list siliconvalley")).last)
    assert FABRIKAM in at and WOODGROVE in at and EUAP_NEW not in at

    waiting = message_text((await harness.command("az list state=notprovisioned")).last)
    assert EUAP_NEW in waiting and FABRIKAM not in waiting
    assert "in state NotProvisioned" in waiting

    surface = await harness.command("az list state=sleeping")
    assert surface.replies == []
    assert "state is one of NotProvisioned, Provisioning" in surface.ack.text
    assert "Usage: `/circuit azure list [location] [state=…]`" in surface.ack.text


async def test_list_pages_ten_circuits_at_a_time(make_harness) -> None:
    harness: Harness = await make_harness(World.demo(extra_circuits=19, seed=3))  # 25 circuits
    first = (await harness.command("az list")).last

    assert "page 1 of 3" in message_text(first)
    assert sum(1 for b in first.blocks if b["type"] == "section") == 10
    page = json.loads(buttons(first)["circuit_page:next"])
    assert page == {"text": "az list", "page": 2}
    assert_within_slack_limits(first)

    turned = await harness.click("circuit_page:next", json.dumps({"text": "az list", "page": 3}), "UREQ")
    [last] = turned.replies
    assert last.replace
    assert "page 3 of 3" in message_text(last)
    assert sum(1 for b in last.blocks if b["type"] == "section") == 5
    assert set(buttons(last)) == {"circuit_page:prev"}


async def test_show_has_ports_stag_bandwidth_states_peerings_and_the_customer_circuit(
    harness: Harness,
) -> None:
    surface = await harness.command(f"az show {EUAP_PROVISIONED.upper()}")

    reply = surface.last
    text = message_text(reply)
    for expected in (
        f"Azure circuit {EUAP_PROVISIONED}",
        "EUAP Test",
        "200 Mbps",
        "*sTag*\\n4",
        "`EUAP-ARMTEST-06GMR-CIS-1-PRI-A`",
        "`EUAP-ARMTEST-06GMR-CIS-2-SEC-A`",
        "*Provider state*\\nProvisioned",
        "*Provisioning state*\\nSucceeded",
        "CrossConnection-EUAPTest",
        "*AzurePrivatePeering* · Enabled · provisioning Succeeded",
        "VLAN 200 · peer ASN 500 · Azure ASN 12076",
        "shared key set",
        "/resourceGroups/crossconnectiontest/providers/Microsoft.Network/expressRouteCircuits/TestCircuit2",
    ):
        assert expected in text, expected
    assert SEEDED_SHARED_KEY not in text
    assert_within_slack_limits(reply)


async def test_show_through_the_neutral_verbs(harness: Harness) -> None:
    shown = message_text((await harness.command(f"show az {FABRIKAM}")).last)
    assert f"Azure circuit {FABRIKAM}" in shown
    listed = message_text((await harness.command("list azure")).last)
    assert FABRIKAM in listed


async def test_unknown_and_malformed_keys(harness: Harness) -> None:
    surface = await harness.command("az show 00000000-0000-0000-0000-000000000000")
    assert "Azure CrossConnectionNotFound" in surface.last.text
    assert "`az list` shows the circuits" in surface.last.text

    surface = await harness.command("az show not-a-key")
    assert surface.replies == []
    assert "a service key is a GUID" in surface.ack.text


async def test_peerings_show_the_microsoft_peering_config(harness: Harness) -> None:
    text = message_text((await harness.command(f"az peerings {WOODGROVE}")).last)
    assert "*MicrosoftPeering* · Enabled" in text
    assert "advertised `203.0.113.128/25` (Configured) · customer ASN 45 · registry ARIN" in text

    text = message_text((await harness.command(f"az peerings {EUAP_NEW}")).last)
    assert "has no peerings yet" in text


async def test_communities_all_and_filtered(harness: Harness) -> None:
    everything = message_text((await harness.command("az communities")).last)
    assert "12076:5010" in everything and "12076:51006" in everything

    reply = (await harness.command("az communities exchange")).last
    text = message_text(reply)
    assert "1 BGP community matching `exchange`" in text
    assert "Exchange Online" in text and "12076:5010" in text
    assert "12076:51006" not in text

    by_region = message_text((await harness.command('az communities "west us 2"')).last)
    assert "12076:51026" in by_region and "12076:51006" not in by_region


@pytest.mark.parametrize(
    ("answer", "polled"),
    [
        ("async-operation", "/operations/"),  # the spec examples: the table is in the final status
        ("location", "/operationResults/"),  # final-state-via location
        ("immediate", None),  # 200 with the table
    ],
)
async def test_arp_table_is_read_in_every_answer_shape_of_the_post(
    harness: Harness, answer: str, polled: str | None
) -> None:
    harness.sim.table_answers = (answer,)

    surface = await harness.command(f"az arp {EUAP_PROVISIONED} private primary")

    assert "working on" in surface.ack.text
    reply = surface.last
    text = message_text(reply)
    assert "ARP table of" in text and "AzurePrivatePeering · primary" in text
    assert "Microsoft" in text and "On-Prem" in text and "10.0.0.1" in text
    [post] = harness.recorder.sent("POST", "/peerings/AzurePrivatePeering/arpTables/primary")
    assert post.url.params["api-version"] == "2025-07-01"
    monitors = harness.recorder.sent("GET", "/operations/") + harness.recorder.sent(
        "GET", "/operationResults/"
    )
    if polled is None:
        assert monitors == []
    else:
        assert monitors and all(polled in r.url.path for r in monitors)
    assert_within_slack_limits(reply)


async def test_route_table_and_summary_on_the_secondary_device(harness: Harness) -> None:
    routes = message_text((await harness.command(f"az routes {WOODGROVE} microsoft secondary")).last)
    assert "route table of" in routes and "MicrosoftPeering · secondary" in routes
    assert "203.0.113.128/25" in routes and "203.0.113.5" in routes  # next hop: the customer's side

    summary = message_text((await harness.command(f"az routes-summary {FABRIKAM} AzurePrivatePeering")).last)
    assert "route summary of" in summary and "· primary" in summary
    assert "65010" in summary and "1d14h" in summary


async def test_table_of_a_missing_peering_or_device(harness: Harness) -> None:
    surface = await harness.command(f"az arp {FABRIKAM} microsoft")
    assert f"{FABRIKAM} has no MicrosoftPeering" in surface.last.text

    surface = await harness.command(f"az arp {FABRIKAM} private tertiary")
    assert surface.replies == []
    assert "path" in surface.ack.text and "Usage:" in surface.ack.text

    surface = await harness.command(f"az routes {FABRIKAM} public")
    assert "private (AzurePrivatePeering) or microsoft" in surface.ack.text
