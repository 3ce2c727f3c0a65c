"""Rendering the official examples (tests/contracts/data/azure) exactly as Azure sends them."""

from __future__ import annotations

import json
from typing import Any

from azure_support import assert_within_slack_limits

from circuitbot.providers.azure import models as m
from circuitbot.providers.azure import render
from circuitbot.providers.azure.poller import snapshot
from support.paths import CONTRACT_DATA
from support.poster import buttons, message_text

CONTRACTS = CONTRACT_DATA / "azure"
SEEDS = CONTRACT_DATA / "seeds"


def seed_json(name: str) -> list[dict[str, Any]]:
    """Every JSON object that starts a line of a seed document (its request and answer bodies)."""
    text = (SEEDS / name).read_text()
    decoder = json.JSONDecoder()
    found = []
    for index in range(len(text)):
        if text[index] == "{" and (index == 0 or text[index - 1] in " \n"):
            try:
                value, _ = decoder.raw_decode(text, index)
            except ValueError:
                continue
            if isinstance(value, dict):
                found.append(value)
    return found


def example(path: str, status: str = "200") -> Any:
    return json.loads((CONTRACTS / path).read_text())["responses"][status]["body"]


def test_a_cross_connection_as_the_spec_example_has_it() -> None:
    body = example("2025-07-01/examples/ExpressRouteCrossConnectionGet.json")
    cross_connection = m.ExpressRouteCrossConnection.model_validate(body)

    reply = render.cross_connection(cross_connection)
    text = message_text(reply)
    assert "Azure circuit <circuitServiceKey>" in text  # the header is plain text: no escaping
    assert "&lt;circuitServiceKey&gt;" not in reply.blocks[0]["text"]["text"]
    assert "*Provisioning state*\\nEnabled" in text  # outside the spec's enum, shown as it is
    assert "*Provider state*\\nNotProvisioned" in text
    assert "*sTag*\\n2" in text and "1,000 Mbps" in text and "`bvtazureixp01`" in text
    assert "*Customer circuit*\\ner1" in text
    assert "CrossConnection-SiliconValley" in text
    assert "*Peerings*\\nnone yet" in text
    assert_within_slack_limits(reply)


def test_the_listed_cross_connections_of_the_seed_list_example() -> None:
    body = example("2024-07-01/examples/ExpressRouteCrossConnectionList.json")
    items = [m.ExpressRouteCrossConnection.model_validate(item) for item in body["value"]]

    reply = render.cross_connections(items, filters="", page=1, command_text="az list")
    text = message_text(reply)
    assert f"{len(items)} cross-connection" in text
    assert all(item.name and bk_escaped(item.name) in text for item in items)
    assert_within_slack_limits(reply)


def bk_escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_port_pairs_of_the_list_example_with_usage_bars() -> None:
    body = example("2025-01-01/examples/expressRouteProviderPortList.json")
    pairs = [m.ExpressRouteProviderPort.model_validate(item) for item in body["value"]]

    reply = render.port_pairs(pairs, location=None, page=1, command_text="az ports")
    text = message_text(reply)
    assert "`██████░░░░ 62%` 2,500 of 4,000 Mbps used · *1,500 Mbps free* · overprovision ×4" in text
    assert "`███░░░░░░░ 30%` 1,200 of 4,000 Mbps used · *1,800 Mbps free*" in text
    assert "bvtazureixpportpair2* · seattle" in text
    assert_within_slack_limits(reply)

    single = m.ExpressRouteProviderPort.model_validate(
        example("2025-05-01/examples/expressRouteProviderPort.json")
    )
    one = message_text(render.port_pair(single))
    assert "Port pair bvtazureixpportpair1" in one and "*Remaining*\\n1,500 Mbps" in one


def test_many_port_pairs_are_paged_within_slack_limits() -> None:
    body = example("2025-01-01/examples/expressRouteProviderPortList.json")["value"][0]
    pairs = []
    for n in range(23):
        item = json.loads(json.dumps(body))
        item["properties"]["portPairDescriptor"] = f"pair{n:02d}"
        pairs.append(m.ExpressRouteProviderPort.model_validate(item))

    first = render.port_pairs(pairs, location="SiliconValley", page=1, command_text="az ports SiliconValley")
    assert "pair00" in message_text(first) and "pair10" not in message_text(first)
    assert json.loads(buttons(first)["circuit_page:next"]) == {"text": "az ports SiliconValley", "page": 2}
    last = render.port_pairs(pairs, location="SiliconValley", page=99, command_text="az ports SiliconValley")
    assert "page 3 of 3" in message_text(last) and "pair22" in message_text(last)
    for reply in (first, last):
        assert_within_slack_limits(reply)


def test_peering_examples_with_ipv6_and_no_key_shown() -> None:
    body = example("2024-07-01/examples/ExpressRouteCrossConnectionBgpPeeringGet.json")
    peering = m.ExpressRouteCrossConnectionPeering.model_validate(body)

    text = render.peering_text(peering)
    assert "*AzurePrivatePeering* · Enabled · provisioning Succeeded" in text
    assert "VLAN 200 · peer ASN 200 · Azure ASN 12076" in text
    assert "IPv6 Enabled · primary `3FFE:FFFF:0:CD30::/126`" in text
    assert "shared key none" in text

    # seed 001's answer to the private peering PUT carries the key in clear text
    [answered] = [
        body
        for body in seed_json("001_eff1f977fbb5f993.txt")
        if body.get("name") == "AzurePrivatePeering"
        and "sharedKey" in body.get("properties", {})
        and "id" in body
    ]
    shown = render.peering_text(m.ExpressRouteCrossConnectionPeering.model_validate(answered))
    assert answered["properties"]["sharedKey"] == "A1B2C3D4"
    assert "A1B2C3D4" not in shown and "shared key set" in shown
    assert "*AzurePrivatePeering* · Disabled · provisioning Updating" in shown

    listed = example("2025-07-01/examples/ExpressRouteCrossConnectionBgpPeeringList.json")
    items = [m.ExpressRouteCrossConnectionPeering.model_validate(i) for i in listed["value"]]
    reply = render.peerings("<key>", items)
    assert f"{len(items)} peering" in reply.text
    assert_within_slack_limits(reply)


def test_the_three_device_tables_of_the_examples() -> None:
    arp = [
        m.ExpressRouteCircuitArpTable.model_validate(row)
        for row in example("2025-07-01/examples/ExpressRouteCrossConnectionsArpTable.json")["value"]
    ]
    routes = [
        m.ExpressRouteCircuitRoutesTable.model_validate(row)
        for row in example("2025-07-01/examples/ExpressRouteCrossConnectionsRouteTable.json")["value"]
    ]
    summary = [
        m.ExpressRouteCrossConnectionRoutesTableSummary.model_validate(row)
        for row in example("2025-07-01/examples/ExpressRouteCrossConnectionsRouteTableSummary.json")["value"]
    ]

    arp_text = render.table(
        render.arp_table("k", "AzurePrivatePeering", "primary", arp), page=1, command_text="x"
    ).text
    assert "192.116.14.254  885a.9269.9110  Microsoft  0" in arp_text
    routes_text = render.table(
        render.routes_table("k", "AzurePrivatePeering", "primary", routes), page=1, command_text="x"
    ).text
    assert "10.7.0.0/16  10.7.1.13" in routes_text and "65514" in routes_text
    summary_text = render.table(
        render.routes_summary("k", "AzurePrivatePeering", "primary", summary), page=1, command_text="x"
    ).text
    assert "10.6.1.113  65514  1d14h    1" in summary_text


def test_a_long_route_table_is_paged() -> None:
    rows = [
        m.ExpressRouteCircuitRoutesTable(
            network=f"10.{n // 256}.{n % 256}.0/24", next_hop="10.0.0.1", path="65010"
        )
        for n in range(130)
    ]
    table = render.routes_table("k", "AzurePrivatePeering", "primary", rows)
    first = render.table(table, page=1, command_text="az routes k private")
    assert "130 rows" in message_text(first) and "page 1 of 4" in message_text(first)
    assert "10.0.39.0/24" in first.text and "10.0.40.0/24" not in first.text
    assert_within_slack_limits(first)


def test_the_watched_snapshot_of_a_cross_connection_with_peerings() -> None:
    body = example("2025-07-01/examples/ExpressRouteCrossConnectionGet.json")
    body = json.loads(json.dumps(body))
    body["properties"]["peerings"] = [
        example("2025-07-01/examples/ExpressRouteCrossConnectionBgpPeeringCreate.json", "201")
    ]
    body["properties"]["peerings"][0]["properties"]["microsoftPeeringConfig"] = {
        "advertisedPublicPrefixes": ["203.0.113.128/25"],
        "advertisedPublicPrefixesState": "ValidationNeeded",
    }
    cross_connection = m.ExpressRouteCrossConnection.model_validate(body)
    name = cross_connection.properties.peerings[0].name

    assert snapshot(cross_connection) == {
        "provisioningState": "Enabled",
        "serviceProviderProvisioningState": "NotProvisioned",
        f"peering[{name}].state": cross_connection.properties.peerings[0].properties.state,
        f"peering[{name}].provisioningState": cross_connection.properties.peerings[
            0
        ].properties.provisioning_state,
        f"peering[{name}].advertisedPublicPrefixesState": "ValidationNeeded",
    }
