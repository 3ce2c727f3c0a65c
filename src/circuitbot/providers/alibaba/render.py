"""Block Kit for the Alibaba commands: physical connections, one connection, its VBRs, a change.

Every value from Alibaba goes through the kit's ``escaped``/``code`` (names, descriptions and
peer locations were typed by people); long lists are paged with the buttons that re-run the
command.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply
from circuitbot.providers.kit.render import NONE, code, counted, escaped, paged

from . import models as m

PER_PAGE = 10
STATUS_ICONS = {
    "enabled": ":large_green_circle:",
    "confirmed": ":large_blue_circle:",
    "terminated": ":white_circle:",
    "canceled": ":white_circle:",
    "rejected": ":red_circle:",
    "allocationfailed": ":red_circle:",
}


def mbps(value: int | None) -> str:
    return NONE if value is None else f"{value:,} Mbps"


def status(connection: m.PhysicalConnection) -> str:
    icon = STATUS_ICONS.get(m.status_key(connection.status), ":hourglass_flowing_sand:")
    business = connection.business_status
    locked = f" · *{escaped(business)}*" if business and business != m.BusinessStatus.NORMAL else ""
    return f"{icon} {escaped(connection.status)}{locked}"


def line(connection: m.PhysicalConnection) -> str:
    return (
        f"{code(connection.physical_connection_id)} *{escaped(connection.name)}* · {status(connection)}\n"
        f"{escaped(connection.access_point_id)} · {escaped(connection.line_operator)} · "
        f"{escaped(connection.port_type)} · {mbps(connection.bandwidth)} · "
        f"{escaped(connection.peer_location)}"
    )


def connections(
    items: Sequence[m.PhysicalConnection], *, filters: str, page: int, command_text: str
) -> Reply:
    if not items:
        return Reply.plain(f"No physical connections{bk.escape(filters)}.")
    shown, page, pages = bk.paginate(items, page, PER_PAGE)
    title = f"{counted(len(items), 'physical connection')}{filters}"
    blocks: list[dict[str, Any]] = [bk.header("Alibaba Express Connect physical connections")]
    blocks.extend(bk.section(line(c)) for c in shown)
    blocks.append(
        bk.context(f"{bk.escape(title)} · `ali show <pc-id>` for one · `ali vbrs <pc-id>` for its VBRs")
    )
    text = bk.escape(title + "\n" + "\n".join(f"{c.physical_connection_id}: {c.status}" for c in shown))
    return Reply(text=text, blocks=paged(blocks, command_text, page, pages))


def connection(pc: m.PhysicalConnection, region: str | None = None) -> Reply:
    blocks: list[dict[str, Any]] = [
        bk.header(f"Physical connection {pc.name or pc.physical_connection_id}"),
        *bk.fields(
            [
                ("Id", code(pc.physical_connection_id)),
                ("Status", status(pc)),
                ("Business status", escaped(pc.business_status)),
                ("Bandwidth", mbps(pc.bandwidth)),
                ("Port type", escaped(pc.port_type)),
                ("Line operator", escaped(pc.line_operator)),
                ("Access point", escaped(pc.access_point_id)),
                ("Peer location", escaped(pc.peer_location)),
                ("Circuit code", code(pc.circuit_code)),
                ("Redundant connection", code(pc.redundant_physical_connection_id)),
            ]
        ),
        *bk.fields(
            [
                ("Region", escaped(region)),
                ("Spec", escaped(pc.spec)),
                ("Created", escaped(pc.creation_time)),
                ("Enabled", escaped(pc.enabled_time)),
                ("Expires", escaped(pc.end_time)),
                ("Port", escaped(pc.port_number)),
            ]
        ),
    ]
    if pc.description:
        blocks.append(bk.section(f"_{escaped(pc.description)}_"))
    blocks.append(
        bk.context(f"`ali vbrs {pc.physical_connection_id}` · `watch ali {pc.physical_connection_id}`")
    )
    text = bk.escape(
        f"{pc.physical_connection_id} ({pc.name or 'no name'}): {pc.status}, {mbps(pc.bandwidth)}"
    )
    return Reply(text=text, blocks=blocks)


def vbrs(pc_id: str, items: Sequence[m.VirtualBorderRouter]) -> Reply:
    if not items:
        return Reply.plain(bk.escape(f"No VBRs on {pc_id}: it may be terminated once Enabled."))
    rows = [
        f"{code(v.vbr_id)} · VLAN {escaped(v.vlan_id)} · *{escaped(v.status)}* · "
        f"{escaped(v.local_gateway_ip)} ↔ {escaped(v.peer_gateway_ip)}"
        for v in items
    ]
    title = f"{counted(len(items), 'VBR')} on {pc_id}"
    blocks = [
        bk.header(f"VBRs on {pc_id}"),
        *bk.sections(rows),
        bk.context(bk.escape(title) + " · delete them before terminating the connection"),
    ]
    return Reply(text=bk.escape(title), blocks=bk.fit(blocks))


def changed(title: str, before: m.PhysicalConnection | None, after: m.PhysicalConnection | None) -> Reply:
    """What a change did: its title, then each watched field that differs."""
    lines = []
    for label, attribute in (
        ("status", "status"),
        ("name", "name"),
        ("description", "description"),
        ("bandwidth", "bandwidth"),
        ("port type", "port_type"),
        ("line operator", "line_operator"),
        ("peer location", "peer_location"),
        ("circuit code", "circuit_code"),
        ("redundant connection", "redundant_physical_connection_id"),
    ):
        old = getattr(before, attribute, None) if before else None
        new = getattr(after, attribute, None) if after else None
        if old != new:
            lines.append(f"• {label}: {escaped(old)} → *{escaped(new)}*")
    text = "\n".join([bk.escape(title), *lines])
    blocks: list[dict[str, Any]] = [bk.section(text)]
    if after is not None:
        blocks.append(bk.context(line(after)))
    return Reply(text=text, blocks=blocks)
