"""The Equinix changes: ``delete`` a connection and ``create`` (order) one, through approval.

Equinix has no etags: a preview records the connection's states, and execution refuses when a
fresh read differs (another change ran in between). A create records that no live connection
had its name; it is sent once (Equinix takes no idempotency key), and when its answer is lost
the connection is looked up by name and service key rather than ordered again (on v4, whose
pair is two requests, a secondary never sent is then ordered in the primary's group). A delete of a
connection already gone (v4 ``EQ-3142509``) counts as done. Both are followed by a watch of
the connection, which ends at DEPROVISIONED.
"""

from __future__ import annotations

from typing import Any

from circuitbot.actions.registry import (
    OpContext,
    Operation,
    OperationError,
    Preview,
    Refused,
    Registry,
    Verified,
)
from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply
from circuitbot.providers.equinix import render
from circuitbot.providers.equinix.errors import WriteUnconfirmed
from circuitbot.providers.equinix.operations.common import (
    EQUINIX_ERRORS,
    PROVIDER,
    client_of,
    equinix_errors,
    follow_connection,
    is_busy,
    is_gone,
    read_connection,
)
from circuitbot.providers.equinix.operations.create import create_choices, create_preview, order_of
from circuitbot.providers.equinix.operations.params import ConnectionParams, CreateParams
from circuitbot.providers.equinix.views import ConnectionFilter, ConnectionView, Ordered
from circuitbot.providers.http import maybe_processed
from circuitbot.providers.kit.preconditions import expects_absent, require_unchanged
from circuitbot.providers.kit.render import escaped

# --- delete -----------------------------------------------------------------------------------


async def delete_preview(ctx: OpContext, params: ConnectionParams) -> Preview:
    current = await read_connection(ctx, params.uuid)
    if is_gone(current):
        raise Refused(f"{params.uuid} is already {escaped(current.status)}")
    if is_busy(current):
        raise Refused(f"{params.uuid} is {escaped(current.status)}: wait until its change has finished")
    notes = [
        f"{render.mbps(current.speed_mbps)} to {current.profile or 'its profile'} in {current.seller_metro}."
    ]
    if current.redundancy_group:
        notes.append("Its redundant twin (same redundancy group) is not deleted with it: delete it too.")
    return Preview(
        summary=f"delete Equinix connection {current.name or params.uuid}",
        changes=[(name, value, "DEPROVISIONED") for name, value in current.states.items()],
        precondition=dict(current.states),
        notes=notes,
    )


async def delete_execute(ctx: OpContext, params: ConnectionParams) -> ConnectionView:
    client = client_of(ctx)
    async with equinix_errors(params.uuid):
        before = await client.connection(params.uuid)
    require_unchanged(params.uuid, ctx.precondition or {}, before.states)
    try:
        await client.delete(params.uuid)
    except Exception as exc:
        # A DELETE is retried when its answer is lost; the retry then finds the connection
        # deprovisioning and is refused (EQ-3142510). Whether it is going is read, not guessed.
        async with equinix_errors(params.uuid):
            after = await client.connection(params.uuid)
        if not (is_gone(after) or _deprovisioning(after)):
            raise EQUINIX_ERRORS.translate(exc, params.uuid) or exc from None
        return after
    async with equinix_errors(params.uuid):
        return await client.connection(params.uuid)


def _deprovisioning(c: ConnectionView) -> bool:
    return any((v or "").lower() == "deprovisioning" for v in c.states.values())


def delete_render(result: ConnectionView, params: ConnectionParams, ctx: OpContext) -> Reply:
    text = f"Deleting {bk.escape(result.name or result.uuid)}: {render.states_text(result)}"
    return Reply(text=text, blocks=[bk.section(text)])


async def delete_verify(ctx: OpContext, params: ConnectionParams, precondition: dict[str, Any]) -> Verified:
    current = await read_connection(ctx, params.uuid)
    if is_gone(current):
        return Verified.LANDED
    if _deprovisioning(current):
        return Verified.IN_FLIGHT
    return Verified.NOT_LANDED


DELETE = Operation(
    provider=PROVIDER,
    verb="delete",
    summary="delete a connection (through approval)",
    params=ConnectionParams,
    execute=delete_execute,
    render=delete_render,
    mutating=True,
    preview=delete_preview,
    verify=delete_verify,
    follow=follow_connection,
    aliases=("remove",),
    examples=("/circuit eqx delete 006d08e2-788e-4c83-82d3-07b1787644a5",),
)

# --- create -----------------------------------------------------------------------------------


async def find_ordered(ctx: OpContext, params: CreateParams) -> list[ConnectionView]:
    """Live connections of this order: its name (primary or -SEC) with its service key."""
    async with equinix_errors():
        found = await client_of(ctx).connections(ConnectionFilter(key=params.key.lower()))
    names = {params.name, f"{params.name}-SEC"}
    return [c for c in found if c.name in names and not is_gone(c)]


async def create_execute(ctx: OpContext, params: CreateParams) -> Ordered:
    if expects_absent(ctx.precondition) and await find_ordered(ctx, params):
        raise OperationError(
            f"a connection named {params.name} with that key exists now; nothing was ordered"
        )
    order = await order_of(ctx, params)
    try:
        return await client_of(ctx).create(order)
    except Exception as exc:
        if not maybe_processed(exc):
            translated = EQUINIX_ERRORS.translate(exc)
            if translated is None:
                raise
            raise translated from None
    return await after_lost_answer(ctx, params)


async def after_lost_answer(ctx: OpContext, params: CreateParams) -> Ordered:
    """The order's answer was lost: it may have landed. Look, never order again."""
    found = await find_ordered(ctx, params)
    primary = next((c for c in found if c.name == params.name), None)
    if primary is None:
        lost = WriteUnconfirmed(
            status=None, message=f"The order of {params.name} got no answer and is not visible."
        )
        raise EQUINIX_ERRORS.translate(lost, params.name) or OperationError(str(lost))
    secondary = next((c.uuid for c in found if c.name != params.name), None)
    client = client_of(ctx)
    if secondary is None and params.secondary_port and client.api_version == "v4":
        # v4 orders a pair in two requests: the primary landed, its twin was never sent
        async with equinix_errors():
            secondary = await client.v4.create_secondary(
                await order_of(ctx, params), primary.redundancy_group
            )
    return Ordered(primary.uuid, secondary)


def create_render(result: Ordered, params: CreateParams, ctx: OpContext) -> Reply:
    lines = [f"Ordered {bk.escape(params.name)}: {bk.code(result.primary)}"]
    if result.secondary:
        lines.append(f"and its secondary {bk.escape(params.name)}-SEC: {bk.code(result.secondary)}")
    lines.append("Equinix is provisioning it; the watch below follows it to PROVISIONED.")
    text = "\n".join(lines)
    return Reply(text=text, blocks=[bk.section(text)])


async def create_verify(ctx: OpContext, params: CreateParams, precondition: dict[str, Any]) -> Verified:
    found = await find_ordered(ctx, params)
    if not found:
        return Verified.NOT_LANDED
    return Verified.IN_FLIGHT if any(is_busy(c) for c in found) else Verified.LANDED


CREATE = Operation(
    provider=PROVIDER,
    verb="create",
    summary="order a connection to a service profile, e.g. Azure ExpressRoute (a form; through approval)",
    params=CreateParams,
    execute=create_execute,
    render=create_render,
    mutating=True,
    preview=create_preview,
    verify=create_verify,
    follow=follow_connection,
    choices=create_choices,
    aliases=("order",),
    help=(
        "Opens a form: ports, profile and metro to pick from. The service key is validated "
        "against the profile first, the speed must be one of its bands, and a profile that "
        "requires redundancy (Azure does) needs a secondary port and VLAN."
    ),
    examples=("/circuit eqx create", "/circuit eqx create Contoso-DC-ER"),
)


def register(registry: Registry) -> None:
    registry.add(DELETE)
    registry.add(CREATE)
