"""What every Alibaba operation module shares: the client, Alibaba's failures as OperationErrors,
the connection as read, the documented state rules, and the pieces of a change.

The state rules (seed 004 and the SDK texts) are checked in each preview, before anyone is asked
to approve, and again on a fresh read at execution:

* Cancel: from Initial, Approved, Allocated or Confirmed; never from Enabled.
* Enable: only from Confirmed. Terminate: only from Enabled, with no VBR left.
* Modify: nothing in Canceled, Allocating, AllocationFailed or Terminated; the spec (port type,
  bandwidth) and the redundant connection only in Initial or Rejected.
* Delete: only from the final states, ``delete_states`` in the settings (the docs changed).
* Create: not while five connections are not yet Enabled, nor while one is locked for an
  overdue payment.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from circuitbot.actions.registry import OpContext, Refused, WatchTarget
from circuitbot.providers.alibaba import models as m
from circuitbot.providers.alibaba import render
from circuitbot.providers.alibaba.client import AlibabaClient
from circuitbot.providers.alibaba.errors import (
    AlibabaError,
    AlibabaOperationTimeout,
    AlibabaWriteUnconfirmed,
    NotFound,
)
from circuitbot.providers.alibaba.operations.params import PcParams
from circuitbot.providers.alibaba.settings import AlibabaSettings
from circuitbot.providers.kit import preconditions
from circuitbot.providers.kit.errors import ProviderErrors

PROVIDER = "alibaba"
ALIBABA_ERRORS = ProviderErrors(
    label="Alibaba",
    show_command="ali show",
    write_unconfirmed=(AlibabaWriteUnconfirmed,),
    not_found=(NotFound,),
    provider_error=(AlibabaError,),
    operation_timeout=(AlibabaOperationTimeout,),
    not_found_hints={"InvalidPhysicalConnectionId.NotFound": "`ali list` shows the physical connections."},
)

CANCELABLE = ("Initial", "Approved", "Allocated", "Confirmed")
NOT_MODIFIABLE = ("Canceled", "Allocating", "AllocationFailed", "Terminated")
SPEC_MODIFIABLE = ("Initial", "Rejected")
REDUNDANT_OK = ("Allocated", "Confirmed", "Enabled")
APPLYING = ("Initial", "Approved", "Allocating", "Allocated", "Confirmed")
MAX_APPLYING = 5


def client_of(ctx: OpContext) -> AlibabaClient:
    return ctx.provider(PROVIDER)


def settings_of(ctx: OpContext) -> AlibabaSettings:
    settings = ctx.runtime.settings.provider_settings(PROVIDER)
    assert isinstance(settings, AlibabaSettings)
    return settings


def alibaba_errors(key: str | None = None) -> AbstractAsyncContextManager[None]:
    """Alibaba's failures as OperationErrors carrying its Code, Message and RequestId."""
    return ALIBABA_ERRORS.reported(key)


async def read(ctx: OpContext, params: PcParams) -> m.PhysicalConnection:
    async with alibaba_errors(params.pc_id):
        return await client_of(ctx).get(params.pc_id, params.region)


def is_(status: str | None, states: Sequence[str]) -> bool:
    return m.status_key(status) in {m.status_key(s) for s in states}


def states_text(states: Sequence[str]) -> str:
    return ", ".join(states[:-1]) + f" or {states[-1]}" if len(states) > 1 else states[0]


def refuse_unless(pc: m.PhysicalConnection, states: Sequence[str], what: str, why: str = "") -> None:
    """Refused before approval: ``what`` works only from ``states``."""
    if not is_(pc.status, states):
        reason = f" {why}" if why else ""
        raise Refused(
            f"{pc.physical_connection_id} is {pc.status}: "
            f"{what} works only from {states_text(states)}.{reason}"
        )


def status_precondition(pc: m.PhysicalConnection) -> dict[str, Any]:
    return {"Status": pc.status}


def require_unchanged(pc_id: str, recorded: dict[str, Any] | None, fresh: m.PhysicalConnection) -> None:
    now = {name: getattr(fresh, _attribute(name), None) for name in (recorded or {})}
    preconditions.require_unchanged(pc_id, recorded or {}, now)


def _attribute(wire: str) -> str:
    return {"Status": "status", "BusinessStatus": "business_status"}.get(wire, wire)


def follow_connection(params: PcParams, result: Any) -> WatchTarget:
    return WatchTarget(PROVIDER, params.pc_id)


def client_token(ctx: OpContext) -> str | None:
    """The approval request's id: the same on every attempt, so Alibaba does the change once."""
    return f"circuitbot-{ctx.request_id}" if ctx.request_id else None


Changed = preconditions.Changed[m.PhysicalConnection | None]
changed_render = preconditions.changed_render(render.changed)
