"""Azure's BGP peering rules, as every provider that configures a peering checks them."""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr

from circuitbot.providers.kit import peering as rules


@pytest.mark.parametrize(
    ("value", "message"),
    [(0, "the peer ASN is 1–4294967295"), (65515, "Azure's own"), (12076, "Azure's own")],
)
def test_peer_asns_outside_the_range_or_azures_own_are_refused(value: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rules.peer_asn(value)
    assert rules.peer_asn(65010) == 65010


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10.0.0.0/29", "an IPv4 /30 or an IPv6 /126, not /29"),
        ("10.0.0.1/30", "has host bits set; the /30 starts at 10.0.0.0/30"),
        ("10.0.0.0", "an IPv4 /30 or an IPv6 /126, not /32"),
        ("ten", "is not a prefix"),
    ],
)
def test_a_link_subnet_is_a_slash_30_written_from_its_first_address(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rules.link_subnet(value, "primary")
    assert rules.link_subnet("2001:db8::/126", "primary") == "2001:db8::/126"


def test_the_two_links_are_one_ip_version_and_do_not_overlap() -> None:
    with pytest.raises(ValueError, match="overlaps the primary"):
        rules.second_link_subnet("10.0.0.0/30", "10.0.0.0/30")
    with pytest.raises(ValueError, match="both IPv4 or both IPv6"):
        rules.second_link_subnet("2001:db8::/126", "10.0.0.0/30")
    assert rules.second_link_subnet("10.0.0.4/30", "10.0.0.0/30") == "10.0.0.4/30"
    assert rules.second_link_subnet("10.0.0.4/30", None) == "10.0.0.4/30"  # the primary was refused


def test_microsoft_peering_needs_public_prefixes_and_a_registry_the_others_take_neither() -> None:
    prefixes = rules.split_prefixes("203.0.113.0/24, 198.51.100.0/24")
    assert rules.advertised_prefixes(prefixes, microsoft=True, called="Microsoft") == prefixes
    with pytest.raises(
        ValueError, match=re.escape("10.1.0.0/16 is private address space; MICROSOFT peering")
    ):
        rules.advertised_prefixes(["10.1.0.0/16"], microsoft=True, called="MICROSOFT")
    with pytest.raises(ValueError, match="for Microsoft peering only"):
        rules.advertised_prefixes(prefixes, microsoft=False, called="Microsoft")
    with pytest.raises(ValueError, match="needs the routing registry: ARIN, RIPE"):
        rules.routing_registry(None, microsoft=True, called="Microsoft", known=("ARIN", "RIPE"))
    assert rules.routing_registry(None, microsoft=False, called="Microsoft", known=()) is None


def test_vlans_and_shared_keys_have_their_bounds() -> None:
    with pytest.raises(ValueError, match="1–4094"):
        rules.vlan_id(4095)
    with pytest.raises(ValueError, match="at most 25 characters"):
        rules.shared_key(SecretStr("k" * 26))
    assert rules.shared_key(None) is None
