"""Render helpers every provider's Block Kit replies use.

Values from a provider go into mrkdwn escaped: free-text fields such as notes were typed by
people, so no value may ping, link or end its inline code span. An absent value (None or "")
shows as ``NONE``, one dash everywhere, so "not set" reads the same in every provider's replies.
A paged listing ends with the pager of ``chat.blocks``, whose buttons re-run the command for
another page.
"""

from __future__ import annotations

from typing import Any

from circuitbot.chat import blocks as bk

NONE = "—"


def escaped(value: Any) -> str:
    """``value`` as mrkdwn text, or ``NONE`` when absent; a typed backtick opens no code span."""
    return bk.escape_code(str(value)) if value not in (None, "") else NONE


def code(value: Any) -> str:
    """``value`` as an inline code span (ids, ports, prefixes), or ``NONE`` when absent."""
    return bk.code(str(value)) if value not in (None, "") else NONE


def number(value: int | None) -> str:
    """A count with thousands separators, or ``NONE`` when absent."""
    return NONE if value is None else f"{value:,}"


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``1 peering``, ``3 peerings``; ``plural`` for nouns that do not just take an s."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def paged(blocks: list[dict[str, Any]], command_text: str, page: int, pages: int) -> list[dict[str, Any]]:
    """A listing's blocks followed by the pager foot (nothing more when there is one page)."""
    return [*blocks, *bk.pager(command_text, page, pages)]
