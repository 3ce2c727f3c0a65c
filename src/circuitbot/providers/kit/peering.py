"""Azure's rules for a BGP peering on an ExpressRoute circuit, whoever configures it: the partner
through ARM (Azure) or a buyer through a carrier (Console Connect). One place, so both refuse the
same values with the same words before anything is asked of anyone.

* The peer ASN is 1–4294967295 and not one of Azure's own (12076, 65515–65520).
* The VLAN is 1–4094.
* Each link's subnet is an IPv4 /30 or an IPv6 /126, written from its first address; the two
  links' subnets are of one IP version and do not overlap.
* The MD5 shared key is at most 25 characters.
* Microsoft peering advertises public prefixes (no RFC 1918 space) from a routing registry; the
  other peerings take neither.

Each function returns the value as it is kept, or raises ValueError with the words the user reads
(pydantic shows them next to the field).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any

from pydantic import SecretStr

MAX_ASN = 4_294_967_295
RESERVED_ASNS = frozenset({12076, *range(65515, 65521)})  # Azure's own and its internal ones
MAX_SHARED_KEY = 25
RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def peer_asn(value: int) -> int:
    if not 1 <= value <= MAX_ASN:
        raise ValueError(f"the peer ASN is 1–{MAX_ASN}")
    if value in RESERVED_ASNS:
        raise ValueError("ASNs 12076 and 65515–65520 are Azure's own; use another")
    return value


def customer_asn(value: int) -> int:
    if not 1 <= value <= MAX_ASN:
        raise ValueError(f"the customer ASN is 1–{MAX_ASN}")
    return value


def vlan_id(value: int) -> int:
    if not 1 <= value <= 4094:
        raise ValueError("the VLAN is 1–4094")
    return value


def link_subnet(value: str, which: str) -> str:
    """One link's subnet (``which``: primary or secondary), as ``10.0.0.0/30``."""
    return str(_link(value, which))


def second_link_subnet(value: str, primary: str | None) -> str:
    """The secondary link's subnet, beside the primary one when that one was valid."""
    secondary = _link(value, "secondary")
    if primary:
        first = ipaddress.ip_network(primary)
        if first.version != secondary.version:
            raise ValueError("the primary and secondary prefixes are both IPv4 or both IPv6")
        if first.overlaps(secondary):
            raise ValueError(f"{secondary} overlaps the primary {first}; use two separate subnets")
    return str(secondary)


def shared_key(value: SecretStr | None) -> SecretStr | None:
    if value is not None and len(value.get_secret_value()) > MAX_SHARED_KEY:
        raise ValueError(f"the shared key is at most {MAX_SHARED_KEY} characters")
    return value


def split_prefixes(value: Any) -> Any:
    """Prefixes typed as one string, separated by commas or spaces, as a list."""
    return [part for part in re.split(r"[\s,]+", value) if part] if isinstance(value, str) else value


def advertised_prefixes(value: list[str] | None, *, microsoft: bool, called: str) -> list[str] | None:
    """Microsoft peering's public prefixes (``called``: how the provider spells that peering)."""
    if not microsoft:
        if value:
            raise ValueError(f"advertised prefixes are for {called} peering only")
        return None
    if not value:
        raise ValueError(f"{called} peering needs the public prefixes you advertise")
    prefixes = []
    for text in value:
        try:
            network = ipaddress.ip_network(text, strict=True)
        except ValueError:
            raise ValueError(f"{text} is not a prefix (or has host bits set)") from None
        if isinstance(network, ipaddress.IPv4Network) and any(network.subnet_of(p) for p in RFC1918):
            raise ValueError(f"{text} is private address space; {called} peering needs public prefixes")
        prefixes.append(str(network))
    return prefixes


def routing_registry(value: str | None, *, microsoft: bool, called: str, known: Iterable[str]) -> str | None:
    if microsoft and value is None:
        raise ValueError(f"{called} peering needs the routing registry: {', '.join(known)}")
    if not microsoft and value is not None:
        raise ValueError(f"a routing registry is for {called} peering only")
    return value


def _link(value: str, which: str) -> Network:
    """A /30 (IPv4) or /126 (IPv6) subnet, written from its first address."""
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"{value} is not a prefix; write it as 10.0.0.0/30 (or an IPv6 /126)") from None
    wanted = 30 if network.version == 4 else 126
    if "/" not in value or network.prefixlen != wanted:
        raise ValueError(f"the {which} prefix is an IPv4 /30 or an IPv6 /126, not /{network.prefixlen}")
    if network.network_address != ipaddress.ip_address(value.split("/")[0]):
        raise ValueError(f"{value} has host bits set; the /{wanted} starts at {network}")
    return network
