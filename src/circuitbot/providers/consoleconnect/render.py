"""Block Kit for the Console Connect commands: connections, ports, verified keys, peering configs.

Everything goes through ``chat.blocks`` and the kit's ``render`` functions: names and other text
people typed are escaped, ids are code spans, long lists are paged. A peering config's shared
key is never shown: a config says only whether it has one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply
from circuitbot.providers.kit.render import NONE, code, counted, escaped, paged

from . import models as m

CONNECTIONS_PER_PAGE = 10
PORTS_PER_PAGE = 15

_ICONS = {
    "active": ":large_green_circle:",
    "provisioned": ":large_green_circle:",
    "synced": ":large_green_circle:",
    "creating": ":hourglass_flowing_sand:",
    "provisioning": ":hourglass_flowing_sand:",
    "pending": ":hourglass_flowing_sand:",
    "syncing": ":hourglass_flowing_sand:",
    "deleting": ":wastebasket:",
    "deprovisioning": ":wastebasket:",
    "deleted": ":black_circle:",
    "error": ":red_circle:",
}


def mbps(value: int | None) -> str:
    return NONE if value is None else f"{value:,} Mbps"


def status(value: str | None) -> str:
    """A status as the provider spelled it, with an icon for what it means."""
    icon = _ICONS.get(m.status_key(value), ":white_circle:")
    return f"{icon} {escaped(value)}" if value else NONE


def connection_line(connection: m.Connection) -> str:
    subs = counted(len(connection.subconnections), "sub-connection")
    return (
        f"*{escaped(connection.name)}* · {code(connection.id)}\n"
        f"{status(connection.status)} · Azure {status(connection.partner_status)} · "
        f"{mbps(connection.speed_mbps)} · {subs}"
    )


def connections(items: Sequence[m.Connection], *, filters: str, page: int, command_text: str) -> Reply:
    if not items:
        return Reply.plain(bk.escape_code(f"No Console Connect connections{filters}."))
    shown, page, pages = bk.paginate(list(items), page, CONNECTIONS_PER_PAGE)
    title = f"{counted(len(items), 'connection')}{filters}"
    blocks: list[dict[str, Any]] = [bk.header(f"Console Connect Azure connections{filters}")]
    blocks.extend(bk.section(connection_line(c)) for c in shown)
    blocks.append(bk.context(f"{bk.escape_code(title)} · `cc show <id>` for one"))
    text = bk.escape_code(title + "\n" + "\n".join(f"{c.name} {c.id} {c.status}" for c in shown))
    return Reply(text=text, blocks=paged(blocks, command_text, page, pages))


def connection(item: m.Connection, configs: dict[str, m.PeeringConfig | None] | None = None) -> Reply:
    blocks: list[dict[str, Any]] = [
        bk.header(f"Console Connect connection {item.id}"),  # the typed name goes in a field, escaped
        *bk.fields(
            [
                ("Name", escaped(item.name)),
                ("Status", status(item.status)),
                ("Azure provisioning", status(item.partner_status)),
                ("Speed", mbps(item.speed_mbps)),
                ("Type", escaped(item.type)),
                ("Service key", code(item.service_key)),
                ("Payment", escaped(item.payment_type)),
            ]
        ),
    ]
    if item.error_reason:
        blocks.append(bk.section(f":red_circle: *Error*: {escaped(item.error_reason)}"))
    subs = [
        f"{code(sub.id)} · {status(sub.status)} · {escaped(sub.name)} · port {code(sub.src_port_id)}"
        for sub in item.subconnections
    ]
    blocks.append(bk.section("*Sub-connections*\n" + ("\n".join(subs) if subs else "none")))
    if configs is not None:
        lines = [
            f"*{kind}* · {peering_line(config)}" for kind, config in configs.items() if config is not None
        ]
        blocks.append(bk.section("*Peerings*\n" + ("\n".join(lines) if lines else "none configured")))
    hint = f"`cc peering {item.id} PRIVATE` configures a peering"
    if not item.is_active():
        hint = "peerings can be configured once the connection is ACTIVE"
    blocks.append(bk.context(f"{code(item.id)} · {hint}"))
    text = bk.escape_code(f"{item.name} {item.id}: {item.status}, Azure {item.partner_status}")
    return Reply(text=text, blocks=blocks)


def peering_line(config: m.PeeringConfig) -> str:
    return (
        f"{status(config.sync_status)} · peer ASN {escaped(config.peer_asn)} · "
        f"VLAN {escaped(config.vlan_id)} · "
        f"{code(config.primary_peer_address_prefix)} / {code(config.secondary_peer_address_prefix)}"
    )


def peering(connection_id: str, kind: str, config: m.PeeringConfig) -> Reply:
    pairs = [
        ("Sync status", status(config.sync_status)),
        ("Peer ASN", escaped(config.peer_asn)),
        ("VLAN", escaped(config.vlan_id)),
        ("Primary prefix", code(config.primary_peer_address_prefix)),
        ("Secondary prefix", code(config.secondary_peer_address_prefix)),
        # the API need not send a key back: its absence does not mean none is set
        ("Shared key", "set (never shown)" if config.shared_key is not None else "not sent back"),
    ]
    if kind == m.PeeringType.MICROSOFT:
        prefixes = ", ".join(bk.code(p) for p in config.advertised_public_prefixes or []) or NONE
        pairs += [
            ("Advertised prefixes", prefixes),
            ("Routing registry", escaped(config.routing_registry_name)),
        ]
        if config.customer_asn:
            pairs.append(("Customer ASN", escaped(config.customer_asn)))
    blocks = [
        bk.header(f"{kind} peering of {connection_id}"),
        *bk.fields(pairs),
        bk.context("PENDING: sent · SYNCING: being configured at Azure · SYNCED: active in Azure"),
    ]
    text = bk.escape_code(f"{kind} peering of {connection_id}: {config.sync_status}")
    return Reply(text=text, blocks=blocks)


def ports(items: Sequence[m.Port], *, page: int, command_text: str) -> Reply:
    if not items:
        return Reply.plain("The company has no ports.")
    shown, page, pages = bk.paginate(list(items), page, PORTS_PER_PAGE)
    lines = [
        f"*{escaped(p.port_name)}* · {code(p.id)} · {mbps(p.speed_mbps)} · {escaped(p.facility)} · "
        f"{status(p.status)}"
        for p in shown
    ]
    blocks: list[dict[str, Any]] = [bk.header("Console Connect ports"), *bk.sections(lines)]
    blocks.append(bk.context(f"{counted(len(items), 'port')} · `cc create` offers them as source ports"))
    text = bk.escape_code(
        f"{counted(len(items), 'port')}\n" + "\n".join(f"{p.port_name} {p.id}" for p in shown)
    )
    return Reply(text=text, blocks=paged(blocks, command_text, page, pages))


def service_key(key: str, info: m.ServiceKeyInfo) -> Reply:
    pairs = [("Service key", code(info.service_key or key)), ("Bandwidth", mbps(info.mbps))]
    if info.peering_location:
        pairs.append(("Peering location", escaped(info.peering_location)))
    if info.service_provider_name:
        pairs.append(("Provider", escaped(info.service_provider_name)))
    azure_state = (info.model_extra or {}).get("serviceProviderProvisioningState")
    if azure_state:
        pairs.append(("Azure provider state", escaped(azure_state)))
    blocks = [
        bk.header(":white_check_mark: Service key verified"),
        *bk.fields(pairs),
        bk.context("`cc create` orders the connection with this key"),
    ]
    text = bk.escape_code(
        f"Service key {key} is valid: {mbps(info.mbps)} at {info.peering_location or 'its location'}"
    )
    return Reply(text=text, blocks=blocks)
