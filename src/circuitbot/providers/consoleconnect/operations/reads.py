"""The reads: ``verify`` (a service key), ``ports``, ``list``, ``show`` and ``peering-show``."""

from __future__ import annotations

from circuitbot.actions.registry import OpContext, Operation, OperationError, Registry
from circuitbot.chat import blocks as bk
from circuitbot.providers.consoleconnect import models as m
from circuitbot.providers.consoleconnect import render
from circuitbot.providers.consoleconnect.errors import ConsoleConnectError, NotFound
from circuitbot.providers.consoleconnect.operations.common import (
    cc_errors,
    client_of,
    read_connection,
    read_peering,
)
from circuitbot.providers.consoleconnect.operations.params import (
    PROVIDER,
    ConnectionParams,
    ListParams,
    PeeringRefParams,
    PortsParams,
    VerifyParams,
)

EXAMPLE_ID = "507f1f77bcf86cd799439011"
EXAMPLE_KEY = "bbbb1b1b-cc2c-dd3d-ee4e-ffffff5f5f5f"


async def verified_key(ctx: OpContext, key: str) -> m.ServiceKeyInfo:
    """What the key resolves to; an invalid key is an OperationError saying so plainly."""
    try:
        return await client_of(ctx).verify_service_key(key)
    except ConsoleConnectError as exc:
        if exc.status == 400 or isinstance(exc, NotFound):
            words = bk.escape_code(exc.message)
            raise OperationError(
                f"Console Connect does not accept the service key {bk.code(key)}: {words}"
            ) from None
        async with cc_errors(key):
            raise


async def verify_execute(ctx: OpContext, params: VerifyParams) -> m.ServiceKeyInfo:
    return await verified_key(ctx, params.service_key)


VERIFY = Operation(
    provider=PROVIDER,
    verb="verify",
    summary="verify an Azure service key and show what it resolves to",
    params=VerifyParams,
    execute=verify_execute,
    render=lambda result, params, ctx: render.service_key(params.service_key, result),
    slow=True,
    examples=(f"/circuit cc verify {EXAMPLE_KEY}",),
)


async def ports_execute(ctx: OpContext, params: PortsParams) -> list[m.Port]:
    async with cc_errors():
        return await client_of(ctx).list_ports()


PORTS = Operation(
    provider=PROVIDER,
    verb="ports",
    summary="the company's ports (the source ports of a new connection)",
    params=PortsParams,
    execute=ports_execute,
    render=lambda result, params, ctx: render.ports(result, page=params.page, command_text=ctx.command_text),
    slow=True,
    examples=("/circuit cc ports",),
)


async def list_execute(ctx: OpContext, params: ListParams) -> list[m.Connection]:
    async with cc_errors():
        items = await client_of(ctx).list_connections()
    if params.status:
        items = [c for c in items if m.same_status(c.status, params.status)]
    return sorted(items, key=lambda c: ((c.name or "").lower(), c.id))


LIST = Operation(
    provider=PROVIDER,
    verb="list",
    summary="the company's Azure connections: status, Azure provisioning, speed",
    params=ListParams,
    execute=list_execute,
    render=lambda result, params, ctx: render.connections(
        result,
        filters=f" in status {params.status}" if params.status else "",
        page=params.page,
        command_text=ctx.command_text,
    ),
    slow=True,
    aliases=("ls",),
    examples=("/circuit cc list", "/circuit cc list ACTIVE"),
)


async def show_execute(
    ctx: OpContext, params: ConnectionParams
) -> tuple[m.Connection, dict[str, m.PeeringConfig | None] | None]:
    connection = await read_connection(ctx, params.connection_id)
    if not connection.is_active():
        return connection, None
    configs = {
        kind.value: await read_peering(ctx, params.connection_id, kind.value) for kind in m.PeeringType
    }
    return connection, configs


SHOW = Operation(
    provider=PROVIDER,
    verb="show",
    summary="one connection: status, sub-connections, speed, Azure provisioning, peerings",
    params=ConnectionParams,
    execute=show_execute,
    render=lambda result, params, ctx: render.connection(*result),
    slow=True,
    aliases=("get",),
    examples=(f"/circuit cc show {EXAMPLE_ID}",),
)


async def peering_show_execute(ctx: OpContext, params: PeeringRefParams) -> m.PeeringConfig:
    config = await read_peering(ctx, params.connection_id, params.peering_type)
    if config is None:
        raise OperationError(
            f"{bk.code(params.connection_id)} has no {params.peering_type} peering config; "
            f"`cc peering {params.connection_id} {params.peering_type}` configures one"
        )
    return config


PEERING_SHOW = Operation(
    provider=PROVIDER,
    verb="peering-show",
    summary="a connection's peering config and its sync status",
    params=PeeringRefParams,
    execute=peering_show_execute,
    render=lambda result, params, ctx: render.peering(params.connection_id, params.peering_type, result),
    slow=True,
    examples=(f"/circuit cc peering-show {EXAMPLE_ID} PRIVATE",),
)


def register(registry: Registry) -> None:
    for operation in (VERIFY, PORTS, LIST, SHOW, PEERING_SHOW):
        registry.add(operation)
