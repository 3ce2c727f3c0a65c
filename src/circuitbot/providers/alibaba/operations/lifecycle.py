"""The changes of a physical connection's life: ``cancel``, ``enable``, ``terminate``, ``delete``.

Each preview checks the documented state rule on a fresh read and refuses, saying why, before
anyone is asked to approve; execution reads again and refuses if the status moved since the
preview (nothing is sent then). Every call carries the approval request's ClientToken, so a
retry after a lost answer or a crash is done once by Alibaba.

Enable and Terminate answer at once and finish later. An enabling connection shows no state of
its own (it stays Confirmed until it is Enabled), so execution reads it until it is Enabled. A
terminating one is Terminating: execution reports once it is, and the watch that follows every
change follows it, polling fast, to Terminated. Terminate first lists the VBRs: Alibaba refuses
it while any is left (seed 004).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from circuitbot.actions.registry import (
    OpContext,
    Operation,
    Preview,
    Refused,
    Registry,
    Verified,
    WatchTarget,
)
from circuitbot.providers.alibaba import models as m
from circuitbot.providers.alibaba.client import AlibabaClient
from circuitbot.providers.alibaba.operations.common import (
    CANCELABLE,
    PROVIDER,
    Changed,
    alibaba_errors,
    changed_render,
    client_of,
    client_token,
    follow_connection,
    is_,
    read,
    refuse_unless,
    require_unchanged,
    settings_of,
    states_text,
    status_precondition,
)
from circuitbot.providers.alibaba.operations.params import PcParams


@dataclass(frozen=True)
class Step:
    """One lifecycle change: the action, where it may start, where it ends."""

    verb: str
    summary: str
    send: Callable[[AlibabaClient, str, str | None, str | None], Awaitable[None]]
    outcome: str  # what the preview says it becomes
    end: str | None  # the Status it is followed to (None: it ends at once, or the connection is gone)
    moving: tuple[str, ...] = ()  # statuses on the way to ``end``
    note: str = ""
    help: str = ""
    example: str = "pc-119mfjzm7"


async def _cancel(client: AlibabaClient, pc_id: str, region: str | None, token: str | None) -> None:
    await client.cancel(pc_id, region=region, client_token=token)


async def _enable(client: AlibabaClient, pc_id: str, region: str | None, token: str | None) -> None:
    await client.enable(pc_id, region=region, client_token=token)


async def _terminate(client: AlibabaClient, pc_id: str, region: str | None, token: str | None) -> None:
    await client.terminate(pc_id, region=region, client_token=token)


async def _delete(client: AlibabaClient, pc_id: str, region: str | None, token: str | None) -> None:
    await client.delete(pc_id, region=region, client_token=token)


def allowed(ctx: OpContext, step: Step) -> tuple[tuple[str, ...], str]:
    """Where ``step`` may start, and why not elsewhere."""
    if step.verb == "cancel":
        return CANCELABLE, "An Enabled connection is not cancelled: `ali terminate` ends it."
    if step.verb == "enable":
        return (
            "Confirmed",
        ), "Alibaba installs the line first (Allocating, Allocated), then it is Confirmed."
    if step.verb == "terminate":
        return ("Enabled",), ""
    states = tuple(settings_of(ctx).delete_states)
    return states, "Cancel or terminate it first."


async def check(ctx: OpContext, step: Step, pc: m.PhysicalConnection, params: PcParams) -> None:
    """The state rule of ``step`` on ``pc``, and for terminate its VBRs: Refused when broken."""
    states, why = allowed(ctx, step)
    refuse_unless(pc, states, step.verb, why)
    if step.verb == "terminate":
        async with alibaba_errors(params.pc_id):
            vbrs = await client_of(ctx).list_vbrs(params.pc_id, params.region)
        if vbrs:
            ids = ", ".join(v.vbr_id for v in vbrs[:5])
            raise Refused(
                f"{params.pc_id} still has {len(vbrs)} VBR(s) ({ids}): Alibaba terminates a physical "
                f"connection only once its VBRs are deleted. `ali vbrs {params.pc_id}` lists them."
            )


def lifecycle_operation(step: Step) -> Operation:
    async def preview(ctx: OpContext, params: PcParams) -> Preview:
        pc = await read(ctx, params)
        await check(ctx, step, pc, params)
        return Preview(
            summary=f"{step.verb} physical connection {params.pc_id} ({pc.name or 'no name'})",
            changes=[("Status", pc.status, step.outcome)],
            precondition=status_precondition(pc),
            notes=[step.note] if step.note else [],
        )

    async def execute(ctx: OpContext, params: PcParams) -> Changed:
        client = client_of(ctx)
        before = await read(ctx, params)
        require_unchanged(params.pc_id, ctx.precondition, before)
        await check(ctx, step, before, params)
        async with alibaba_errors(params.pc_id):
            await step.send(client, params.pc_id, params.region, client_token(ctx))
            if step.verb == "delete":
                return Changed(f"{params.pc_id} is deleted.", before, None)
            if step.end is not None:
                after = await client.wait_for(
                    params.pc_id, step.end, moving=step.moving, region=params.region
                )
            else:
                after = await client.get(params.pc_id, params.region)
        title = f"{params.pc_id} is now {after.status}."
        if step.outcome != step.end and not is_(after.status, (step.outcome,)):
            title += f" Alibaba finishes it on its own; the watch follows it to {step.outcome}."
        return Changed(title, before, after)

    async def verify(ctx: OpContext, params: PcParams, precondition: dict[str, Any]) -> Verified:
        async with alibaba_errors(params.pc_id):
            found = await client_of(ctx).find(params.pc_id, params.region)
        return landed(step, found)

    def follow(params: PcParams, result: Any) -> WatchTarget | None:
        return None if step.verb == "delete" else follow_connection(params, result)

    return Operation(
        provider=PROVIDER,
        verb=step.verb,
        summary=step.summary,
        params=PcParams,
        execute=execute,
        render=changed_render,
        mutating=True,
        preview=preview,
        verify=verify,
        follow=follow,
        slow=True,
        help=step.help,
        examples=(f"/circuit ali {step.verb} {step.example}",),
    )


def landed(step: Step, found: m.PhysicalConnection | None) -> Verified:
    """What a fresh read says of a step whose outcome was not recorded."""
    if step.verb == "delete":
        return Verified.LANDED if found is None else Verified.NOT_LANDED
    if found is None:
        return Verified.NOT_LANDED
    if is_(found.status, (step.outcome,)):
        return Verified.LANDED
    if step.verb == "terminate" and is_(found.status, ("Terminating",)):
        return Verified.IN_FLIGHT
    return Verified.NOT_LANDED


STEPS: Sequence[Step] = (
    Step(
        "cancel",
        "cancel an application for a physical connection (not once Enabled)",
        _cancel,
        "Canceled",
        None,
        note="The application ends as Canceled; it can then only be deleted.",
        help="Cancels from Initial, Approved, Allocated or Confirmed; an Enabled one is terminated instead.",
        example="pc-2ze3f8v1yct9xuxxnl6",
    ),
    Step(
        "enable",
        "enable a Confirmed physical connection (billing starts)",
        _enable,
        "Enabled",
        "Enabled",
        moving=("Confirmed",),
        note="Billing starts once it is Enabled. Alibaba enables it asynchronously; followed to Enabled.",
        help="Only from Confirmed: once Alibaba installed the line and you checked it.",
    ),
    Step(
        "terminate",
        "terminate an Enabled physical connection (its VBRs must be deleted first)",
        _terminate,
        "Terminated",
        "Terminating",
        moving=("Enabled",),
        note="The line stops carrying traffic. It goes through Terminating to Terminated, followed here.",
        help="Only from Enabled, and only once no VBR is left on it (`ali vbrs <pc-id>`).",
        example="pc-bp1ciz7ekd2grn1as",
    ),
    Step(
        "delete",
        "delete a physical connection in a final state",
        _delete,
        "deleted",
        None,
        note="The connection disappears from Alibaba's listings.",
        help="Only from the final states (Rejected, Canceled, AllocationFailed, Terminated by default; "
        "CIRCUITBOT_ALIBABA__DELETE_STATES sets them).",
        example="pc-uf6ollkcta33nbgbvs4",
    ),
)
OPERATIONS = tuple(lifecycle_operation(step) for step in STEPS)


def register(registry: Registry) -> None:
    for operation in OPERATIONS:
        registry.add(operation)


__all__ = ["OPERATIONS", "STEPS", "register", "states_text"]
