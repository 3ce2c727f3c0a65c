"""Ordering an Azure connection (``create``) and deleting one (``delete``), through approval.

``create`` verifies the service key before anything is requested, offers the company's ports
as the two source ports (Azure requires redundancy: the order is a GROUP_LAYER2 of two LAYER2
legs) and checks the speed against the circuit's bandwidth. The approved create is refused if
a connection for the key appeared meanwhile; it is sent once (a lost answer is settled by
finding the key's connection, never by a second order) and the new connection is then watched
until it is ACTIVE.

``delete`` records the status its preview read and refuses to run if the connection has moved
on since.
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
    WatchTarget,
)
from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply
from circuitbot.providers.consoleconnect import models as m
from circuitbot.providers.consoleconnect.operations.common import (
    cc_errors,
    client_of,
    follow_connection,
    read_connection,
)
from circuitbot.providers.consoleconnect.operations.params import PROVIDER, ConnectionParams, CreateParams
from circuitbot.providers.consoleconnect.operations.reads import EXAMPLE_ID, EXAMPLE_KEY, verified_key
from circuitbot.providers.kit.preconditions import absent, expects_absent, require_unchanged
from circuitbot.providers.kit.render import code, escaped

SPEEDS_MBPS = (50, 100, 200, 500, 1000, 2000, 5000, 10000)
GONE = (m.ConnectionStatus.DELETING, m.ConnectionStatus.DELETED, m.ConnectionStatus.CANCELLED)


async def live_connection(ctx: OpContext, key: str) -> m.Connection | None:
    async with cc_errors(key):
        return await client_of(ctx).find_by_service_key(key)


async def create_preview(ctx: OpContext, params: CreateParams) -> Preview:
    info = await verified_key(ctx, params.service_key)
    existing = await live_connection(ctx, params.service_key)
    if existing is not None:
        raise Refused(
            f"the service key already has connection {bk.code(existing.id)} ({existing.status}); "
            f"`cc show {existing.id}` shows it"
        )
    async with cc_errors():
        ports = {port.id.lower(): port for port in await client_of(ctx).list_ports()}
    for port_id in (params.port_a, params.port_b):
        if port_id not in ports:
            raise Refused(f"{bk.code(port_id)} is not one of the company's ports; `cc ports` lists them")
    bandwidth = info.mbps
    if bandwidth is not None and params.speed > bandwidth:
        raise Refused(f"{params.speed} Mbps is more than the circuit's {bandwidth} Mbps")
    notes = [f"Service key verified: {bandwidth or '?'} Mbps at {info.peering_location or 'its location'}."]
    if bandwidth is not None and params.speed < bandwidth:
        notes.append(f"The circuit has {bandwidth} Mbps; the connection will carry {params.speed}.")
    notes.append("A GROUP_LAYER2 of two LAYER2 legs; CREATING until Azure has provisioned it, then ACTIVE.")
    name = {port_id: port.port_name or port_id for port_id, port in ports.items()}
    return Preview(
        # the typed name is among the changes, shown as a value; the summary holds no typed text
        summary=f"order an Azure connection for {params.service_key} at {params.speed} Mbps",
        changes=[
            ("name", None, params.name),
            ("source port A", None, name[params.port_a]),
            ("source port B", None, name[params.port_b]),
            ("speed", None, f"{params.speed} Mbps"),
            ("payment", None, params.payment_type),
        ],
        precondition=absent(),
        notes=notes,
    )


async def create_execute(ctx: OpContext, params: CreateParams) -> m.Connection:
    if expects_absent(ctx.precondition):
        existing = await live_connection(ctx, params.service_key)
        if existing is not None:
            raise OperationError(
                f"connection {existing.id} for {params.service_key} appeared since the request was "
                "reviewed, so nothing was ordered"
            )
    request = m.AzureLayer2CreateRequest(
        azure_service_key=params.service_key,
        name=params.name,
        src_port=[m.PortRef(port_id=params.port_a), m.PortRef(port_id=params.port_b)],
        speed=params.speed,
        payment_type=params.payment_type,
    )
    async with cc_errors(params.service_key):
        return await client_of(ctx).create_azure_connection(request)


def create_render(result: m.Connection, params: CreateParams, ctx: OpContext) -> Reply:
    return Reply.plain(
        f":white_check_mark: Connection *{escaped(result.name)}* {code(result.id)} ordered for "
        f"{code(params.service_key)}: {escaped(result.status)}, Azure {escaped(result.partner_status)}. "
        "It becomes ACTIVE once Azure has provisioned it."
    )


async def create_verify(ctx: OpContext, params: CreateParams, precondition: dict[str, Any]) -> Verified:
    return Verified.LANDED if await live_connection(ctx, params.service_key) else Verified.NOT_LANDED


def create_follow(params: CreateParams, result: Any) -> WatchTarget | None:
    connection_id = getattr(result, "id", None)
    return WatchTarget(PROVIDER, connection_id, params.name) if connection_id else None


async def create_choices(ctx: OpContext, data: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    async with cc_errors():
        ports = await client_of(ctx).list_ports()
    offered = [
        (f"{p.port_name or p.id} · {p.facility or '?'} · {p.speed_mbps or '?'} Mbps", p.id) for p in ports
    ]
    return {"port_a": offered, "port_b": offered, "speed": [(f"{s:,} Mbps", str(s)) for s in SPEEDS_MBPS]}


CREATE = Operation(
    provider=PROVIDER,
    verb="create",
    summary="order an Azure ExpressRoute connection for a service key",
    params=CreateParams,
    execute=create_execute,
    render=create_render,
    mutating=True,
    preview=create_preview,
    verify=create_verify,
    follow=create_follow,
    choices=create_choices,
    help=(
        "Opens a form for what is missing. The key is verified first; the two source ports come "
        "from `cc ports` (Azure requires two legs); the speed is at most the circuit's bandwidth."
    ),
    examples=(
        f"/circuit cc create {EXAMPLE_KEY}",
        f"/circuit cc create {EXAMPLE_KEY} name=Contoso-DC port-a=5b456eda852dad001a8cf2cd "
        "port-b=5b456eda852dad001a8cf2ce speed=200 payment-type=payg",
    ),
)


async def delete_preview(ctx: OpContext, params: ConnectionParams) -> Preview:
    connection = await read_connection(ctx, params.connection_id)
    if any(m.same_status(connection.status, s) for s in GONE):
        raise Refused(f"{bk.code(params.connection_id)} is already {connection.status}")
    return Preview(
        summary=f"delete connection {params.connection_id}",
        changes=[
            ("status", connection.status, "DELETING"),
            ("Azure provisioning", connection.partner_status, "DEPROVISIONING"),
        ],
        precondition={"status": m.status_key(connection.status)},
        notes=[
            "Both legs go down: the Azure circuit loses its layer-2 connectivity through Console Connect."
        ],
    )


async def delete_execute(ctx: OpContext, params: ConnectionParams) -> m.Connection | None:
    connection = await read_connection(ctx, params.connection_id)
    require_unchanged(
        params.connection_id, ctx.precondition or {}, {"status": m.status_key(connection.status)}
    )
    async with cc_errors(params.connection_id):
        return await client_of(ctx).delete_connection(params.connection_id)


def delete_render(result: m.Connection | None, params: ConnectionParams, ctx: OpContext) -> Reply:
    now = f": {escaped(result.status)}" if result is not None else ""
    return Reply.plain(f":wastebasket: Connection {code(params.connection_id)} is being deleted{now}.")


async def delete_verify(ctx: OpContext, params: ConnectionParams, precondition: dict[str, Any]) -> Verified:
    connection = await read_connection(ctx, params.connection_id)
    deleting = any(m.same_status(connection.status, s) for s in GONE)
    return Verified.LANDED if deleting else Verified.NOT_LANDED


DELETE = Operation(
    provider=PROVIDER,
    verb="delete",
    summary="delete an Azure connection (both legs)",
    params=ConnectionParams,
    execute=delete_execute,
    render=delete_render,
    mutating=True,
    preview=delete_preview,
    verify=delete_verify,
    follow=follow_connection,
    help='A good candidate for two approvals: approvals_required = {"consoleconnect.delete" = 2}.',
    examples=(f"/circuit cc delete {EXAMPLE_ID}",),
)


def register(registry: Registry) -> None:
    for operation in (CREATE, DELETE):
        registry.add(operation)
