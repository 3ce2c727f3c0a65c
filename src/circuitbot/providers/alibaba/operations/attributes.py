"""Applying for a physical connection (``ali create``) and changing its attributes (``ali modify``).

Both open a modal when fields are missing and go through approval.

Create refuses before approval what Alibaba would: a sixth connection not yet Enabled, any new
one while a connection is locked for overdue payment (BusinessStatus FinancialLocked), and a
redundant connection that is not Allocated, Confirmed or Enabled. Execution checks the account
again on a fresh read. Its ClientToken is the approval request's, so a create sent again after a
lost answer is made once; ``verify`` looks for it by name, access point and peer location.

Modify changes nothing in Canceled, Allocating, AllocationFailed or Terminated, and the spec
(port type, bandwidth) and the redundant connection only in Initial or Rejected; a Rejected
connection goes back to Initial (Alibaba reviews it again).
"""

from __future__ import annotations

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
from circuitbot.chat.blocks import code
from circuitbot.providers.alibaba import models as m
from circuitbot.providers.alibaba.operations.common import (
    APPLYING,
    MAX_APPLYING,
    NOT_MODIFIABLE,
    PROVIDER,
    REDUNDANT_OK,
    SPEC_MODIFIABLE,
    Changed,
    alibaba_errors,
    changed_render,
    client_of,
    client_token,
    follow_connection,
    is_,
    read,
    require_unchanged,
    states_text,
    status_precondition,
)
from circuitbot.providers.alibaba.operations.params import MODIFIABLE, SPEC_FIELDS, CreateParams, ModifyParams
from circuitbot.providers.kit import preconditions

# --- create -----------------------------------------------------------------------------------------


async def check_account(ctx: OpContext, params: CreateParams) -> int:
    """Create's account rules on a fresh listing; the number of applications on their way."""
    async with alibaba_errors():
        items = await client_of(ctx).list_connections()
    locked = [c for c in items if c.business_status == m.BusinessStatus.FINANCIAL_LOCKED]
    if locked:
        raise Refused(
            f"{locked[0].physical_connection_id} is locked for an overdue payment (FinancialLocked): Alibaba "
            "takes no new application from an account with a delinquent connection. Settle the payment first."
        )
    applying = [c for c in items if is_(c.status, APPLYING)]
    if len(applying) >= MAX_APPLYING:
        ids = ", ".join(c.physical_connection_id for c in applying[:MAX_APPLYING])
        raise Refused(
            f"{len(applying)} connections are not yet Enabled ({ids}): Alibaba allows at most "
            f"{MAX_APPLYING}. Enable or cancel one first."
        )
    if params.redundant_id:
        redundant = next((c for c in items if c.physical_connection_id == params.redundant_id), None)
        if redundant is None or not is_(redundant.status, REDUNDANT_OK):
            now = redundant.status if redundant else "not found in this account"
            raise Refused(
                f"the redundant connection {params.redundant_id} must be {states_text(REDUNDANT_OK)}; "
                f"it is {now}."
            )
    return len(applying)


async def create_preview(ctx: OpContext, params: CreateParams) -> Preview:
    applying = await check_account(ctx, params)
    region = params.region or client_of(ctx).default_region
    wire = params.wire()
    return Preview(
        summary=f"apply for a physical connection at {params.access_point} ({region})",
        changes=[(name, None, value) for name, value in wire.items()],
        precondition=preconditions.absent(),
        notes=[
            f"{applying} other application(s) on their way; Alibaba allows {MAX_APPLYING} not yet Enabled.",
            "Alibaba reviews it (Initial), then allocates and installs the line; enable it once Confirmed.",
        ],
    )


async def create_execute(ctx: OpContext, params: CreateParams) -> Changed:
    await check_account(ctx, params)
    client = client_of(ctx)
    region = params.region or client.default_region
    async with alibaba_errors():
        pc_id = await client.create(region, params.wire(), client_token=client_token(ctx))
        after = await client.get(pc_id, region)
    return Changed(f"Applied for {pc_id}: it is {after.status}.", None, after)


async def create_verify(ctx: OpContext, params: CreateParams, precondition: dict[str, Any]) -> Verified:
    client = client_of(ctx)
    filters = {"AccessPointId": [params.access_point]}
    if params.name:
        filters["Name"] = [params.name]
    async with alibaba_errors():
        items = await client.list_connections(filters, [params.region or client.default_region])
    ours = [c for c in items if c.peer_location == params.peer_location and is_(c.status, APPLYING)]
    return Verified.LANDED if ours else Verified.NOT_LANDED


def create_follow(params: CreateParams, result: Any) -> WatchTarget | None:
    after = getattr(result, "after", None)
    return WatchTarget(PROVIDER, after.physical_connection_id) if after is not None else None


async def create_choices(ctx: OpContext, data: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """The watched regions, for the form's region field."""
    return {"region": [(region, region) for region in client_of(ctx).regions]}


CREATE = Operation(
    provider=PROVIDER,
    verb="create",
    summary="apply for a physical connection (opens a form)",
    params=CreateParams,
    execute=create_execute,
    render=changed_render,
    mutating=True,
    preview=create_preview,
    verify=create_verify,
    follow=create_follow,
    choices=create_choices,
    slow=True,
    aliases=("apply",),
    help="Refused while five connections are not yet Enabled or one is locked for an overdue payment.",
    examples=(
        "/circuit ali create",
        "/circuit ali create access-point=ap-cn-beijing-ft-A line-operator=CT peer-location=Beijing",
    ),
)

# --- modify -----------------------------------------------------------------------------------------


def check_modify(pc: m.PhysicalConnection, params: ModifyParams) -> None:
    if is_(pc.status, NOT_MODIFIABLE):
        raise Refused(
            f"{pc.physical_connection_id} is {pc.status}: "
            f"nothing can change in {states_text(NOT_MODIFIABLE)}."
        )
    spec = [n.replace("_", "-") for n in SPEC_FIELDS if n in params.changes()]
    if spec and not is_(pc.status, SPEC_MODIFIABLE):
        raise Refused(
            f"{pc.physical_connection_id} is {pc.status}: {', '.join(spec)} can change only in "
            f"{states_text(SPEC_MODIFIABLE)} (its name, description, peer location, line operator and "
            "circuit code can change now)."
        )


def modify_changes(pc: m.PhysicalConnection, params: ModifyParams) -> list[tuple[str, Any, Any]]:
    return [
        (wire, getattr(pc, attribute), params.changes()[name])
        for name, (wire, attribute) in MODIFIABLE.items()
        if name in params.changes() and getattr(pc, attribute) != params.changes()[name]
    ]


async def modify_preview(ctx: OpContext, params: ModifyParams) -> Preview:
    pc = await read(ctx, params)
    check_modify(pc, params)
    changes = modify_changes(pc, params)
    if not changes:
        raise Refused(f"{params.pc_id} already has those values")
    notes = (
        ["A Rejected connection goes back to Initial: Alibaba reviews it again."]
        if pc.is_("Rejected")
        else []
    )
    return Preview(
        summary=f"change {', '.join(c[0] for c in changes)} of {params.pc_id}",
        changes=changes,
        precondition={**status_precondition(pc), **{c[0]: c[1] for c in changes}},
        notes=notes,
    )


async def modify_execute(ctx: OpContext, params: ModifyParams) -> Changed:
    before = await read(ctx, params)
    recorded = {k: v for k, v in (ctx.precondition or {}).items() if k == "Status"}
    require_unchanged(params.pc_id, recorded, before)
    check_modify(before, params)
    fields = {MODIFIABLE[n][0]: v for n, v in params.changes().items()}
    client = client_of(ctx)
    async with alibaba_errors(params.pc_id):
        await client.modify(params.pc_id, fields, region=params.region, client_token=client_token(ctx))
        after = await client.get(params.pc_id, params.region)
    return Changed(f"{params.pc_id} is changed.", before, after)


async def modify_verify(ctx: OpContext, params: ModifyParams, precondition: dict[str, Any]) -> Verified:
    pc = await read(ctx, params)
    now = {name: getattr(pc, MODIFIABLE[name][1]) for name in params.changes()}
    return preconditions.landed(now, params.changes())


MODIFY = Operation(
    provider=PROVIDER,
    verb="modify",
    summary="change a physical connection's attributes (opens a form)",
    params=ModifyParams,
    execute=modify_execute,
    render=changed_render,
    mutating=True,
    preview=modify_preview,
    verify=modify_verify,
    follow=follow_connection,
    slow=True,
    help=(
        "Nothing changes in Canceled, Allocating, AllocationFailed or Terminated; port type, bandwidth and "
        f"the redundant connection only in Initial or Rejected. {code('ali modify <pc-id>')} opens the form."
    ),
    examples=("/circuit ali modify pc-119mfjzm7 name=shanghai-primary",),
)


def register(registry: Registry) -> None:
    for operation in (CREATE, MODIFY):
        registry.add(operation)
