"""Block Kit for the Azure commands: port pairs with usage bars, cross-connections, peerings,
BGP communities and the troubleshooting tables.

Everything goes through ``chat.blocks``, so messages stay inside Slack's limits; long lists are
paged with the ◂ Previous / Next ▸ buttons that re-run the command. Shared keys are never
shown: a peering says only whether it has one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply
from circuitbot.providers.azure import models as m
from circuitbot.providers.kit.render import NONE, code, counted, escaped, number, paged

PAIRS_PER_PAGE = 10
CIRCUITS_PER_PAGE = 10
ROWS_PER_PAGE = 40


def mbps(value: int | None) -> str:
    """Always in Mbps, as Azure states bandwidth, so figures compare at a glance."""
    if value is None:
        return NONE
    return f"{value:,} Mbps"


# --- port pairs -------------------------------------------------------------------------------


def pair_properties(pair: m.ExpressRouteProviderPort) -> m.ExpressRouteProviderPortProperties:
    return pair.properties or m.ExpressRouteProviderPortProperties()


def usage_bar(pair: m.ExpressRouteProviderPort) -> str:
    """``██████░░░░ 62%`` of the port bandwidth in use."""
    ports = pair_properties(pair)
    return bk.bar(ports.used_bandwidth_in_mbps or 0, ports.port_bandwidth_in_mbps or 0)


def pair_text(pair: m.ExpressRouteProviderPort, *, tag: str = "") -> str:
    ports = pair_properties(pair)
    factor = f" · overprovision ×{ports.overprovision_factor}" if ports.overprovision_factor else ""
    return (
        f"*{escaped(pair.descriptor)}*{tag} · {escaped(ports.peering_location)}\n"
        f"`{usage_bar(pair)}` {number(ports.used_bandwidth_in_mbps)} of "
        f"{mbps(ports.port_bandwidth_in_mbps)} used · "
        f"*{mbps(ports.remaining_bandwidth_in_mbps)} free*{factor}\n"
        f"primary {code(ports.primary_azure_port)} · secondary {code(ports.secondary_azure_port)}"
    )


def port_pairs(
    pairs: Sequence[m.ExpressRouteProviderPort], *, location: str | None, page: int, command_text: str
) -> Reply:
    where = f" at {location}" if location else ""  # raw: the header is plain text
    if not pairs:
        return Reply.plain(bk.escape(f"No port pairs{where}."))
    ordered = sorted(pairs, key=lambda p: ((pair_properties(p).peering_location or "").lower(), p.descriptor))
    shown, page, pages = bk.paginate(ordered, page, PAIRS_PER_PAGE)
    title = f"{counted(len(pairs), 'port pair')}{where}"
    blocks: list[dict[str, Any]] = [bk.header(f"Azure ExpressRoute port pairs{where}")]
    blocks.extend(bk.section(pair_text(pair)) for pair in shown)
    blocks.append(
        bk.context(
            f"{bk.escape(title)} · `az port <descriptor>` for one · `az move <key>` to place a circuit"
        )
    )
    text = bk.escape(
        title
        + "\n"
        + "\n".join(
            f"{p.descriptor}: {mbps(pair_properties(p).remaining_bandwidth_in_mbps)} free" for p in shown
        )
    )
    return Reply(text=text, blocks=paged(blocks, command_text, page, pages))


def port_pair(pair: m.ExpressRouteProviderPort) -> Reply:
    ports = pair_properties(pair)
    blocks: list[dict[str, Any]] = [
        bk.header(f"Port pair {pair.descriptor}"),
        *bk.fields(
            [
                ("Peering location", escaped(ports.peering_location)),
                ("Region", escaped(pair.location)),
                ("Primary port", code(ports.primary_azure_port)),
                ("Secondary port", code(ports.secondary_azure_port)),
                ("Port bandwidth", mbps(ports.port_bandwidth_in_mbps)),
                (
                    "Overprovision factor",
                    f"×{ports.overprovision_factor}" if ports.overprovision_factor else NONE,
                ),
                ("Used", mbps(ports.used_bandwidth_in_mbps)),
                ("Remaining", mbps(ports.remaining_bandwidth_in_mbps)),
            ]
        ),
        bk.section(f"`{usage_bar(pair)}` of the port bandwidth in use"),
    ]
    if pair.id:
        blocks.append(bk.context(code(pair.id)))
    text = bk.escape(
        f"Port pair {pair.descriptor} at {ports.peering_location}: {mbps(ports.used_bandwidth_in_mbps)} of "
        f"{mbps(ports.port_bandwidth_in_mbps)} used, {mbps(ports.remaining_bandwidth_in_mbps)} free"
    )
    return Reply(text=text, blocks=blocks)


# --- cross-connections ------------------------------------------------------------------------


def cc_properties(cross_connection: m.ExpressRouteCrossConnection) -> m.ExpressRouteCrossConnectionProperties:
    return cross_connection.properties or m.ExpressRouteCrossConnectionProperties()


def circuit_id(cross_connection: m.ExpressRouteCrossConnection) -> str | None:
    circuit = cc_properties(cross_connection).express_route_circuit
    return circuit.id if circuit else None


def circuit_name(cross_connection: m.ExpressRouteCrossConnection) -> str | None:
    return m.resource_id_part(circuit_id(cross_connection), "expressRouteCircuits")


def states(cross_connection: m.ExpressRouteCrossConnection) -> str:
    properties = cc_properties(cross_connection)
    return (
        f"{escaped(properties.service_provider_provisioning_state)} · "
        f"provisioning {escaped(properties.provisioning_state)}"
    )


def circuit_line(cross_connection: m.ExpressRouteCrossConnection) -> str:
    properties = cc_properties(cross_connection)
    count = len(properties.peerings or [])
    peerings = counted(count, "peering") if count else "no peerings"
    return (
        f"{code(cross_connection.name)} · {escaped(properties.peering_location)} · "
        f"{mbps(properties.bandwidth_in_mbps)} · {escaped(circuit_name(cross_connection))}\n"
        f"{states(cross_connection)} · ports {code(properties.primary_azure_port)} / "
        f"{code(properties.secondary_azure_port)} · {peerings}"
    )


def cross_connections(
    items: Sequence[m.ExpressRouteCrossConnection], *, filters: str, page: int, command_text: str
) -> Reply:
    if not items:
        return Reply.plain(bk.escape(f"No cross-connections{filters}."))
    shown, page, pages = bk.paginate(list(items), page, CIRCUITS_PER_PAGE)
    title = f"{counted(len(items), 'cross-connection')}{filters}"
    blocks: list[dict[str, Any]] = [bk.header(f"Azure ExpressRoute circuits{filters}")]
    blocks.extend(bk.section(circuit_line(c)) for c in shown)
    blocks.append(bk.context(f"{bk.escape(title)} · `az show <key>` for one"))
    text = bk.escape(
        title
        + "\n"
        + "\n".join(
            f"{c.name} {cc_properties(c).peering_location} "
            f"{cc_properties(c).service_provider_provisioning_state}"
            for c in shown
        )
    )
    return Reply(text=text, blocks=paged(blocks, command_text, page, pages))


def cross_connection(cross_connection: m.ExpressRouteCrossConnection) -> Reply:
    properties = cc_properties(cross_connection)
    blocks: list[dict[str, Any]] = [
        bk.header(f"Azure circuit {cross_connection.name}"),
        *bk.fields(
            [
                ("Customer circuit", escaped(circuit_name(cross_connection))),
                ("Peering location", escaped(properties.peering_location)),
                ("Bandwidth", mbps(properties.bandwidth_in_mbps)),
                ("sTag", escaped(properties.s_tag)),
                ("Provider state", escaped(properties.service_provider_provisioning_state)),
                ("Provisioning state", escaped(properties.provisioning_state)),
                ("Primary port", code(properties.primary_azure_port)),
                ("Secondary port", code(properties.secondary_azure_port)),
                ("Resource group", escaped(cross_connection.resource_group)),
                ("Region", escaped(cross_connection.location)),
            ]
        ),
    ]
    if properties.service_provider_notes:
        blocks.append(bk.section(f"*Notes*\n{escaped(properties.service_provider_notes)}"))
    peering_items = properties.peerings or []
    if peering_items:
        blocks.append(bk.section("*Peerings*"))
        blocks.extend(bk.section(peering_text(p)) for p in peering_items)
    else:
        blocks.append(bk.section("*Peerings*\nnone yet"))
    if circuit_id(cross_connection):
        blocks.append(bk.context(f"customer circuit {code(circuit_id(cross_connection))}"))
    text = bk.escape(
        f"Azure circuit {cross_connection.name}: {properties.peering_location}, "
        f"{mbps(properties.bandwidth_in_mbps)}, {properties.service_provider_provisioning_state}, "
        f"provisioning {properties.provisioning_state}"
    )
    return Reply(text=text, blocks=blocks)


# --- peerings ---------------------------------------------------------------------------------


def peering_properties(
    peering: m.ExpressRouteCrossConnectionPeering,
) -> m.ExpressRouteCrossConnectionPeeringProperties:
    return peering.properties or m.ExpressRouteCrossConnectionPeeringProperties()


def peering_summary(peering: m.ExpressRouteCrossConnectionPeering) -> str:
    """One line without markup: ``VLAN 200 · peer ASN 500 · 10.0.0.0/30 + 10.0.0.4/30``."""
    p = peering_properties(peering)
    return (
        f"VLAN {p.vlan_id if p.vlan_id is not None else NONE} · peer ASN "
        f"{p.peer_asn if p.peer_asn is not None else NONE} · "
        f"{p.primary_peer_address_prefix or NONE} + {p.secondary_peer_address_prefix or NONE}"
    )


def peering_text(peering: m.ExpressRouteCrossConnectionPeering) -> str:
    p = peering_properties(peering)
    name = peering.name or p.peering_type
    lines = [
        f"*{escaped(name)}* · {escaped(p.state)} · provisioning {escaped(p.provisioning_state)}",
        f"VLAN {escaped(p.vlan_id)} · peer ASN {escaped(p.peer_asn)} · Azure ASN {escaped(p.azure_asn)} · "
        f"primary {code(p.primary_peer_address_prefix)} · secondary {code(p.secondary_peer_address_prefix)}"
        f" · shared key {'set' if p.shared_key else 'none'}",
    ]
    config = p.microsoft_peering_config
    if config is not None:
        prefixes = ", ".join(config.advertised_public_prefixes or []) or NONE
        lines.append(
            f"advertised {code(prefixes)} ({escaped(config.advertised_public_prefixes_state)}) · "
            f"customer ASN {escaped(config.customer_asn)} · registry {escaped(config.routing_registry_name)}"
        )
    ipv6 = p.ipv6_peering_config
    if ipv6 is not None and (ipv6.primary_peer_address_prefix or ipv6.secondary_peer_address_prefix):
        lines.append(
            f"IPv6 {escaped(ipv6.state)} · primary {code(ipv6.primary_peer_address_prefix)} · "
            f"secondary {code(ipv6.secondary_peer_address_prefix)}"
        )
    if p.last_modified_by:
        lines.append(f"last modified by {escaped(p.last_modified_by)}")
    return "\n".join(lines)


def peerings(key: str, items: Sequence[m.ExpressRouteCrossConnectionPeering]) -> Reply:
    if not items:
        return Reply.plain(
            f"{bk.escape(key)} has no peerings yet. `az peering {bk.escape(key)} private` configures one."
        )
    title = f"{counted(len(items), 'peering')} of {key}"
    blocks = [bk.section(f"*{bk.escape(title)}*"), *(bk.section(peering_text(p)) for p in items)]
    text = bk.escape(title + "\n" + "\n".join(f"{p.name}: {peering_summary(p)}" for p in items))
    return Reply(text=text, blocks=blocks)


def peering_done(key: str, peering: m.ExpressRouteCrossConnectionPeering) -> Reply:
    text = bk.escape(f"Peering {peering.name} of {key} is configured.")
    return Reply(text=text, blocks=[bk.section(f"{text}\n{peering_text(peering)}")])


# --- communities ------------------------------------------------------------------------------


def communities(
    items: Sequence[m.BgpServiceCommunity], *, service: str | None, page: int, command_text: str
) -> Reply:
    rows = []
    for item in items:
        properties = item.properties or m.BgpServiceCommunityPropertiesFormat()
        for community in properties.bgp_communities or []:
            prefixes = community.community_prefixes or []
            rows.append(
                [
                    properties.service_name or item.name,
                    community.community_name,
                    community.community_value,
                    community.service_supported_region,
                    ", ".join(prefixes[:2]) + (f" +{len(prefixes) - 2}" if len(prefixes) > 2 else ""),
                ]
            )
    about = f" matching {bk.code(service)}" if service else ""
    if not rows:
        return Reply.plain(f"No BGP service communities{about}.")
    shown, page, pages = bk.paginate(rows, page, ROWS_PER_PAGE)
    lines = bk.table(("service", "community", "value", "region", "prefixes"), shown)
    title = f"{counted(len(rows), 'BGP community', 'BGP communities')}{about}"
    blocks = [bk.section(f"*{title}* · for Microsoft peering route filters"), *bk.code_sections(lines)]
    return Reply(
        text=title + "\n" + bk.escape("\n".join(lines)), blocks=paged(blocks, command_text, page, pages)
    )


# --- troubleshooting tables -------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A table read from a device: what it is and its rows."""

    kind: str  # "ARP table", "route table", "route summary"
    key: str
    peering: str
    path: str
    columns: tuple[str, ...]
    rows: list[list[Any]]


def arp_table(key: str, peering: str, path: str, items: Sequence[m.ExpressRouteCircuitArpTable]) -> Table:
    rows = [[i.ip_address, i.mac_address, i.interface, i.age] for i in items]
    return Table(
        "ARP table", key, peering, path, ("ip address", "mac address", "interface", "age (min)"), rows
    )


def routes_table(
    key: str, peering: str, path: str, items: Sequence[m.ExpressRouteCircuitRoutesTable]
) -> Table:
    rows = [[i.network, i.next_hop, i.loc_prf, i.weight, i.path] for i in items]
    return Table("route table", key, peering, path, ("network", "next hop", "locPrf", "weight", "path"), rows)


def routes_summary(
    key: str, peering: str, path: str, items: Sequence[m.ExpressRouteCrossConnectionRoutesTableSummary]
) -> Table:
    rows = [[i.neighbor, i.asn, i.up_down, i.state_or_prefixes_received] for i in items]
    return Table(
        "route summary", key, peering, path, ("neighbor", "asn", "up/down", "state/prefixes received"), rows
    )


def table(result: Table, *, page: int, command_text: str) -> Reply:
    title = f"{result.kind} of {result.key} · {result.peering} · {result.path}"
    if not result.rows:
        return Reply.plain(bk.escape(f"The {title} is empty."))
    shown, page, pages = bk.paginate(result.rows, page, ROWS_PER_PAGE)
    lines = bk.table(result.columns, [["" if v is None else v for v in row] for row in shown])
    count = counted(len(result.rows), "row")
    blocks = [bk.section(f"*{bk.escape(title)}* · {count}"), *bk.code_sections(lines)]
    return Reply(
        text=bk.escape(f"{title}\n" + "\n".join(lines)), blocks=paged(blocks, command_text, page, pages)
    )


# --- results of changes -----------------------------------------------------------------------


def changed(title: str, before: m.ExpressRouteCrossConnection, after: m.ExpressRouteCrossConnection) -> Reply:
    """What a change did to a cross-connection: its title, then each field that differs."""
    old, new = cc_properties(before), cc_properties(after)
    fields = (
        ("primary port", old.primary_azure_port, new.primary_azure_port),
        ("secondary port", old.secondary_azure_port, new.secondary_azure_port),
        (
            "provider state",
            old.service_provider_provisioning_state,
            new.service_provider_provisioning_state,
        ),
        ("notes", old.service_provider_notes, new.service_provider_notes),
    )
    lines = [f"• {what}: {escaped(a)} → *{escaped(b)}*" for what, a, b in fields if a != b]
    lines.append(f"• provisioning state: *{escaped(new.provisioning_state)}*")
    text = f"{bk.escape(title)}\n" + "\n".join(lines)
    return Reply(text=text, blocks=[bk.section(text), bk.context(circuit_line(after))])
