"""What every Equinix operation module shares: the client, Equinix's failures as
OperationErrors, and the connection as read."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from circuitbot.actions.registry import OpContext, WatchTarget
from circuitbot.providers.equinix.client import EquinixClient
from circuitbot.providers.equinix.errors import EquinixError, NotFound, WriteUnconfirmed
from circuitbot.providers.equinix.views import ConnectionView
from circuitbot.providers.kit.errors import ProviderErrors

PROVIDER = "equinix"

EQUINIX_ERRORS = ProviderErrors(
    label="Equinix",
    show_command="eqx show",
    write_unconfirmed=(WriteUnconfirmed,),
    not_found=(NotFound,),
    provider_error=(EquinixError,),
    not_found_hints={
        "EQ-3045811": "`eqx connections` lists your connections.",
        "ConnectionNotFound": "`eqx connections` lists your connections.",
        "PortNotFound": "`eqx ports` lists your ports.",
    },
)

# A connection in one of these is still changing: Equinix refuses another change (EQ-3142510).
BUSY = ("provisioning", "deprovisioning", "reprovisioning", "pending_delete", "pending delete")
GONE = ("deprovisioned", "deleted", "cancelled")


def client_of(ctx: OpContext) -> EquinixClient:
    client: EquinixClient = ctx.provider(PROVIDER)
    return client


def equinix_errors(key: str | None = None) -> AbstractAsyncContextManager[None]:
    """Provider failures as OperationErrors carrying Equinix's code and message."""
    return EQUINIX_ERRORS.reported(key)


async def read_connection(ctx: OpContext, uuid: str) -> ConnectionView:
    async with equinix_errors(uuid):
        return await client_of(ctx).connection(uuid)


def is_busy(c: ConnectionView) -> bool:
    return any((value or "").lower() in BUSY for value in c.states.values())


def is_gone(c: ConnectionView) -> bool:
    return (c.status or "").lower() in GONE


def follow_connection(params: Any, result: Any) -> WatchTarget | None:
    uuid = getattr(params, "uuid", None) or getattr(result, "primary", None)
    return WatchTarget(PROVIDER, uuid) if uuid else None
