"""Modals at the prompt: each form the bot opens is answered field by field (or with
``key=value`` on one line) and submitted through the router, shaped as Slack submits a view."""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from circuitbot.chat import modals
from circuitbot.chat.router import Router
from circuitbot.shell.render import FormField, Renderer
from circuitbot.shell.terminal import MASK, Output, ScriptInput, TerminalInput

if TYPE_CHECKING:
    from circuitbot.shell.messages import ShellSurface

# One shell word: bare characters, backslash escapes and quoted stretches, as shlex reads them.
_WORD = re.compile(r"""(?:\\.|[^\s"'\\]+|"(?:\\.|[^"\\])*"|'[^']*')+""")
_OPTION = re.compile(r"([A-Za-z][\w-]*)=")
_CURLY = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})  # as the grammar reads them


class Cancelled(Exception):
    """The person closed a form or a confirmation."""


@dataclass
class PendingForm:
    view_id: str
    view: dict[str, Any]
    surface: ShellSurface


class FormFiller:
    """The forms the bot has opened and not yet had answered, in the order they were opened."""

    def __init__(
        self, router: Router, renderer: Renderer, out: Output, input: ScriptInput | TerminalInput
    ) -> None:
        self.router = router
        self.renderer = renderer
        self.out = out
        self.input = input
        self.pending: list[PendingForm] = []

    def open(self, view: dict[str, Any], surface: ShellSurface) -> str:
        """Queue a modal to be answered once the current line is done; its view id."""
        view_id = f"V{secrets.token_hex(4).upper()}"
        self.pending.append(PendingForm(view_id, view, surface))
        return view_id

    def update(self, view_id: str, view: dict[str, Any]) -> None:
        for form in self.pending:
            if form.view_id == view_id:
                form.view = view
                return

    async def answer_forms(self) -> None:
        while self.pending:
            form = self.pending.pop(0)
            try:
                await self.fill(form)
            except Cancelled:
                self.out.note("form closed; nothing was submitted")

    async def fill(self, form: PendingForm) -> None:
        rendered = self.renderer.modal(form.view)
        for line in rendered.lines:
            self.out.write(line)
        fields = rendered.fields
        secret = self._secret_fields(form.view)
        answers: dict[str, str | None] = {f.block_id: f.initial for f in fields}
        if fields:
            self.out.note(
                "answer field by field (empty keeps the value shown, - clears it), or key=value … on one line"
            )
        else:
            answer = await self.input.read("  submit (y/n)> ")
            if answer is None or answer.strip().lower() not in ("y", "yes"):
                raise Cancelled
        # "Run at" is not asked field by field (scripts answer a form's own fields line by line):
        # it is set with run_at=… on a key=value line.
        to_ask = [f for f in fields if f.block_id != modals.RUN_AT]
        while True:
            for form_field in to_ask:
                given = await self.ask(form_field, answers, fields, secret=form_field.block_id in secret)
                if isinstance(given, dict):
                    answers.update(given)
                    break
                answers[form_field.block_id] = given
            errors = await self.submit(form, fields, answers)
            if not errors:
                return
            by_id = {f.block_id: f for f in fields}
            for block_id, message in errors.items():
                label = by_id[block_id].label if block_id in by_id else block_id
                self.out.warn(f"{label}: {message}")
            to_ask = [f for f in fields if f.block_id in errors] or fields

    async def ask(
        self,
        form_field: FormField,
        answers: dict[str, str | None],
        fields: list[FormField],
        *,
        secret: bool = False,
    ) -> str | dict[str, str | None] | None:
        """One field's answer; a whole line of key=value answers comes back as a dict."""
        while True:
            current = answers.get(form_field.block_id)
            shown = self._shown(form_field, current, secret=secret)
            optional = " (optional)" if form_field.optional else ""
            if form_field.options:
                choices = "  ".join(f"{n} {label}" for n, (label, _) in enumerate(form_field.options, 1))
                self.out.write(self.renderer.style(f"    choices: {choices}", "dim"))
            prompt = f"  {form_field.label}{optional}{f' [{shown}]' if shown else ''}: "
            line = await self.input.read(prompt, secret=secret)
            if line is None or line.strip().lower() == ":cancel":
                raise Cancelled
            text = line.strip()
            pairs = self._key_values(text, fields)
            if pairs is not None:
                return pairs
            if text == "":
                return current
            if text == "-":
                return None
            if form_field.options:
                value = _choose(form_field, text)
                if value is None:
                    self.out.warn(
                        f"{form_field.label}: pick a number from 1 to {len(form_field.options)}, or a value"
                    )
                    continue
                return value
            return line.rstrip() if form_field.multiline else text

    def _key_values(self, text: str, fields: list[FormField]) -> dict[str, str | None] | None:
        """``vlan=100 kind=private`` answers several fields at once (or None if the line is not that)."""
        if "=" not in text:
            return None
        try:
            tokens = shlex.split(text)
        except ValueError:
            return None
        by_key = {f.block_id.replace("-", "_").lower(): f for f in fields}
        pairs: dict[str, str | None] = {}
        for token in tokens:
            key, sep, value = token.partition("=")
            form_field = by_key.get(key.replace("-", "_").lower())
            if not sep or form_field is None:
                return None
            if form_field.options and value:
                chosen = _choose(form_field, value)
                value = chosen if chosen is not None else value
            pairs[form_field.block_id] = value or None
        return pairs

    async def submit(
        self, form: PendingForm, fields: list[FormField], answers: dict[str, str | None]
    ) -> dict[str, str] | None:
        """Submit the view as Slack would (state.values), through the router; the inline errors, if any."""
        values: dict[str, dict[str, Any]] = {}
        for form_field in fields:
            values[form_field.block_id] = {
                form_field.action_id: _state(form_field, answers.get(form_field.block_id))
            }
        view = {**form.view, "id": form.view_id, "state": {"values": values}}
        acked: list[dict[str, str] | None] = []

        async def ack_errors(errors: dict[str, str] | None) -> None:
            acked.append(errors)

        await self.router.handle_view(
            view, user_id=form.surface.user_id, surface=form.surface.detached(), ack_errors=ack_errors
        )
        return acked[0] if acked else None

    def _secret_fields(self, view: dict[str, Any]) -> set[str]:
        """Fields typed SecretStr in the operation behind a generated modal: masked, never echoed."""
        if view.get("callback_id") != modals.CALLBACK_ID:
            return set()
        op = self.router.registry.by_name(modals.metadata(view).get("op", ""))
        if op is None:
            return set()
        return set(op.params.secret_names())

    def _shown(self, form_field: FormField, value: str | None, *, secret: bool) -> str:
        if value is None:
            return ""
        if secret:
            return MASK
        for label, option_value in form_field.options:
            if option_value == value:
                return label
        return value


def _choose(form_field: FormField, text: str) -> str | None:
    """An option's value from its number, its value or its label."""
    text = text.strip()
    if text.isdigit() and 1 <= int(text) <= len(form_field.options):
        return form_field.options[int(text) - 1][1]
    for label, value in form_field.options:
        if text == value or text.lower() in (value.lower(), label.lower()):
            return value
    return None


def _state(form_field: FormField, value: str | None) -> dict[str, Any]:
    """One input's entry in a submitted view's state.values, shaped as Slack sends it."""
    kind = form_field.element_type
    if kind in ("static_select", "radio_buttons"):
        label = next((lab for lab, val in form_field.options if val == value), value)
        selected = None if value is None else {"text": {"type": "plain_text", "text": label}, "value": value}
        return {"type": kind, "selected_option": selected}
    if kind == "datepicker":
        return {"type": kind, "selected_date": value}
    if kind == "timepicker":
        return {"type": kind, "selected_time": value}
    return {"type": kind, "value": value}


def mask_secret_options(text: str, names: Iterable[str]) -> str:
    """``text`` with the value of every ``name=value`` word that sets a secret field masked
    (``shared-key=…`` and ``shared_key=…`` alike, a quoted value whole), for a line that is kept
    or shown again: the log, the history, a script's echo. Other words are left as typed."""
    secret = {_option_key(name) for name in names}
    if not secret or "=" not in text:
        return text
    straight = text.translate(_CURLY)
    try:
        shlex.split(straight)
    except ValueError:  # an unclosed quote: nothing after the first secret option is kept
        for match in _OPTION.finditer(straight):
            if _option_key(match.group(1)) in secret:
                return f"{straight[: match.start()]}{match.group(1)}={MASK}"
        return text
    parts: list[str] = []
    kept = 0
    for match in _WORD.finditer(straight):
        key, sep, _ = (shlex.split(match.group(0)) or [""])[0].partition("=")
        if sep and _option_key(key) in secret:
            parts.append(f"{straight[kept : match.start()]}{key}={MASK}")
            kept = match.end()
    return "".join(parts) + straight[kept:] if parts else text


def _option_key(name: str) -> str:
    return name.replace("-", "_").lower()
