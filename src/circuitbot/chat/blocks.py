"""Block Kit builders that stay inside Slack's limits.

Limits (Slack's Block Kit reference and slack_sdk's models): 50 blocks a message, 3000
characters a section text, 10 fields of 2000 characters a section, 150 characters a header,
75 characters of button text, 2000 characters of button value, 25 elements an actions block.
Builders truncate rather than fail: a message that Slack rejects loses everything, a cut
message loses only its tail, and it says so.

Text that came from people (command words, notes, reasons, a provider's free-text fields) goes
into mrkdwn only through ``escape`` (``&``, ``<``, ``>``: no ``<!channel>``, mention or link of
theirs ever works), or inside code through ``escape_code``/``code``, which also turn backticks
into a look-alike so typed text cannot end the code block or span. ``code_sections`` escapes
its lines itself: callers hand it raw text. Mentions and links the bot builds itself
(``<@U…>`` of the actor, ``<#C…>``) are written around the escaped text, never through it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

MAX_BLOCKS = 50
MAX_MODAL_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150

Block = dict[str, Any]
BACKTICK_LOOKALIKE = "ˋ"  # U+02CB: reads as a backtick, ends no code block


def clip(text: str, limit: int, marker: str = "…") -> str:
    """Cut ``text`` to at most ``limit`` characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - len(marker)] + marker


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_code(text: str) -> str:
    """``text`` for inside a code block or an inline code span: escaped, and with no backtick
    left to close it."""
    return escape(text).replace("`", BACKTICK_LOOKALIKE)


def code(text: str) -> str:
    """``text`` as an inline code span."""
    return f"`{escape_code(text)}`"


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def plain(text: str, limit: int = MAX_SECTION_TEXT) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, MAX_HEADER_TEXT)}


def section(text: str, *, fields: Sequence[str] = (), accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(clip(text, MAX_SECTION_TEXT))}
    if fields:
        block["fields"] = [mrkdwn(clip(f, MAX_FIELD_TEXT)) for f in fields[:MAX_FIELDS]]
    if accessory:
        block["accessory"] = accessory
    return block


def fields(pairs: Iterable[tuple[str, Any]]) -> list[Block]:
    """Label/value pairs as sections of at most ten fields each."""
    items = [f"*{label}*\n{value if value not in (None, '') else '—'}" for label, value in pairs]
    return [
        {"type": "section", "fields": [mrkdwn(clip(i, MAX_FIELD_TEXT)) for i in items[n : n + MAX_FIELDS]]}
        for n in range(0, len(items), MAX_FIELDS)
    ]


def context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [mrkdwn(clip(t, MAX_SECTION_TEXT)) for t in texts[:MAX_CONTEXT_ELEMENTS]],
    }


def divider() -> Block:
    return {"type": "divider"}


def button(
    text: str,
    action_id: str,
    value: str | dict[str, Any] = "",
    *,
    style: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> Block:
    raw = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if len(raw) > MAX_BUTTON_VALUE:
        raise ValueError(f"button value of {len(raw)} characters is over Slack's {MAX_BUTTON_VALUE}")
    element: Block = {
        "type": "button",
        "text": plain(text, MAX_BUTTON_TEXT),
        "action_id": action_id,
        "value": raw,
    }
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def confirm_dialog(title: str, text: str, yes: str = "Yes", no: str = "Cancel") -> dict[str, Any]:
    return {
        "title": plain(title, 100),
        "text": plain(text, 300),
        "confirm": plain(yes, 30),
        "deny": plain(no, 30),
    }


def actions(*elements: Block, block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements[:MAX_ACTION_ELEMENTS])}
    if block_id:
        block["block_id"] = block_id
    return block


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, MAX_OPTION_TEXT), "value": clip(value, MAX_OPTION_VALUE, "")}


def sections(lines: Sequence[str], *, code: bool = False, limit: int = MAX_SECTION_TEXT) -> list[Block]:
    """Lines packed into as few sections as fit ``limit`` characters each, never split mid-line;
    ``code`` sets raw text in monospace (escaped here)."""
    fence = "```" if code else ""
    chunks: list[list[str]] = [[]]
    size = 0
    budget = limit - 2 * len(fence) - 2
    for line in lines:
        line = clip(escape_code(line) if code else line, budget)
        if chunks[-1] and size + len(line) + 1 > budget:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line) + 1
    return [section(fence + "\n".join(chunk) + fence) for chunk in chunks if chunk]


def code_sections(lines: Sequence[str], *, limit: int = MAX_SECTION_TEXT) -> list[Block]:
    """Monospaced text split into as many sections as it needs, never mid-line."""
    return sections(lines, code=True, limit=limit)


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A plain-text table, columns padded to their widest cell: raw text, aligned as read, for
    ``code_sections`` (which escapes it) or after ``escape``."""
    cells = [[str(c) for c in columns]] + [["—" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in cells]
    lines.insert(1, "  ".join("─" * w for w in widths))
    return lines


def bar(used: float, total: float, width: int = 10) -> str:
    """A usage bar such as ``███████░░░ 70%``."""
    if total <= 0:
        return "░" * width + " n/a"
    share = max(0.0, min(1.0, used / total))
    filled = round(share * width)
    return "█" * filled + "░" * (width - filled) + f" {share:.0%}"


def fit(blocks: list[Block], limit: int = MAX_BLOCKS, *, what: str = "blocks") -> list[Block]:
    """Keep at most ``limit`` blocks; the last one says how many were left out."""
    if len(blocks) <= limit:
        return blocks
    kept = blocks[: limit - 1]
    return [*kept, context(f"… {len(blocks) - len(kept)} more {what} not shown")]


def page_buttons(command_text: str, page: int, pages: int) -> Block | None:
    """◂ Previous / Next ▸ buttons that re-run ``command_text`` at another page (router.PAGE_ACTION)."""
    if pages <= 1:
        return None
    elements = []
    if page > 1:
        elements.append(button("◂ Previous", "circuit_page:prev", {"text": command_text, "page": page - 1}))
    if page < pages:
        elements.append(button("Next ▸", "circuit_page:next", {"text": command_text, "page": page + 1}))
    return actions(*elements) if elements else None


def pager(command_text: str, page: int, pages: int) -> list[Block]:
    """The foot of a paged listing: "page x of y" and the page buttons (nothing for one page)."""
    buttons = page_buttons(command_text, page, pages)
    if buttons is None:
        return []
    return [context(f"page {page} of {pages}"), buttons]


def paginate(items: Sequence[Any], page: int, per_page: int) -> tuple[list[Any], int, int]:
    """The items of one page, the page actually shown (clamped) and the number of pages."""
    pages = max(1, -(-len(items) // per_page))
    page = max(1, min(page, pages))
    start = (page - 1) * per_page
    return list(items[start : start + per_page]), page, pages
