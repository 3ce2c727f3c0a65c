"""Modals generated from an operation's params model.

A mutating command given without all its parameters opens a modal with what is known filled
in. It opens at once (Slack's trigger_id lives 3 s) and is updated when provider-dependent
choices arrive. A submission is validated by the same model; bad values come back as inline
field errors keyed by block id (= field name).
"""

from __future__ import annotations

import enum
import json
import logging
import types
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import SecretStr
from pydantic.fields import FieldInfo

from circuitbot.actions.registry import OpContext, Operation, Params
from circuitbot.chat import blocks as bk
from circuitbot.chat import grammar

log = logging.getLogger(__name__)

CALLBACK_ID = "circuit_op"
ACTION_ID = "value"


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
        blocks.append(bk.context("Nothing changes until an approver approves the request."))
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "private_metadata": json.dumps(meta, separators=(",", ":"))[:3000],
        "title": bk.plain(bk.clip(title, 24), 24),
        "submit": bk.plain("Request" if op.mutating else "Run", 24),
        "close": bk.plain("Cancel", 24),
        "blocks": bk.fit(blocks, bk.MAX_MODAL_BLOCKS),
    }


async def open_for(ctx: OpContext, op: Operation, data: dict[str, Any]) -> None:
    """Open the modal now, then fill in provider-dependent choices when they arrive."""
    surface = ctx.surface
    if surface is None:
        return
    meta = {
        "op": op.name,
        "channel": ctx.caller.channel_id,
        "thread_ts": ctx.caller.thread_ts,
        "text": ctx.command_text[:1000],
    }
    view_id = await surface.open_modal(build_view(op, data, meta=meta, loading=op.choices is not None))
    if op.choices is None or view_id is None:
        return
    try:
        choices = await op.choices(ctx, data)
    except Exception as exc:  # the form still works with typed values
        log.warning("could not load choices for %s: %s", op.name, exc)
        choices = {}
    await surface.update_modal(view_id, build_view(op, data, meta=meta, choices=choices))


def metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The form's private_metadata; empty when it is not a JSON object (forged or garbled)."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
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
