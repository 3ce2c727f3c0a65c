"""Peering fields are checked before anything reaches Azure: on the command line, in the modal."""

from __future__ import annotations

from typing import Any

import pytest
from azure_support import EUAP_PROVISIONED, Harness

from circuitbot.chat import grammar
from circuitbot.providers.azure.operations.params import PeeringParams
from support.poster import message_text

KEY = EUAP_PROVISIONED
PRIVATE = {
    "key": KEY,
    "peering_type": "private",
    "peer_asn": "65010",
    "vlan_id": "210",
    "primary_prefix": "10.10.0.0/30",
    "secondary_prefix": "10.10.0.4/30",
}
MICROSOFT = {
    **PRIVATE,
    "peering_type": "microsoft",
    "peer_asn": "900",
    "vlan_id": "300",
    "primary_prefix": "203.0.113.0/30",
    "secondary_prefix": "203.0.113.4/30",
    "advertised_prefixes": "203.0.113.128/25, 198.51.100.0/24",
    "routing_registry": "arin",
}


def errors_of(**data: Any) -> dict[str, str]:
    with pytest.raises(grammar.ParamsError) as caught:
        grammar.validate(PeeringParams, data)
    return caught.value.errors


def test_valid_private_and_microsoft_peerings() -> None:
    private = grammar.validate(PeeringParams, PRIVATE)
    assert private.properties() == {
        "peerASN": 65010,
        "vlanId": 210,
        "primaryPeerAddressPrefix": "10.10.0.0/30",
        "secondaryPeerAddressPrefix": "10.10.0.4/30",
    }
    microsoft = grammar.validate(PeeringParams, {**MICROSOFT, "customer_asn": "45", "shared_key": "s3cr3t"})
    assert microsoft.name == "MicrosoftPeering"
    assert microsoft.properties()["microsoftPeeringConfig"] == {
        "advertisedPublicPrefixes": ["203.0.113.128/25", "198.51.100.0/24"],
        "routingRegistryName": "ARIN",
        "customerASN": 45,
    }
    assert microsoft.properties()["sharedKey"] == "s3cr3t"
    assert "s3cr3t" not in repr(microsoft) and microsoft.public_dump()["shared_key"] == "••••"
    full_name = grammar.validate(PeeringParams, {**PRIVATE, "peering_type": "AzurePrivatePeering"})
    assert full_name.peering_type == "private"


@pytest.mark.parametrize("asn", ["0", "4294967296", "-5"])
def test_peer_asn_range(asn: str) -> None:
    assert "1–4294967295" in errors_of(**{**PRIVATE, "peer_asn": asn})["peer_asn"]


def test_azures_own_asns_are_refused() -> None:
    assert "Azure's own" in errors_of(**{**PRIVATE, "peer_asn": "65515"})["peer_asn"]
    assert grammar.validate(PeeringParams, {**PRIVATE, "peer_asn": "4294967295"}).peer_asn == 4294967295


@pytest.mark.parametrize("vlan", ["0", "4095"])
def test_vlan_range(vlan: str) -> None:
    assert "1–4094" in errors_of(**{**PRIVATE, "vlan_id": vlan})["vlan_id"]


@pytest.mark.parametrize(
    ("primary", "secondary", "field", "message"),
    [
        ("10.10.0.0/29", "10.10.0.8/30", "primary_prefix", "IPv4 /30 or an IPv6 /126, not /29"),
        ("10.10.0.1/30", "10.10.0.4/30", "primary_prefix", "host bits set; the /30 starts at 10.10.0.0/30"),
        ("10.10.0.0", "10.10.0.4/30", "primary_prefix", "IPv4 /30 or an IPv6 /126"),
        ("ten.ten", "10.10.0.4/30", "primary_prefix", "is not a prefix"),
        ("10.10.0.0/30", "10.10.0.0/30", "secondary_prefix", "overlaps the primary"),
        ("10.10.0.0/30", "3ffe:ffff:0:cd30::4/126", "secondary_prefix", "both IPv4 or both IPv6"),
    ],
)
def test_prefixes(primary: str, secondary: str, field: str, message: str) -> None:
    errors = errors_of(**{**PRIVATE, "primary_prefix": primary, "secondary_prefix": secondary})
    assert message in errors[field]


def test_ipv6_126_prefixes_go_into_the_ipv6_config() -> None:
    params = grammar.validate(
        PeeringParams,
        {
            **PRIVATE,
            "primary_prefix": "3FFE:FFFF:0:CD30::/126",
            "secondary_prefix": "3ffe:ffff:0:cd30::4/126",
        },
    )
    assert params.ipv6
    assert params.properties()["ipv6PeeringConfig"] == {
        "primaryPeerAddressPrefix": "3ffe:ffff:0:cd30::/126",
        "secondaryPeerAddressPrefix": "3ffe:ffff:0:cd30::4/126",
    }
    assert "primaryPeerAddressPrefix" not in params.properties()


def test_the_shared_key_is_at_most_25_characters_and_never_echoed() -> None:
    long_key = "K" * 26
    errors = errors_of(**{**PRIVATE, "shared_key": long_key})
    assert "at most 25 characters" in errors["shared_key"]
    assert long_key not in errors["shared_key"]
    assert grammar.validate(PeeringParams, {**PRIVATE, "shared_key": "K" * 25}).shared_key is not None


def test_microsoft_peering_needs_its_prefixes_and_registry() -> None:
    errors = errors_of(**{**MICROSOFT, "advertised_prefixes": None, "routing_registry": None})
    assert "needs the public prefixes" in errors["advertised_prefixes"]
    assert "ARIN, APNIC, AFRINIC, LACNIC, RIPENCC, RADB, ALTDB, LEVEL3" in errors["routing_registry"]

    assert "routing_registry" in errors_of(**{**MICROSOFT, "routing_registry": "IANA"})
    assert (
        "private address space"
        in errors_of(**{**MICROSOFT, "advertised_prefixes": "10.1.0.0/16"})["advertised_prefixes"]
    )
    assert (
        "host bits"
        in errors_of(**{**MICROSOFT, "advertised_prefixes": "203.0.113.129/25"})["advertised_prefixes"]
    )
    assert "1–4294967295" in errors_of(**{**MICROSOFT, "customer_asn": "0"})["customer_asn"]


def test_microsoft_fields_on_a_private_peering_are_refused() -> None:
    errors = errors_of(
        **{
            **PRIVATE,
            "advertised_prefixes": "203.0.113.128/25",
            "routing_registry": "ARIN",
            "customer_asn": "45",
        }
    )
    assert set(errors) == {"advertised_prefixes", "routing_registry", "customer_asn"}
    assert all("Microsoft peering only" in message for message in errors.values())


async def test_a_bad_value_on_the_command_line_answers_in_the_ack_with_the_usage(harness: Harness) -> None:
    surface = await harness.command(
        f"az peering {KEY} private peer-asn=65010 vlan-id=5000 primary-prefix=10.10.0.0/30 "
        "secondary-prefix=10.10.0.4/30"
    )
    assert surface.replies == [] and surface.ack is not None
    assert "vlan_id: the VLAN is 1–4094" in surface.ack.text
    assert "Usage: `/circuit azure peering <key> <peering-type>" in surface.ack.text
    assert harness.sim.calls == {}


async def test_missing_fields_open_the_modal_and_its_errors_come_back_inline(harness: Harness) -> None:
    surface = await harness.command(f"az peering {KEY} microsoft")
    assert surface.ack is None  # the modal opens instead of a message
    [view] = surface.modals
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert inputs["key"]["element"]["initial_value"] == KEY
    assert inputs["peering_type"]["element"]["initial_option"]["value"] == "microsoft"
    assert inputs["peer_asn"]["element"]["type"] == "number_input"
    registries = [o["value"] for o in inputs["routing_registry"]["element"]["options"]]
    assert registries == ["ARIN", "APNIC", "AFRINIC", "LACNIC", "RIPENCC", "RADB", "ALTDB", "LEVEL3"]
    assert "kept encrypted" in inputs["shared_key"]["hint"]["text"]
    assert "initial_value" not in inputs["shared_key"]["element"]

    errors, _ = await harness.submit(
        view,
        {
            "key": KEY,
            "peering_type": "microsoft",
            "peer_asn": "900",
            "vlan_id": "300",
            "primary_prefix": "203.0.113.0/30",
            "secondary_prefix": "203.0.113.0/30",
            "shared_key": "x" * 30,
        },
    )
    assert errors is not None
    assert "overlaps the primary" in errors["secondary_prefix"]
    assert "at most 25" in errors["shared_key"]
    assert "needs the public prefixes" in errors["advertised_prefixes"]
    assert "x" * 30 not in str(errors)

    errors, result = await harness.submit(
        view,
        {
            "key": KEY,
            "peering_type": "microsoft",
            "peer_asn": "900",
            "vlan_id": "300",
            "primary_prefix": "203.0.113.0/30",
            "secondary_prefix": "203.0.113.4/30",
            "advertised_prefixes": "203.0.113.128/25\n198.51.100.0/24",
            "routing_registry": "RIPENCC",
        },
    )
    assert errors is None
    assert "Request `R" in message_text(result.last)


@pytest.mark.parametrize(
    ("key", "accepted"),
    [
        ("24E6EA2B-6940-4BEC-B0B3-3A9E5471E512", True),
        (
            "/subscriptions/s1/resourceGroups/CrossConnection-SiliconValley/providers/Microsoft.Network"
            "/expressRouteCrossConnections/24e6ea2b-6940-4bec-b0b3-3a9e5471e512",
            True,
        ),
        (
            "/subscriptions/s1/resourceGroups/CrossConnection-SiliconValley/providers/Microsoft.Network"
            "/expressRouteCrossConnections/24e6ea2b-6940-4bec-b0b3-3a9e5471e512/peerings/x",
            False,
        ),
        ("/subscriptions/s1/providers/Microsoft.Network/expressRouteCrossConnections/../../x", False),
        ("24e6ea2b", False),
    ],
)
def test_a_key_is_a_service_key_or_exactly_a_cross_connection_id(key: str, accepted: bool) -> None:
    data = {**PRIVATE, "key": key}
    if accepted:
        assert grammar.validate(PeeringParams, data).key in (key, key.lower())
    else:
        assert "key" in errors_of(**data)
