"""Reading physical connections: ``ali list`` (with filters), ``ali show`` and ``ali vbrs``.

``list`` sends its filters to Alibaba (``Filter.N.Key``/``Filter.N.Value.M``): status, name,
access point and line operator, in every watched region or the one given.
"""

from __future__ import annotations

from circuitbot.actions.registry import OpContext, Operation, Registry
from circuitbot.chat.reply import Reply
from circuitbot.providers.alibaba import models as m
from circuitbot.providers.alibaba import render
from circuitbot.providers.alibaba.operations.common import PROVIDER, alibaba_errors, client_of, read
from circuitbot.providers.alibaba.operations.params import ListParams, PcParams


def list_filters(params: ListParams) -> dict[str, list[str]]:
    wanted = {
        "Status": params.status,
        "Name": params.name,
        "AccessPointId": params.access_point,
        "LineOperator": params.operator,
    }
    filters = {key: [value] for key, value in wanted.items() if value}
    if params.status == m.Status.ALLOCATION_FAILED:
        filters["Status"] = ["Allocation Failed", "AllocationFailed"]  # both spellings are documented
    return filters


async def list_execute(ctx: OpContext, params: ListParams) -> list[m.PhysicalConnection]:
    async with alibaba_errors():
        client = client_of(ctx)
        regions = [params.region] if params.region else None
        items = await client.list_connections(list_filters(params), regions)
    return sorted(items, key=lambda c: (c.access_point_id or "", c.name or "", c.physical_connection_id))


def list_render(result: list[m.PhysicalConnection], params: ListParams, ctx: OpContext) -> Reply:
    parts = [
        f" in {params.status}" if params.status else "",
        f" named {params.name}" if params.name else "",
        f" at {params.access_point}" if params.access_point else "",
        f" by {params.operator}" if params.operator else "",
        f" in {params.region}" if params.region else "",
    ]
    return render.connections(result, filters="".join(parts), page=params.page, command_text=ctx.command_text)


LIST = Operation(
    provider=PROVIDER,
    verb="list",
    summary="physical connections, by status, name, access point or line operator",
    params=ListParams,
    execute=list_execute,
    render=list_render,
    slow=True,
    aliases=("ls",),
    examples=("/circuit ali list", "/circuit ali list status=Enabled operator=CT"),
)


async def show_execute(ctx: OpContext, params: PcParams) -> tuple[m.PhysicalConnection, str | None]:
    found = await read(ctx, params)
    return found, client_of(ctx).known_region(params.pc_id)


def show_render(result: tuple[m.PhysicalConnection, str | None], params: PcParams, ctx: OpContext) -> Reply:
    return render.connection(*result)


SHOW = Operation(
    provider=PROVIDER,
    verb="show",
    summary="one physical connection: status, bandwidth, port, operator, access point, times",
    params=PcParams,
    execute=show_execute,
    render=show_render,
    slow=True,
    aliases=("get",),
    examples=("/circuit ali show pc-119mfjzm7",),
)


async def vbrs_execute(ctx: OpContext, params: PcParams) -> list[m.VirtualBorderRouter]:
    async with alibaba_errors(params.pc_id):
        return await client_of(ctx).list_vbrs(params.pc_id, params.region)


def vbrs_render(result: list[m.VirtualBorderRouter], params: PcParams, ctx: OpContext) -> Reply:
    return render.vbrs(params.pc_id, result)


VBRS = Operation(
    provider=PROVIDER,
    verb="vbrs",
    summary="the virtual border routers (VBRs) on a physical connection",
    params=PcParams,
    execute=vbrs_execute,
    render=vbrs_render,
    slow=True,
    help="A physical connection can be terminated only once no VBR is left on it.",
    examples=("/circuit ali vbrs pc-2zeoaxkq3jot5p71qcnuy",),
)


def register(registry: Registry) -> None:
    for operation in (LIST, SHOW, VBRS):
        registry.add(operation)
