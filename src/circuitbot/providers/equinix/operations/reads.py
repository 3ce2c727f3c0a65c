"""The Equinix reads: ``ports``, ``metros``, ``price``, ``profiles``, ``profile``, ``validate``,
``connections`` (``list``), ``show`` and ``stats``, the same on either API generation."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from circuitbot.actions.registry import NoParams, OpContext, Operation, OperationError, Registry
from circuitbot.chat.reply import Reply
from circuitbot.providers.equinix import render
from circuitbot.providers.equinix.operations.common import (
    PROVIDER,
    client_of,
    equinix_errors,
    read_connection,
)
from circuitbot.providers.equinix.operations.params import (
    ConnectionParams,
    ConnectionsParams,
    PriceParams,
    ProfileParams,
    ProfilesParams,
    StatsParams,
    ValidateParams,
)
from circuitbot.providers.equinix.views import (
    ConnectionFilter,
    ConnectionView,
    MetroView,
    PortStats,
    PortView,
    PriceQuote,
    ProfileView,
    Validation,
)

EXAMPLE_PORT = "c791f8cb-5a9f-a9f0-8ce0-306a5c00a4ee"
EXAMPLE_CONNECTION = "006d08e2-788e-4c83-82d3-07b1787644a5"
AZURE_PROFILE = "a1390b22-bbe0-4e93-ad37-85beef9d254d"


async def ports_execute(ctx: OpContext, params: NoParams) -> list[PortView]:
    async with equinix_errors():
        return await client_of(ctx).ports()


PORTS = Operation(
    provider=PROVIDER,
    verb="ports",
    summary="your ports: metro, IBX, bandwidth, encapsulation, priority, whether you may order on them",
    params=NoParams,
    execute=ports_execute,
    render=lambda result, params, ctx: render.ports(result, page=params.page, command_text=ctx.command_text),
    slow=True,
    examples=("/circuit eqx ports",),
)


async def metros_execute(ctx: OpContext, params: NoParams) -> list[MetroView]:
    async with equinix_errors():
        return await client_of(ctx).metros()


METROS = Operation(
    provider=PROVIDER,
    verb="metros",
    summary="metros and the metros each can reach",
    params=NoParams,
    execute=metros_execute,
    render=lambda result, params, ctx: render.metros(result, page=params.page, command_text=ctx.command_text),
    slow=True,
    examples=("/circuit eqx metros",),
)


async def price_execute(ctx: OpContext, params: PriceParams) -> PriceQuote:
    async with equinix_errors():
        return await client_of(ctx).prices(params.port, params.metro, params.speeds)


PRICE = Operation(
    provider=PROVIDER,
    verb="price",
    summary="local and remote price per speed from a port to a metro",
    params=PriceParams,
    execute=price_execute,
    render=lambda result, params, ctx: render.price(result, params.port),
    slow=True,
    aliases=("prices",),
    examples=(f"/circuit eqx price {EXAMPLE_PORT} SV", f"/circuit eqx price {EXAMPLE_PORT} SV 50 1000"),
)


async def profiles_execute(ctx: OpContext, params: ProfilesParams) -> list[ProfileView]:
    async with equinix_errors():
        return await client_of(ctx).profiles(params.metros)


PROFILES = Operation(
    provider=PROVIDER,
    verb="profiles",
    summary="service profiles: speed bands, metros, redundancy, tag type",
    params=ProfilesParams,
    execute=profiles_execute,
    render=lambda result, params, ctx: render.profiles(
        result, metros=params.metros, page=params.page, command_text=ctx.command_text
    ),
    slow=True,
    examples=("/circuit eqx profiles", "/circuit eqx profiles SV DC"),
)


async def profile_execute(ctx: OpContext, params: ProfileParams) -> ProfileView:
    async with equinix_errors(params.uuid):
        return await client_of(ctx).profile(params.uuid)


PROFILE = Operation(
    provider=PROVIDER,
    verb="profile",
    summary="one service profile",
    params=ProfileParams,
    execute=profile_execute,
    render=lambda result, params, ctx: render.profile(result),
    slow=True,
    examples=(f"/circuit eqx profile {AZURE_PROFILE}",),
)


async def validate_execute(ctx: OpContext, params: ValidateParams) -> Validation:
    async with equinix_errors():
        return await client_of(ctx).validate(params.key, params.metro, params.profile, params.region)


VALIDATE = Operation(
    provider=PROVIDER,
    verb="validate",
    summary="check an authorization key (an Azure service key, …) against a profile",
    params=ValidateParams,
    execute=validate_execute,
    render=lambda result, params, ctx: render.validation(result, params.key),
    slow=True,
    examples=(f"/circuit eqx validate 24e6ea2b-6940-4bec-b0b3-3a9e5471e512 SV {AZURE_PROFILE}",),
)


async def connections_execute(ctx: OpContext, params: ConnectionsParams) -> list[ConnectionView]:
    filters = ConnectionFilter(
        statuses=tuple((params.status or "").split(",")) if params.status else (),
        metro=params.metro,
        key=params.key,
        port=params.port,
    )
    async with equinix_errors():
        return await client_of(ctx).connections(filters)


def connections_render(result: list[ConnectionView], params: ConnectionsParams, ctx: OpContext) -> Reply:
    said = [f"{name}={value}" for name, value in params.public_dump().items() if value]
    filters = f" ({', '.join(said)})" if said else ""
    return render.connections(result, filters=filters, page=params.page, command_text=ctx.command_text)


CONNECTIONS = Operation(
    provider=PROVIDER,
    verb="connections",
    summary="your connections, every page, by status, metro, service key or port",
    params=ConnectionsParams,
    execute=connections_execute,
    render=connections_render,
    slow=True,
    aliases=("list", "ls"),
    examples=("/circuit eqx connections", "/circuit eqx connections status=PROVISIONED metro=SV"),
)


async def show_execute(ctx: OpContext, params: ConnectionParams) -> ConnectionView:
    return await read_connection(ctx, params.uuid)


SHOW = Operation(
    provider=PROVIDER,
    verb="show",
    summary="one connection: states, port, VLAN, profile, service key",
    params=ConnectionParams,
    execute=show_execute,
    render=lambda result, params, ctx: render.connection(result),
    slow=True,
    aliases=("get",),
    examples=(f"/circuit eqx show {EXAMPLE_CONNECTION}",),
)


def when(value: str, now: datetime) -> datetime:
    """An ISO date or time (UTC unless it says), or ``24h`` / ``7d`` before ``now``."""
    relative = re.match(r"^(\d+)([hd])$", value.strip(), re.IGNORECASE)
    if relative:
        amount, unit = int(relative[1]), relative[2].lower()
        return now - (timedelta(hours=amount) if unit == "h" else timedelta(days=amount))
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=now.tzinfo)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def stats_execute(ctx: OpContext, params: StatsParams) -> PortStats:
    now = ctx.runtime.clock.now()
    start, end = when(params.start, now), when(params.end, now) if params.end else now
    if end <= start:
        raise OperationError("the window ends before it starts: give the earlier time first")
    async with equinix_errors():
        return await client_of(ctx).port_stats(params.port, stamp(start), stamp(end))


STATS = Operation(
    provider=PROVIDER,
    verb="stats",
    summary="a port's inbound and outbound traffic, max and mean over a window",
    params=StatsParams,
    execute=stats_execute,
    render=lambda result, params, ctx: render.stats(result),
    slow=True,
    examples=(f"/circuit eqx stats {EXAMPLE_PORT}", f"/circuit eqx stats {EXAMPLE_PORT} 7d"),
)


def register(registry: Registry) -> None:
    for operation in (PORTS, METROS, PRICE, PROFILES, PROFILE, VALIDATE, CONNECTIONS, SHOW, STATS):
        registry.add(operation)
