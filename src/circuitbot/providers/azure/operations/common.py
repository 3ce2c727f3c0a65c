"""What every Azure operation module shares: the client, Azure's failures as OperationErrors,
the circuit as read, and the pieces of a change (its precondition, result and watch)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from circuitbot.actions.registry import OpContext, Verified, WatchTarget
from circuitbot.providers.azure import models as m
from circuitbot.providers.azure import render
from circuitbot.providers.azure.client import AzurePartnerClient, Fetched
from circuitbot.providers.azure.errors import (
    AzureCloudError,
    AzureOperationTimeout,
    AzureWriteUnconfirmed,
    NotFound,
    PreconditionFailed,
)
from circuitbot.providers.azure.operations.params import KeyParams
from circuitbot.providers.kit import preconditions
from circuitbot.providers.kit.errors import ProviderErrors

PROVIDER = "azure"

AZURE_ERRORS = ProviderErrors(
    label="Azure",
    show_command="az show",
    precondition_failed=(PreconditionFailed,),
    write_unconfirmed=(AzureWriteUnconfirmed,),
    not_found=(NotFound,),
    provider_error=(AzureCloudError,),
    operation_timeout=(AzureOperationTimeout,),
    not_found_hints={"CrossConnectionNotFound": "`az list` shows the circuits."},
)

# A change of a circuit or peering in these states would be answered 409.
BUSY_STATES = ("updating", "deleting")


def client_of(ctx: OpContext) -> AzurePartnerClient:
    return ctx.provider(PROVIDER)


def azure_errors(key: str | None = None) -> AbstractAsyncContextManager[None]:
    """Provider failures as OperationErrors carrying Azure's code and message."""
    return AZURE_ERRORS.reported(key)


async def read_cross_connection(ctx: OpContext, key: str) -> Fetched[m.ExpressRouteCrossConnection]:
    async with azure_errors(key):
        return await client_of(ctx).get_cross_connection(key)


def region(name: str | None) -> str:
    """Azure compares location names without case or spaces ("EUAP Test" is "euaptest")."""
    return (name or "").replace(" ", "").lower()


def refuse_while_busy(
    what: str, resource: m.ExpressRouteCrossConnection | m.ExpressRouteCrossConnectionPeering
) -> None:
    """Refused while another change of the circuit (or peering) runs: Azure would answer 409."""
    properties = (
        render.cc_properties(resource)
        if isinstance(resource, m.ExpressRouteCrossConnection)
        else render.peering_properties(resource)
    )
    preconditions.refuse_while_busy(what, properties.provisioning_state, BUSY_STATES)


def landed(now: Mapping[str, Any], wanted: Mapping[str, Any], state: str | None) -> Verified:
    """What a fresh read says of a change (``verify``): in flight while its resource is busy."""
    return preconditions.landed(now, wanted, state=state, busy=BUSY_STATES)


def follow_circuit(params: KeyParams, result: Any) -> WatchTarget:
    return WatchTarget(PROVIDER, params.key)


# A cross-connection before and after a change, and its reply.
Changed = preconditions.Changed[m.ExpressRouteCrossConnection]

changed_render = preconditions.changed_render(render.changed)
