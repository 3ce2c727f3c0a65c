"""Slack text as terminal text: styles, mrkdwn, emoji, mentions, widths and wrapping.

Colours (ANSI) only when the output is a terminal; piped output stays plain so transcripts
read well and diff cleanly. Widths are visible columns (escape codes take none, wide
characters two), so wrapping lines up whatever the styling.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

DEFAULT_WIDTH = 100

# A few common emoji, so status lines keep their meaning; any other :name: stays as it is.
EMOJI = {
    "warning": "⚠️",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "x": "❌",
    "no_entry": "⛔",
    "no_entry_sign": "🚫",
    "lock": "🔒",
    "unlock": "🔓",
    "key": "🔑",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "large_green_circle": "🟢",
    "large_yellow_circle": "🟡",
    "red_circle": "🔴",
    "white_circle": "⚪",
    "large_orange_circle": "🟠",
    "black_circle": "⚫",
    "large_blue_circle": "🔵",
    "eyes": "👀",
    "bell": "🔔",
    "no_bell": "🔕",
    "information_source": "ℹ️",
    "rotating_light": "🚨",
    "tada": "🎉",
    "construction": "🚧",
    "gear": "⚙️",
    "link": "🔗",
    "arrows_counterclockwise": "🔄",
    "arrow_right": "➡️",
    "thumbsup": "👍",
    "+1": "👍",
    "thumbsdown": "👎",
    "-1": "👎",
    "zap": "⚡",
    "mag": "🔍",
    "memo": "📝",
    "satellite": "📡",
    "satellite_antenna": "📡",
    "inbox_tray": "📥",
    "heavy_multiplication_x": "✖️",
    "double_vertical_bar": "⏸️",
    "checkered_flag": "🏁",
    "clock3": "🕒",
    "electric_plug": "🔌",
    "globe_with_meridians": "🌐",
    "clock1": "🕐",
    "stopwatch": "⏱️",
    "wastebasket": "🗑️",
    "question": "❓",
    "grey_question": "❔",
    "newspaper": "📰",
    "calendar": "📆",
    "exclamation": "❗",
}

_CODES = {
    "bold": "1",
    "dim": "2",
    "italic": "3",
    "underline": "4",
    "strike": "9",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
}
RESET = "\x1b[0m"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

_CODE_BLOCK = re.compile(r"```\n?(.*?)\n?```", re.DOTALL)
_TOKEN = re.compile(r"`([^`\n]+)`|<([^<>\n]+)>")
_MENTION = re.compile(r"<([#@])([A-Z0-9]+)(?:\|([^<>|]*))?>")
_PLACEHOLDER = re.compile(r"\x00(\d+)\x00")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
_EMOJI = re.compile(r":([a-z0-9_+\-']+):")


def visible_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: escape codes take none, wide characters two."""
    width = 0
    for char in ANSI.sub("", text):
        if unicodedata.combining(char) or char in "\ufe0f\u200d":
            continue
        width += 2 if unicodedata.east_asian_width(char) in "WF" else 1
    return width


def plain_text(text: str) -> str:
    """``text`` without escape codes."""
    return ANSI.sub("", text)


def emoji(name: str) -> str:
    return EMOJI.get(name, f":{name}:")


Names = Callable[[str], str | None]


class TextRenderer:
    """Styles and wraps Slack text (mrkdwn and text objects) for the terminal.

    ``names`` resolves Slack ids to display names (``UALICE`` → ``@alice``, ``CGENERAL`` →
    ``#general``) so mentions read as they do in Slack.
    """

    def __init__(self, *, width: int = DEFAULT_WIDTH, color: bool = False, names: Names | None = None):
        self.width = max(40, width)
        self.color = color
        self.names = names or (lambda _id: None)

    # -- styling ------------------------------------------------------------------------------

    def style(self, text: str, *styles: str) -> str:
        if not self.color or not text or not styles:
            return text
        opening = "\x1b[" + ";".join(_CODES[s] for s in styles) + "m"
        # keep the outer style on after a nested reset
        return opening + text.replace(RESET, RESET + opening) + RESET

    # -- mrkdwn -------------------------------------------------------------------------------

    def mrkdwn(self, text: str) -> str:
        """Slack mrkdwn as terminal text: code blocks kept verbatim and set off with a bar."""
        out: list[str] = []
        position = 0
        for match in _CODE_BLOCK.finditer(text):
            before = text[position : match.start()]
            if before.strip("\n"):
                out.append(self.inline(before.strip("\n")))
            out.append(self.code_block(_unescape(match.group(1))))
            position = match.end()
        rest = text[position:]
        if rest.strip("\n") or not out:
            out.append(self.inline(rest.strip("\n")))
        return "\n".join(out)

    def code_block(self, code: str) -> str:
        bar = self.style("│", "dim")
        return "\n".join(f"{bar} {line}" for line in code.split("\n"))

    def inline(self, text: str) -> str:
        """One run of mrkdwn without code blocks: `code`, <links>, *bold*, _italic_, ~strike~, :emoji:."""
        kept: list[str] = []

        def keep(match: re.Match[str]) -> str:
            if match.group(1) is not None:
                kept.append(self.style(_unescape(self._plain_mentions(match.group(1))), "cyan"))
            else:
                kept.append(self.reference(match.group(2)))
            return f"\x00{len(kept) - 1}\x00"

        text = _TOKEN.sub(keep, text)
        text = _BOLD.sub(lambda m: self.style(m.group(1), "bold"), text)
        text = _ITALIC.sub(lambda m: self.style(m.group(1), "italic"), text)
        text = _STRIKE.sub(lambda m: self.style(m.group(1), "strike"), text)
        text = _EMOJI.sub(lambda m: emoji(m.group(1)), text)
        text = _unescape(text)
        return _PLACEHOLDER.sub(lambda m: kept[int(m.group(1))], text)

    def _plain_mentions(self, code: str) -> str:
        """Escaped mentions echoed inside code (a command line in "working on `…`") read as typed."""

        def name(match: re.Match[str]) -> str:
            sigil, slack_id, label = match.groups()
            return f"{sigil}{label}" if label else self.names(slack_id) or f"{sigil}{slack_id}"

        return _MENTION.sub(name, code)

    def reference(self, inner: str) -> str:
        """``<…>``: a link, a channel or user mention, or a special mention."""
        target, _, label = inner.partition("|")
        target, label = _unescape(target), _unescape(label)
        if target.startswith("#"):
            return self.style((label and f"#{label}") or self.names(target[1:]) or target, "bold")
        if target.startswith("@"):
            return self.style(self.names(target[1:]) or (label and f"@{label}") or target, "bold")
        if target.startswith("!subteam^"):
            return self.style(label or "@" + target.removeprefix("!subteam^"), "bold")
        if target.startswith("!date^"):
            return label or target
        if target.startswith("!"):
            return self.style("@" + target[1:], "bold")
        if target.startswith("mailto:"):
            target = target.removeprefix("mailto:")
        elif "://" not in target:  # not a link Slack would make: text such as <key> in a usage line
            return f"<{inner}>"
        if label and label != target:
            return f"{self.style(label, 'underline')} ({self.style(target, 'blue')})"
        return self.style(target, "underline", "blue")

    def text_object(self, obj: dict[str, Any] | None) -> str:
        if not obj:
            return ""
        text = str(obj.get("text", ""))
        if obj.get("type") == "mrkdwn":
            return self.mrkdwn(text)
        return _EMOJI.sub(lambda m: emoji(m.group(1)), text)

    # -- wrapping ----------------------------------------------------------------------------

    def wrap(self, text: str, width: int | None = None) -> list[str]:
        """Word-wrap by visible width; code lines (behind a bar) are never wrapped."""
        width = width or self.width
        lines: list[str] = []
        for line in text.split("\n"):
            if visible_width(line) <= width or plain_text(line).startswith("│"):
                lines.append(line)
                continue
            lines.extend(_wrap_line(line, width))
        return lines


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _wrap_line(line: str, width: int) -> list[str]:
    """Greedy word wrap; bullets and indentation hang so continuation lines line up."""
    stripped = line.lstrip(" ")
    indent = len(line) - len(stripped)
    hang = indent + (2 if plain_text(stripped)[:2] in ("• ", "- ", "▸ ") else 0)
    out: list[str] = []
    current = " " * indent
    current_width = indent
    for word in stripped.split(" "):
        word_width = visible_width(word)
        if current_width > hang and current_width + 1 + word_width > width:
            out.append(current.rstrip())
            current, current_width = " " * hang + word, hang + word_width
        elif current.strip():
            current += " " + word
            current_width += 1 + word_width
        else:
            current += word
            current_width += word_width
    out.append(current.rstrip())
    return out
