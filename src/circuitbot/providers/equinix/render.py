"""Block Kit for the Equinix commands: ports, metros, prices, profiles, key checks,
connections and port stats.

Everything goes through ``chat.blocks`` and the kit's ``render``, so messages stay inside
Slack's limits and provider text is escaped. Long lists are paged with the ◂ Previous / Next ▸
buttons that re-run the command. Stats read as a small table with a sparkline per direction,
never as raw JSON. Service keys are shown (they are how circuits are found, not secrets).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply
from circuitbot.providers.kit.render import NONE, code, counted, escaped, paged

from .views import (
    ConnectionView,
    MetroView,
    PortStats,
    PortView,
    PriceQuote,
    ProfileView,
    Traffic,
    Validation,
)

PER_PAGE = 10
SPARKS = "▁▂▃▄▅▆▇█"


def mbps(value: int | None) -> str:
    if value is None:
        return NONE
    return f"{value // 1000:,} Gbps" if value >= 1000 and value % 1000 == 0 else f"{value:,} Mbps"


def yes_no(value: bool | None) -> str:
    return NONE if value is None else ("yes" if value else "no")


def states_text(c: ConnectionView) -> str:
    return " · ".join(f"{name} *{escaped(value)}*" for name, value in c.states.items()) or NONE


# --- ports and metros ---------------------------------------------------------------------------


def port_text(p: PortView) -> str:
    return (
        f"*{escaped(p.name)}* · {escaped(p.metro)} ({escaped(p.metro_name)}) · IBX {escaped(p.ibx)}\n"
        f"{mbps(p.bandwidth_mbps)} · {escaped(p.encapsulation)} · {escaped(p.priority)} · "
        f"may order: *{yes_no(p.can_order)}*\n{code(p.uuid)}"
    )


def ports(items: Sequence[PortView], *, page: int, command_text: str) -> Reply:
    if not items:
        return Reply.plain("No ports in this Equinix account.")
    ordered = sorted(items, key=lambda p: (p.metro or "", p.name or ""))
    shown, page, pages = bk.paginate(ordered, page, PER_PAGE)
    blocks: list[dict[str, Any]] = [bk.header("Equinix Fabric ports")]
    blocks += [bk.section(port_text(p)) for p in shown]
    blocks.append(bk.context(f"{counted(len(items), 'port')} · `eqx price <port> <metro>` for prices"))
    text = bk.escape(f"{counted(len(items), 'port')}: " + ", ".join(p.name or p.uuid for p in shown))
    return Reply(text=text, blocks=paged(blocks, command_text, page, pages))


def metros(items: Sequence[MetroView], *, page: int, command_text: str) -> Reply:
    if not items:
        return Reply.plain("No metros.")
    shown, page, pages = bk.paginate(sorted(items, key=lambda m: m.code), page, 20)
    lines = [
        f"*{escaped(m.code)}* {escaped(m.name)} · {escaped(m.region)} · reaches "
        + (", ".join(escaped(r) for r in m.reach) or NONE)
        for m in shown
    ]
    blocks = [bk.header("Equinix Fabric metros and their cloud reach"), *bk.sections(lines)]
    text = bk.escape(f"{counted(len(items), 'metro')}: " + ", ".join(m.code for m in shown))
    return Reply(text=text, blocks=paged(blocks, command_text, page, pages))


# --- prices, profiles, validation ---------------------------------------------------------------


def price(quote: PriceQuote, port: str) -> Reply:
    if not quote.tiers:
        return Reply.plain(f"Equinix quoted no price from port {code(port)} to {escaped(quote.destination)}.")
    rows = [
        (mbps(t.speed_mbps), _money(t.local), _money(t.remote))
        for t in sorted(quote.tiers, key=lambda t: t.speed_mbps)
    ]
    currency = quote.currency or "currency not given"
    title = f"Price from {quote.origin or '?'} to {quote.destination or '?'} ({currency})"
    blocks = [
        bk.header(title),
        *bk.code_sections(bk.table(["speed", "local", "remote"], rows)),
        bk.context(
            "Monthly, estimated by Equinix; taxes and fees may apply. "
            "A remote price includes the local charge."
        ),
    ]
    return Reply(text=bk.escape(title), blocks=blocks)


def _money(value: float | None) -> str:
    return NONE if value is None else f"{value:,.2f}"


def profile_text(p: ProfileView) -> str:
    speeds = ", ".join(mbps(s) for s in p.speeds_mbps) or NONE
    custom = " (custom speeds allowed)" if p.custom_speed else ""
    return (
        f"*{escaped(p.name)}* · {escaped(p.organization)}\n"
        f"speeds: {speeds}{custom}\nmetros: {', '.join(escaped(m) for m in p.metros) or NONE}\n"
        f"redundancy required: *{yes_no(p.redundancy_required)}* · tag type: {escaped(p.tag_type)}\n"
        f"{code(p.uuid)}"
    )


def profiles(items: Sequence[ProfileView], *, metros: Sequence[str], page: int, command_text: str) -> Reply:
    where = f" in {', '.join(metros)}" if metros else ""
    if not items:
        return Reply.plain(bk.escape(f"No service profiles{where}."))
    shown, page, pages = bk.paginate(sorted(items, key=lambda p: (p.name or "").lower()), page, PER_PAGE)
    blocks: list[dict[str, Any]] = [bk.header(f"Equinix service profiles{where}")]
    blocks += [bk.section(profile_text(p)) for p in shown]
    blocks.append(bk.context(f"{counted(len(items), 'profile')} · `eqx profile <uuid>` for one"))
    text = bk.escape(f"{counted(len(items), 'service profile')}{where}")
    return Reply(text=text, blocks=paged(blocks, command_text, page, pages))


def profile(p: ProfileView) -> Reply:
    return Reply(text=bk.escape(f"Service profile {p.name}"), blocks=[bk.section(profile_text(p))])


def validation(v: Validation, key: str) -> Reply:
    icon = ":white_check_mark:" if v.valid else ":x:"
    lines = [f"{icon} key {code(key)}: {escaped(v.message)}"]
    lines += [f"• {escaped(b)}" for b in v.bandwidths]
    text = "\n".join(lines)
    return Reply(text=text, blocks=[bk.section(text)])


# --- connections --------------------------------------------------------------------------------


def connection_line(c: ConnectionView) -> str:
    return (
        f"*{escaped(c.name)}* · {mbps(c.speed_mbps)} · {escaped(c.metro)} → {escaped(c.seller_metro)} · "
        f"{escaped(c.redundancy)}\n{states_text(c)}\n{code(c.uuid)}"
    )


def connections(items: Sequence[ConnectionView], *, filters: str, page: int, command_text: str) -> Reply:
    if not items:
        return Reply.plain(bk.escape(f"No connections{filters}."))
    shown, page, pages = bk.paginate(items, page, PER_PAGE)
    blocks: list[dict[str, Any]] = [bk.header(bk.clip(f"Equinix connections{filters}", bk.MAX_HEADER_TEXT))]
    blocks += [bk.section(connection_line(c)) for c in shown]
    blocks.append(bk.context(f"{counted(len(items), 'connection')} · `eqx show <uuid>` for one"))
    text = bk.escape(f"{counted(len(items), 'connection')}{filters}")
    return Reply(text=text, blocks=paged(blocks, command_text, page, pages))


def connection(c: ConnectionView) -> Reply:
    fields = [
        ("states", states_text(c)),
        ("speed", mbps(c.speed_mbps)),
        ("port", f"{escaped(c.port_name)} {code(c.port_uuid)}"),
        ("VLAN", escaped(c.vlan)),
        ("metros", f"{escaped(c.metro)} → {escaped(c.seller_metro)}"),
        ("profile", escaped(c.profile)),
        ("service key", code(c.authorization_key)),
        ("peering", escaped(c.peering)),
        ("redundancy", f"{escaped(c.redundancy)} · group {code(c.redundancy_group)}"),
        ("created", escaped(c.created)),
    ]
    blocks = [
        bk.header(bk.clip(f"Equinix connection {c.name or c.uuid}", bk.MAX_HEADER_TEXT)),
        bk.section(code(c.uuid), fields=[f"*{name}*\n{value}" for name, value in fields]),
        bk.context(f"Fabric {c.generation} · `watch eqx {c.uuid}` to follow it"),
    ]
    return Reply(text=bk.escape(f"{c.name or c.uuid}: {c.status or '?'}"), blocks=blocks)


# --- port stats ---------------------------------------------------------------------------------


def sparkline(values: Sequence[float | None]) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return NONE
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    return "".join(" " if v is None else SPARKS[round((v - low) / span * (len(SPARKS) - 1))] for v in values)


def _figure(value: float | None) -> str:
    return NONE if value is None else f"{value:,.2f}" if value >= 0.01 else f"{value:.6f}"


def stats(s: PortStats) -> Reply:
    unit = s.unit or "as reported"
    rows = [
        (name, _figure(t.max), _figure(t.mean), sparkline([p.mean for p in t.points][-40:]))
        for name, t in (("inbound", s.inbound), ("outbound", s.outbound))
    ]
    lines = bk.table(["", f"max ({unit})", f"mean ({unit})", "mean over the window"], rows)
    capacity = f" · port capacity {mbps(s.capacity_mbps)}" if s.capacity_mbps else ""
    window = f"{s.start or '?'} → {s.end or '?'}"
    blocks = [
        bk.header(bk.clip(f"Traffic of port {s.port}", bk.MAX_HEADER_TEXT)),
        *bk.code_sections(lines),
        bk.context(bk.escape(window) + capacity + _points(s.inbound)),
    ]
    text = bk.escape(
        f"port {s.port}: inbound max {_figure(s.inbound.max)}, outbound max {_figure(s.outbound.max)} {unit}"
    )
    return Reply(text=text, blocks=blocks)


def _points(t: Traffic) -> str:
    return f" · {counted(len(t.points), 'sample')}" if t.points else ""
