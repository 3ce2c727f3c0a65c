"""Block Kit as readable terminal text.

The shell shows what Slack would show: headers, sections (mrkdwn turned into plain text), fields
in two columns, dimmed context lines, dividers, buttons and select options numbered so they
can be pressed from the keyboard, and the input blocks of modals. The text inside the blocks
is styled and wrapped by ``text``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any

from circuitbot.shell.text import TextRenderer, emoji, plain_text, visible_width


@dataclass(frozen=True)
class Control:
    """Something in a message that can be pressed: a button, or one option of a select."""

    number: int
    label: str
    action_id: str
    value: str
    kind: str = "button"  # "button" | "option"
    block_id: str | None = None
    confirm: dict[str, Any] | None = None
    url: str | None = None
    style: str | None = None


@dataclass(frozen=True)
class FormField:
    """One input block of a modal, as the shell asks for it."""

    block_id: str
    action_id: str
    label: str
    element_type: str
    optional: bool
    initial: str | None = None  # the value; for a select, the option's value
    initial_label: str | None = None  # what to show for it
    hint: str | None = None
    options: tuple[tuple[str, str], ...] = ()  # (label, value)
    multiline: bool = False


@dataclass
class Rendered:
    lines: list[str] = field(default_factory=list)
    controls: list[Control] = field(default_factory=list)
    fields: list[FormField] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


class Renderer(TextRenderer):
    """Turns Block Kit (messages and modals) into lines of text."""

    # -- messages -----------------------------------------------------------------------------

    def message(self, text: str, blocks: Iterable[dict[str, Any]] | None = None) -> Rendered:
        """A message: its blocks, or its text when it has none."""
        blocks = list(blocks or [])
        if not blocks:
            return Rendered(lines=self.wrap(self.mrkdwn(text)))
        return self.blocks(blocks)

    def blocks(self, blocks: Iterable[dict[str, Any]]) -> Rendered:
        out = Rendered()
        for block in blocks:
            handler = getattr(self, "_block_" + str(block.get("type", "")), None)
            if handler is None:
                out.lines.append(self.style(f"[{block.get('type', 'unknown')} block]", "dim"))
                continue
            handler(block, out)
        return out

    def _block_header(self, block: dict[str, Any], out: Rendered) -> None:
        text = self.text_object(block.get("text"))
        if self.color:
            out.lines.extend(self.style(line, "bold", "underline") for line in self.wrap(text))
        else:
            lines = self.wrap(text)
            out.lines.extend(lines)
            out.lines.append("═" * min(self.width, max(visible_width(line) for line in lines)))

    def _block_section(self, block: dict[str, Any], out: Rendered) -> None:
        if block.get("text"):
            out.lines.extend(self.wrap(self.text_object(block["text"])))
        if block.get("fields"):
            out.lines.extend(self.columns([self.text_object(f) for f in block["fields"]]))
        accessory = block.get("accessory")
        if accessory:
            self._elements([accessory], block.get("block_id"), out)

    def columns(self, cells: list[str]) -> list[str]:
        """Fields two to a row, each column wrapped to half the width."""
        gap = 4
        column = (self.width - gap) // 2
        lines: list[str] = []
        for left, right in zip_longest(cells[0::2], cells[1::2], fillvalue=""):
            left_lines, right_lines = self.wrap(left, column), self.wrap(right, column)
            for a, b in zip_longest(left_lines, right_lines, fillvalue=""):
                pad = " " * (column - visible_width(a) + gap) if b else ""
                lines.append((a + pad + b).rstrip())
        return lines

    def _block_context(self, block: dict[str, Any], out: Rendered) -> None:
        parts = []
        for element in block.get("elements", []):
            if element.get("type") == "image":
                parts.append(f"[{element.get('alt_text') or 'image'}]")
            else:
                parts.append(self.text_object(element))
        for line in self.wrap("  ".join(p for p in parts if p)):
            out.lines.append(self.style(line, "dim"))

    def _block_divider(self, block: dict[str, Any], out: Rendered) -> None:
        out.lines.append(self.style("─" * min(self.width, 60), "dim"))

    def _block_actions(self, block: dict[str, Any], out: Rendered) -> None:
        self._elements(block.get("elements", []), block.get("block_id"), out)

    def _block_image(self, block: dict[str, Any], out: Rendered) -> None:
        title = self.text_object(block.get("title")) or block.get("alt_text") or "image"
        out.lines.append(self.style(f"[image: {title}] {block.get('image_url', '')}".rstrip(), "dim"))

    def _block_input(self, block: dict[str, Any], out: Rendered) -> None:
        form_field = self.form_field(block)
        if form_field is None:
            out.lines.append(self.style("[input the shell cannot fill in]", "dim"))
            return
        out.fields.append(form_field)
        need = "optional" if form_field.optional else "required"
        line = f"▸ {self.style(form_field.label, 'bold')} ({need})"
        if form_field.initial_label:
            line += f": {form_field.initial_label}"
        out.lines.extend(self.wrap(line))
        if form_field.options:
            choices = "  ".join(f"{n} {label}" for n, (label, _) in enumerate(form_field.options, 1))
            out.lines.extend("    " + line for line in self.wrap("one of: " + choices, self.width - 4))
        if form_field.hint:
            out.lines.extend(self.style("    " + line, "dim") for line in self.wrap(form_field.hint))

    def form_field(self, block: dict[str, Any]) -> FormField | None:
        element = block.get("element") or {}
        kind = str(element.get("type", ""))
        options = tuple((self.text_object(o.get("text")), str(o.get("value", ""))) for o in _options(element))
        initial = element.get("initial_value") or element.get("initial_date") or element.get("initial_time")
        initial_label = initial
        if element.get("initial_option"):
            initial = element["initial_option"].get("value")
            initial_label = self.text_object(element["initial_option"].get("text"))
        if kind not in {
            "plain_text_input",
            "number_input",
            "static_select",
            "radio_buttons",
            "email_text_input",
            "url_text_input",
            "datepicker",
            "timepicker",
        }:
            return None
        return FormField(
            block_id=str(block.get("block_id", "")),
            action_id=str(element.get("action_id", "")),
            label=self.text_object(block.get("label")) or str(block.get("block_id", "")),
            element_type=kind,
            optional=bool(block.get("optional", False)),
            initial=None if initial in (None, "") else str(initial),
            initial_label=None if initial_label in (None, "") else str(initial_label),
            hint=self.text_object(block.get("hint")) or None,
            options=options,
            multiline=bool(element.get("multiline")),
        )

    def _block_rich_text(self, block: dict[str, Any], out: Rendered) -> None:
        for element in block.get("elements", []):
            kind = element.get("type")
            if kind == "rich_text_preformatted":
                out.lines.append(self.code_block(self._rich_inline(element.get("elements", []), raw=True)))
            elif kind == "rich_text_list":
                bullet_for = "{}." if element.get("style") == "ordered" else "•"
                for n, item in enumerate(element.get("elements", []), 1):
                    text = self._rich_inline(item.get("elements", []))
                    out.lines.extend(self.wrap(f"{bullet_for.format(n)} {text}"))
            elif kind == "rich_text_quote":
                text = self._rich_inline(element.get("elements", []))
                out.lines.extend(self.style("▌ ", "dim") + line for line in self.wrap(text))
            else:
                out.lines.extend(self.wrap(self._rich_inline(element.get("elements", []))))

    def _rich_inline(self, elements: list[dict[str, Any]], *, raw: bool = False) -> str:
        parts = []
        for element in elements:
            kind = element.get("type")
            if kind == "text":
                text = str(element.get("text", ""))
                if not raw:
                    marks = [s for s in ("bold", "italic", "strike") if (element.get("style") or {}).get(s)]
                    if (element.get("style") or {}).get("code"):
                        marks.append("cyan")
                    text = self.style(text, *marks)
                parts.append(text)
            elif kind == "link":
                parts.append(self.reference(f"{element.get('url', '')}|{element.get('text', '')}"))
            elif kind == "user":
                parts.append(self.reference(f"@{element.get('user_id', '')}"))
            elif kind == "channel":
                parts.append(self.reference(f"#{element.get('channel_id', '')}"))
            elif kind == "emoji":
                parts.append(emoji(str(element.get("name", ""))))
        return "".join(parts)

    # -- interactive elements -----------------------------------------------------------------

    def _elements(self, elements: list[dict[str, Any]], block_id: str | None, out: Rendered) -> None:
        tokens: list[str] = []
        for element in elements:
            kind = element.get("type")
            if kind == "button":
                control = self._control(out, element, block_id, self.text_object(element.get("text")))
                tokens.append(self._button_token(control))
            elif _options(element):
                label = self.text_object(element.get("placeholder")) or "choose"
                if tokens:
                    out.lines.extend(self._token_lines(tokens))
                    tokens = []
                head = f"{label} ▾" if kind in ("static_select", "overflow") else label
                option_tokens = [head]
                for opt in _options(element):
                    control = self._control(
                        out,
                        element,
                        block_id,
                        self.text_object(opt.get("text")),
                        value=str(opt.get("value", "")),
                        kind="option",
                        url=opt.get("url"),
                    )
                    option_tokens.append(self._button_token(control))
                out.lines.extend(self._token_lines(option_tokens))
            else:
                placeholder = self.text_object(element.get("placeholder"))
                what = f"{kind}: {placeholder}" if placeholder else str(kind)
                tokens.append(self.style(f"[{what} — not available in the shell]", "dim"))
        if tokens:
            out.lines.extend(self._token_lines(tokens))

    def _control(
        self,
        out: Rendered,
        element: dict[str, Any],
        block_id: str | None,
        label: str,
        *,
        value: str | None = None,
        kind: str = "button",
        url: str | None = None,
    ) -> Control:
        control = Control(
            number=len(out.controls) + 1,
            label=plain_text(label),
            action_id=str(element.get("action_id", "")),
            value=str(element.get("value", "")) if value is None else value,
            kind=kind,
            block_id=block_id,
            confirm=element.get("confirm"),
            url=url or element.get("url"),
            style=element.get("style"),
        )
        out.controls.append(control)
        return control

    def _button_token(self, control: Control) -> str:
        text = f"[{control.number} {control.label}{' ↗' if control.url else ''}]"
        colour = {"primary": "green", "danger": "red"}.get(control.style or "", "")
        return self.style(text, "bold", colour) if colour else self.style(text, "bold")

    def _token_lines(self, tokens: list[str]) -> list[str]:
        lines: list[str] = []
        current = ""
        for token in tokens:
            if current and visible_width(current) + 1 + visible_width(token) > self.width:
                lines.append(current)
                current = token
            else:
                current = f"{current} {token}" if current else token
        if current:
            lines.append(current)
        return lines

    # -- modals -------------------------------------------------------------------------------

    def modal(self, view: dict[str, Any]) -> Rendered:
        """A modal: its title, its blocks (inputs listed as fields to fill in) and its buttons."""
        title = self.text_object(view.get("title")) or "form"
        body = self.blocks(view.get("blocks", []))
        bar = "─" * max(0, min(self.width, 60) - visible_width(title) - 4)
        lines = [self.style(f"┌─ {title} {bar}", "bold")]
        lines.extend(f"│ {line}" for line in body.lines)
        submit = self.text_object(view.get("submit")) or "Submit"
        close = self.text_object(view.get("close")) or "Cancel"
        lines.append(self.style(f"└─ {submit} / {close}", "bold"))
        return Rendered(lines=lines, controls=body.controls, fields=body.fields)


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options
