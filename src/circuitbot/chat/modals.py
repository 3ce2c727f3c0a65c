"""Modals generated from an operation's params model.

A mutating command given without all its parameters opens a modal with what is known filled
in. It opens at once (Slack's trigger_id lives 3 s), before the caller's roles are looked up
(they are checked after, and again on submission), and is updated when provider-dependent
choices arrive. Its ``private_metadata`` holds only ids; the command line it came from, of any
length, is kept in a ``FormState`` row for ``FORM_TTL``. A submission is validated by the same
model; bad values come back as inline field errors keyed by block id (= field name).
"""

from __future__ import annotations

import enum
import json
import logging
import secrets
import types
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from sqlalchemy import delete

from circuitbot.actions.registry import OpContext, Operation, Params
from circuitbot.chat import blocks as bk
from circuitbot.chat import grammar
from circuitbot.store.tables import FormState

log = logging.getLogger(__name__)

CALLBACK_ID = "circuit_op"
ACTION_ID = "value"
FORM_TTL = timedelta(days=1)  # a form left open longer is out of date: run the command again
RUN_AT = "run_at"  # the optional "run at" field of every mutating modal: the command line's at=


def _unwrap(annotation: Any) -> Any:
    """``X | None`` → ``X``."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _static_choices(annotation: Any) -> list[str] | None:
    annotation = _unwrap(annotation)
    if get_origin(annotation) is Literal:
        return [str(a) for a in get_args(annotation)]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [str(m.value) for m in annotation]
    return None


def _is_list(annotation: Any) -> bool:
    return get_origin(_unwrap(annotation)) in (list, tuple, set)


def _label(name: str, info: FieldInfo) -> str:
    return info.title or name.replace("_", " ").capitalize()


def input_block(
    name: str, info: FieldInfo, value: Any = None, options: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """One input block for a field; ``options`` turns it into a select."""
    annotation = info.annotation
    static = _static_choices(annotation)
    if options is None and static is not None:
        options = [(c, c) for c in static]
    element: dict[str, Any]
    if options:
        element = {
            "type": "static_select",
            "action_id": ACTION_ID,
            "options": [bk.option(label, val) for label, val in options[: bk.MAX_OPTIONS]],
        }
        chosen = next((o for o in options if value is not None and o[1] == str(value)), None)
        if chosen:
            element["initial_option"] = bk.option(*chosen)
    elif _unwrap(annotation) is int:
        element = {"type": "number_input", "action_id": ACTION_ID, "is_decimal_allowed": False}
        if value is not None:
            element["initial_value"] = str(value)
    else:
        element = {"type": "plain_text_input", "action_id": ACTION_ID}
        if _is_list(annotation):
            element["multiline"] = True
        secret = _unwrap(annotation) is SecretStr
        if value is not None and not secret:
            element["initial_value"] = ", ".join(value) if isinstance(value, list) else str(value)
    block: dict[str, Any] = {
        "type": "input",
        "block_id": name,
        "label": bk.plain(_label(name, info), 2000),
        "element": element,
        "optional": not info.is_required(),
    }
    hint = info.description
    if _unwrap(annotation) is SecretStr:
        hint = (hint + " — " if hint else "") + "kept encrypted, never shown again"
    if _is_list(annotation):
        hint = (hint + " — " if hint else "") + "one per line or comma-separated"
    if hint:
        block["hint"] = bk.plain(hint, 2000)
    return block


def run_at_block() -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": RUN_AT,
        "label": bk.plain("Run at", 2000),
        "element": {"type": "plain_text_input", "action_id": ACTION_ID},
        "optional": True,
        "hint": bk.plain(
            "empty: as soon as approved; or e.g. sat 02:00, 2026-12-12T02:00, sat 02:00 Europe/Paris", 2000
        ),
    }


def submitted_run_at(view: dict[str, Any]) -> str | None:
    """The "run at" field of a submitted mutating modal, if filled in."""
    state = (view.get("state") or {}).get("values") or {}
    value = ((state.get(RUN_AT) or {}).get(ACTION_ID) or {}).get("value")
    return value.strip() or None if isinstance(value, str) else None


def build_view(
    op: Operation,
    data: dict[str, Any],
    *,
    meta: dict[str, Any],
    choices: dict[str, list[tuple[str, str]]] | None = None,
    loading: bool = False,
) -> dict[str, Any]:
    title = f"{op.provider or 'circuit'} {op.verb}"
    blocks: list[dict[str, Any]] = [bk.section(f"*{op.summary}*")]
    if loading:
        blocks.append(bk.context(":hourglass_flowing_sand: loading choices from the provider…"))
    for name, info in op.params.visible_fields():
        blocks.append(input_block(name, info, data.get(name), (choices or {}).get(name)))
    if op.mutating:
        blocks.append(run_at_block())
        blocks.append(bk.context("Nothing changes until an approver approves the request."))
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        # Small and never cut: ids only. What is longer lives in a FormState row (``meta["form"]``).
        "private_metadata": json.dumps(meta, separators=(",", ":")),
        "title": bk.plain(bk.clip(title, 24), 24),
        "submit": bk.plain("Request" if op.mutating else "Run", 24),
        "close": bk.plain("Cancel", 24),
        "blocks": bk.fit(blocks, bk.MAX_MODAL_BLOCKS),
    }


@dataclass
class OpenForm:
    """A modal on screen: its view id and what it was built from."""

    view_id: str
    op: Operation
    data: dict[str, Any]
    meta: dict[str, Any]


async def open_for(ctx: OpContext, op: Operation, data: dict[str, Any]) -> OpenForm | None:
    """Open the modal at once with what is known (None: it could not be opened, and the user
    was told). Nothing waits before ``views.open``: Slack's trigger_id lives 3 s."""
    surface = ctx.surface
    if surface is None:
        return None
    form_id = secrets.token_hex(16)
    caller = ctx.caller
    meta = {"op": op.name, "channel": caller.channel_id, "thread_ts": caller.thread_ts, "form": form_id}
    view_id = await surface.open_modal(build_view(op, data, meta=meta, loading=op.choices is not None))
    if view_id is None:
        return None
    # Written after the form is open, to keep the database out of the trigger_id's 3 s.
    await _remember(ctx, form_id)
    return OpenForm(view_id=view_id, op=op, data=data, meta=meta)


async def fill_choices(ctx: OpContext, form: OpenForm) -> None:
    """Fill in provider-dependent choices, when the operation has some."""
    if form.op.choices is None or ctx.surface is None:
        return
    try:
        choices = await form.op.choices(ctx, form.data)
    except Exception as exc:  # the form still works with typed values
        log.warning("could not load choices for %s: %s", form.op.name, exc)
        choices = {}
    view = build_view(form.op, form.data, meta=form.meta, choices=choices)
    await ctx.surface.update_modal(form.view_id, view)


async def refuse(ctx: OpContext, form: OpenForm, message: str) -> None:
    """Turn an open form into a notice without a submit button (the caller may not use it)."""
    if ctx.surface is None:
        return
    view = {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": bk.plain(bk.clip(f"{form.op.provider or 'circuit'} {form.op.verb}", 24), 24),
        "close": bk.plain("Close", 24),
        "blocks": [bk.section(f":no_entry: {message}")],
    }
    try:
        await ctx.surface.update_modal(form.view_id, view)
    except Exception as exc:  # closed meanwhile; the caller is told in the conversation too
        log.info("could not update the form of %s: %s", form.op.name, type(exc).__name__)


async def _remember(ctx: OpContext, form_id: str) -> None:
    """Store the form's command line, and purge the expired forms (an indexed range delete)."""
    now = ctx.runtime.clock.now()
    async with ctx.runtime.db.session() as session:
        await session.execute(delete(FormState).where(FormState.expires_at < now))
        session.add(FormState(id=form_id, text=ctx.command_text, created_at=now, expires_at=now + FORM_TTL))


async def recalled_text(ctx: OpContext, meta: dict[str, Any]) -> str | None:
    """The command line a submitted form came from; None when its row is gone (expired)."""
    form_id = meta.get("form")
    if not isinstance(form_id, str):
        return None
    async with ctx.runtime.db.session() as session:
        row = await session.get(FormState, form_id)
        if row is None or row.expires_at < ctx.runtime.clock.now():
            return None
        return row.text


def metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The form's private_metadata; empty when it is not a JSON object (forged or garbled)."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except (TypeError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def submitted_values(op: Operation, view: dict[str, Any]) -> dict[str, Any]:
    """The raw values of a submitted view, by field name (empty inputs left out)."""
    state = (view.get("state") or {}).get("values") or {}
    data: dict[str, Any] = {}
    for name, info in op.params.visible_fields():
        element = (state.get(name) or {}).get(ACTION_ID) or {}
        if element.get("type") == "static_select":
            value = (element.get("selected_option") or {}).get("value")
        else:
            value = element.get("value")
        if value in (None, ""):
            continue
        if _is_list(info.annotation):
            value = [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]
        data[name] = value
    return data


def read_submission(op: Operation, view: dict[str, Any]) -> Params:
    return grammar.validate(op.params, submitted_values(op, view))


def field_errors(op: Operation, errors: dict[str, str]) -> dict[str, str]:
    """Errors keyed by block id; an error that names no field lands on the first input."""
    names = [name for name, _ in op.params.visible_fields()]
    out: dict[str, str] = {}
    for field, message in errors.items():
        block = field if field in names else (names[0] if names else field)
        out[block] = bk.clip(message, 150) if block not in out else out[block]
    return out
