"""The checks a peering PUT body passes, one function per group of rules, in the service's order.

``validate_peering`` answers the writable properties of a valid body, or raises the ``ArmError``
of the first rule it breaks.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any, TypeGuard

from circuitbot.sandbox.azure.arm import ArmError
from circuitbot.sandbox.azure.state import CrossConnection

ROUTING_REGISTRIES = ("ARIN", "APNIC", "AFRINIC", "LACNIC", "RIPENCC", "RADB", "ALTDB", "LEVEL3")
MAX_SHARED_KEY_LENGTH = 25
WRITABLE = (
    "peerASN",
    "primaryPeerAddressPrefix",
    "secondaryPeerAddressPrefix",
    "sharedKey",
    "vlanId",
    "microsoftPeeringConfig",
    "gatewayManagerEtag",
    "ipv6PeeringConfig",
    "state",
)


def validate_peering(
    body: dict[str, Any], peering_type: str, cross_connection: CrossConnection, name: str
) -> dict[str, Any]:
    """The writable peering properties of a PUT body, checked; raises ArmError on bad input."""
    properties = body.get("properties")
    if not isinstance(properties, dict):
        raise ArmError(
            400, "InvalidRequestFormat", "The peering needs a properties object.", target="properties"
        )
    _check_type(properties, peering_type, name)
    _check_asn_and_vlan(properties, cross_connection, name)
    _check_prefix_pair(
        properties.get("primaryPeerAddressPrefix"),
        properties.get("secondaryPeerAddressPrefix"),
        4,
        "properties",
    )
    _check_key_and_state(properties)
    _check_ipv6(properties.get("ipv6PeeringConfig"))
    if peering_type == "MicrosoftPeering":
        _check_microsoft_config(properties.get("microsoftPeeringConfig"))
    kept = {k: json.loads(json.dumps(properties[k])) for k in WRITABLE if properties.get(k) is not None}
    if peering_type != "MicrosoftPeering":
        kept.pop("microsoftPeeringConfig", None)
    return kept


def _check_type(properties: dict[str, Any], peering_type: str, name: str) -> None:
    given_type = properties.get("peeringType") or peering_type
    if given_type != peering_type:
        raise ArmError(
            400,
            "PeeringTypeDoesNotMatchName",
            f"A peering named {name} must have peeringType {peering_type}, not {given_type}.",
            target="properties.peeringType",
        )
    if peering_type == "AzurePublicPeering":
        raise ArmError(
            400,
            "AzurePublicPeeringNotSupported",
            "Azure public peering is retired; configure Microsoft peering instead.",
            target="properties.peeringType",
        )


def _check_asn_and_vlan(properties: dict[str, Any], cross_connection: CrossConnection, name: str) -> None:
    """The peer's ASN, and a VLAN no other peering of the cross-connection uses."""
    peer_asn = properties.get("peerASN")
    if not _is_int(peer_asn) or not 1 <= peer_asn <= 4_294_967_295:
        raise ArmError(
            400,
            "InvalidPeerAsn",
            f"peerASN must be between 1 and 4294967295, not {peer_asn}.",
            target="properties.peerASN",
        )
    vlan_id = properties.get("vlanId")
    if not _is_int(vlan_id) or not 1 <= vlan_id <= 4094:
        raise ArmError(
            400,
            "InvalidVlanId",
            f"vlanId must be between 1 and 4094, not {vlan_id}.",
            target="properties.vlanId",
        )
    for other in cross_connection.peerings.values():
        if other.name.lower() != name.lower() and other.properties.get("vlanId") == vlan_id:
            raise ArmError(
                400,
                "VlanIdInUse",
                f"VLAN {vlan_id} is already used by peering {other.name}.",
                target="properties.vlanId",
            )


def _check_key_and_state(properties: dict[str, Any]) -> None:
    shared_key = properties.get("sharedKey")
    if shared_key is not None and (
        not isinstance(shared_key, str) or len(shared_key) > MAX_SHARED_KEY_LENGTH
    ):
        raise ArmError(
            400,
            "InvalidSharedKey",
            f"The shared key must be a string of at most {MAX_SHARED_KEY_LENGTH} characters.",
            target="properties.sharedKey",
        )
    state = properties.get("state")
    if state is not None and state not in ("Enabled", "Disabled"):
        raise ArmError(
            400,
            "InvalidPeeringState",
            f"state must be Enabled or Disabled, not {state}.",
            target="properties.state",
        )


def _check_ipv6(ipv6: Any) -> None:
    if ipv6 is None:
        return
    if not isinstance(ipv6, dict):
        raise ArmError(
            400,
            "InvalidRequestFormat",
            "ipv6PeeringConfig must be an object.",
            target="properties.ipv6PeeringConfig",
        )
    _check_prefix_pair(
        ipv6.get("primaryPeerAddressPrefix"),
        ipv6.get("secondaryPeerAddressPrefix"),
        6,
        "properties.ipv6PeeringConfig",
    )


def _check_microsoft_config(config: Any) -> None:
    target = "properties.microsoftPeeringConfig"
    if not isinstance(config, dict):
        raise ArmError(
            400,
            "MicrosoftPeeringConfigRequired",
            "Microsoft peering needs a microsoftPeeringConfig.",
            target=target,
        )
    _check_advertised_prefixes(config.get("advertisedPublicPrefixes"), f"{target}.advertisedPublicPrefixes")
    registry = config.get("routingRegistryName")
    if registry is not None and str(registry).upper() not in ROUTING_REGISTRIES:
        raise ArmError(
            400,
            "InvalidRoutingRegistryName",
            f"routingRegistryName must be one of {', '.join(ROUTING_REGISTRIES)}, not {registry}.",
            target=f"{target}.routingRegistryName",
        )
    customer_asn = config.get("customerASN")
    if customer_asn is not None and (not _is_int(customer_asn) or customer_asn < 0):
        raise ArmError(
            400,
            "InvalidCustomerAsn",
            f"customerASN must be a positive number, not {customer_asn}.",
            target=f"{target}.customerASN",
        )


def _check_advertised_prefixes(prefixes: Any, target: str) -> None:
    if not isinstance(prefixes, list) or not prefixes:
        raise ArmError(
            400,
            "AdvertisedPublicPrefixesRequired",
            "Microsoft peering needs at least one advertised public prefix.",
            target=target,
        )
    for prefix in prefixes:
        try:
            ipaddress.ip_network(str(prefix), strict=True)
        except ValueError:
            raise ArmError(
                400, "InvalidAdvertisedPublicPrefix", f"'{prefix}' is not a valid prefix.", target=target
            ) from None


def _check_prefix_pair(primary: Any, secondary: Any, version: int, target: str) -> None:
    length = 30 if version == 4 else 126
    networks = []
    for side, value in (("primary", primary), ("secondary", secondary)):
        try:
            network = ipaddress.ip_network(str(value), strict=True) if value else None
        except ValueError:
            network = None
        if network is None or network.version != version or network.prefixlen != length:
            raise ArmError(
                400,
                "InvalidPeeringAddressPrefix",
                f"{side}PeerAddressPrefix must be an IPv{version} /{length} subnet, not {value}.",
                target=f"{target}.{side}PeerAddressPrefix",
            )
        networks.append(network)
    if networks[0].overlaps(networks[1]):
        raise ArmError(
            400,
            "PeeringAddressPrefixesOverlap",
            f"The primary and secondary subnets overlap ({primary}, {secondary}).",
            target=f"{target}.secondaryPeerAddressPrefix",
        )


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
