"""Read-outs of routing: Azure's BGP service communities (``communities``, for Microsoft
peering route filters) and a peering's tables on the primary or secondary device (``arp``,
``routes``, ``routes-summary``), which Azure reads from the devices on demand.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from circuitbot.actions.registry import OpContext, Operation, OperationError, Registry
from circuitbot.chat.reply import Reply
from circuitbot.providers.azure import models as m
from circuitbot.providers.azure import render
from circuitbot.providers.azure.client import AzurePartnerClient
from circuitbot.providers.azure.errors import NotFound
from circuitbot.providers.azure.operations.common import PROVIDER, azure_errors, client_of
from circuitbot.providers.azure.operations.params import CommunitiesParams, TableParams


async def communities_execute(ctx: OpContext, params: CommunitiesParams) -> list[m.BgpServiceCommunity]:
    async with azure_errors():
        items = await client_of(ctx).list_bgp_service_communities()
    if not params.service:
        return items
    wanted = params.service.lower()
    kept = []
    for item in items:
        properties = item.properties or m.BgpServiceCommunityPropertiesFormat()
        if wanted in (properties.service_name or item.name or "").lower():
            kept.append(item)
            continue
        communities = [
            c
            for c in properties.bgp_communities or []
            if wanted in (c.community_name or "").lower()
            or wanted in (c.service_supported_region or "").lower()
        ]
        if communities:
            kept.append(
                item.model_copy(
                    update={"properties": properties.model_copy(update={"bgp_communities": communities})}
                )
            )
    return kept


def communities_render(
    result: list[m.BgpServiceCommunity], params: CommunitiesParams, ctx: OpContext
) -> Reply:
    return render.communities(result, service=params.service, page=params.page, command_text=ctx.command_text)


COMMUNITIES = Operation(
    provider=PROVIDER,
    verb="communities",
    summary="Azure's BGP service communities (for Microsoft peering)",
    params=CommunitiesParams,
    execute=communities_execute,
    render=communities_render,
    slow=True,
    examples=("/circuit az communities", "/circuit az communities exchange"),
)


async def _read_table(client: AzurePartnerClient, kind: str, params: TableParams) -> render.Table:
    """One kind of device table ("arp", "routes" or "summary") of a peering, as read."""
    where = (params.key, params.peering, params.path)
    if kind == "arp":
        return render.arp_table(*where, await client.list_arp_table(*where))
    if kind == "routes":
        return render.routes_table(*where, await client.list_routes_table(*where))
    return render.routes_summary(*where, await client.list_routes_table_summary(*where))


def _table_read(kind: str) -> Callable[[OpContext, TableParams], Awaitable[render.Table]]:
    async def execute(ctx: OpContext, params: TableParams) -> render.Table:
        async with azure_errors(params.key):
            try:
                return await _read_table(client_of(ctx), kind, params)
            except NotFound as exc:
                if exc.code == "CrossConnectionNotFound":
                    raise
                raise OperationError(
                    f"{params.key} has no {params.peering}; `az peerings {params.key}` lists its peerings"
                ) from None

    return execute


def table_render(result: render.Table, params: TableParams, ctx: OpContext) -> Reply:
    return render.table(result, page=params.page, command_text=ctx.command_text)


def table_operation(verb: str, kind: str, summary: str) -> Operation:
    return Operation(
        provider=PROVIDER,
        verb=verb,
        summary=summary,
        params=TableParams,
        execute=_table_read(kind),
        render=table_render,
        slow=True,
        help="Azure reads it from the devices; it takes a few seconds.",
        examples=(f"/circuit az {verb} aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e private primary",),
    )


ARP = table_operation("arp", "arp", "a peering's ARP table on the primary or secondary device")
ROUTES = table_operation("routes", "routes", "a peering's BGP route table on the primary or secondary device")
ROUTES_SUMMARY = table_operation(
    "routes-summary", "summary", "a peering's BGP neighbour summary on the primary or secondary device"
)


def register(registry: Registry) -> None:
    for operation in (COMMUNITIES, ARP, ROUTES, ROUTES_SUMMARY):
        registry.add(operation)
