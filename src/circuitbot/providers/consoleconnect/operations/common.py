"""What every Console Connect operation module shares: the client, the provider's failures as
OperationErrors, reads that answer None for what is absent, and the watch a change is followed by."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from circuitbot.actions.registry import OpContext, WatchTarget
from circuitbot.providers.consoleconnect import models as m
from circuitbot.providers.consoleconnect.client import ConsoleConnectClient
from circuitbot.providers.consoleconnect.errors import (
    ConsoleConnectError,
    NotFound,
    WriteUnconfirmed,
)
from circuitbot.providers.consoleconnect.operations.params import PROVIDER, ConnectionParams
from circuitbot.providers.kit.errors import ProviderErrors

CC_ERRORS = ProviderErrors(
    label="Console Connect",
    show_command="cc show",
    write_unconfirmed=(WriteUnconfirmed,),
    not_found=(NotFound,),
    provider_error=(ConsoleConnectError,),
    not_found_hints={"NotFound": "`cc list` shows the connections."},
)

# A peering config in these sync statuses is still being applied: another change waits for it.
SYNC_BUSY = (m.SyncStatus.PENDING.value, m.SyncStatus.SYNCING.value)


def client_of(ctx: OpContext) -> ConsoleConnectClient:
    return ctx.provider(PROVIDER)


def cc_errors(key: str | None = None) -> AbstractAsyncContextManager[None]:
    """Provider failures as OperationErrors carrying Console Connect's code and message."""
    return CC_ERRORS.reported(key)


async def read_connection(ctx: OpContext, connection_id: str) -> m.Connection:
    async with cc_errors(connection_id):
        return await client_of(ctx).get_connection(connection_id)


async def read_peering(ctx: OpContext, connection_id: str, kind: str) -> m.PeeringConfig | None:
    """The config of that type, or None when the connection has none (its absence is an error)."""
    async with cc_errors(connection_id):
        return await client_of(ctx).get_peering(connection_id, kind)


def fingerprint(config: m.PeeringConfig | None) -> dict[str, Any]:
    """The values of a config a change must find unchanged (never its shared key)."""
    if config is None:
        return {}
    return config.model_dump(
        mode="json", by_alias=True, exclude_none=True, exclude={"shared_key", "sync_status"}
    )


def follow_connection(params: ConnectionParams, result: Any) -> WatchTarget:
    return WatchTarget(PROVIDER, params.connection_id)
