"""The end-to-end card of one circuit: every leg, what disagrees, what could not be asked.

Everything a provider sent (names, states, ports) and the key as typed is escaped: a provider's
value or a user's text must never mention a channel or write a link.
"""

from __future__ import annotations

from typing import Any

from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply
from circuitbot.endtoend.consistency import findings
from circuitbot.endtoend.finding import CircuitLegs
from circuitbot.providers.legs import Leg, Standing

_ICONS = {
    Standing.LIVE: ":large_green_circle:",
    Standing.PENDING: ":large_yellow_circle:",
    Standing.NOT_PROVISIONED: ":white_circle:",
    Standing.ENDING: ":large_orange_circle:",
    Standing.GONE: ":black_circle:",
    Standing.FAILED: ":red_circle:",
}


def _mbps(value: int | None) -> str:
    return f"{value:,} Mbps" if value is not None else "—"


def leg_title(found: CircuitLegs, leg: Leg) -> str:
    side = f" {leg.side}" if leg.side else ""
    return f"{_ICONS[leg.standing]} *{bk.escape(found.label(leg.provider))}{side}* · {bk.escape(leg.name)}"


def _states(leg: Leg) -> str:
    return "\n".join(f"{bk.escape(k)}: *{bk.escape(v)}*" for k, v in leg.states.items()) or "—"


def leg_blocks(found: CircuitLegs, leg: Leg) -> list[dict[str, Any]]:
    pairs: list[tuple[str, Any]] = [
        ("states", _states(leg)),
        ("bandwidth", _mbps(leg.bandwidth_mbps)),
        ("location", bk.escape(leg.location or "—")),
        *((bk.escape(name), bk.escape(value)) for name, value in leg.facts),
    ]
    if leg.parts:
        pairs.append(("peerings", "\n".join(f"{bk.escape(p)}: {bk.escape(s)}" for p, s in leg.parts)))
    title = f"{leg_title(found, leg)}\n{bk.code(leg.resource_id)}"
    return [bk.section(title), *bk.fields(pairs[: bk.MAX_FIELDS * 2])]


def _missing_lines(found: CircuitLegs) -> list[str]:
    lines = [
        f":grey_question: *{bk.escape(found.label(name))}*: no resource carries this key"
        for name in found.asked
        if not found.at(name)
    ]
    lines += [
        f":warning: *{bk.escape(found.label(u.provider))}* unreachable ({bk.escape(u.why)}): legs not shown"
        for u in found.unreachable
    ]
    return lines


def circuit_card(found: CircuitLegs) -> Reply:
    key = bk.code(found.service_key)
    if not found.found:
        return _nowhere(found)
    problems = findings(found)
    blocks: list[dict[str, Any]] = [bk.header(bk.clip(f"Circuit {found.service_key}", bk.MAX_HEADER_TEXT))]
    if problems:
        blocks.append(
            bk.section("*Needs attention*\n" + "\n".join(f":warning: {bk.escape(p)}" for p in problems))
        )
    for leg in found.legs:
        blocks.extend(leg_blocks(found, leg))
    missing = _missing_lines(found)
    if missing:
        blocks.append(bk.section("\n".join(missing)))
    blocks.append(bk.context(f"{key} · `watch key {bk.escape_code(found.service_key)}` follows every leg"))
    summary = ", ".join(f"{found.label(leg.provider)} {leg.status}" for leg in found.legs)
    text = f"Circuit {key}: {bk.escape(summary)}" + (f" · {len(problems)} to look at" if problems else "")
    return Reply(text=text, blocks=bk.fit(blocks))


def _nowhere(found: CircuitLegs) -> Reply:
    key = bk.code(found.service_key)
    if not found.unreachable and not found.asked:
        text = (
            "No provider that can be searched by service key (Azure, Equinix, Console Connect) is configured."
        )
    elif found.unreachable and not found.asked:
        text = f"I could not ask any provider about {key}."
    elif found.unreachable:
        text = f"No provider I could reach has {key}."
    else:
        asked = ", ".join(found.label(name) for name in found.asked) or "no provider"
        text = f"No circuit has the service key {key} at {bk.escape(asked)}: check the key."
    lines = [text, *(line for line in _missing_lines(found) if line.startswith(":warning:"))]
    return Reply(text=text, blocks=bk.sections(lines))
