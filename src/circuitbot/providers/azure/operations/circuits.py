"""Port pairs and circuits: reading them (``ports``, ``port``, ``list``, ``show``) and the
changes of a circuit's own fields (``provision``, ``deprovision``, ``notes``).

A change writes on condition of the etag its preview read (compared with a fresh read before
writing, as ARM may not enforce ``If-Match``, and sent as ``If-Match``), so a circuit that
changed in between is refused rather than overwritten; it is then followed by a watch.
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
from circuitbot.providers.azure import models as m
from circuitbot.providers.azure import render
from circuitbot.providers.azure.operations.common import (
    PROVIDER,
    Changed,
    azure_errors,
    changed_render,
    client_of,
    follow_circuit,
    landed,
    read_cross_connection,
    refuse_while_busy,
    region,
)
from circuitbot.providers.azure.operations.params import (
    KeyParams,
    ListParams,
    NotesParams,
    PortParams,
    PortsParams,
)
from circuitbot.providers.kit.preconditions import ETAG, approved_etag

# --- port pairs -------------------------------------------------------------------------------


async def ports_execute(ctx: OpContext, params: PortsParams) -> list[m.ExpressRouteProviderPort]:
    async with azure_errors():
        return await client_of(ctx).list_provider_ports(params.location)


def ports_render(result: list[m.ExpressRouteProviderPort], params: PortsParams, ctx: OpContext) -> Reply:
    return render.port_pairs(
        result, location=params.location, page=params.page, command_text=ctx.command_text
    )


PORTS = Operation(
    provider=PROVIDER,
    verb="ports",
    summary="port pairs with their used and free bandwidth",
    params=PortsParams,
    execute=ports_execute,
    render=ports_render,
    slow=True,
    aliases=("port-pairs",),
    examples=("/circuit az ports", "/circuit az ports SiliconValley"),
)


async def port_execute(ctx: OpContext, params: PortParams) -> m.ExpressRouteProviderPort:
    async with azure_errors():
        pair = await client_of(ctx).get_provider_port(params.descriptor)
    if pair is None:
        raise OperationError(f"no port pair {bk.code(params.descriptor)}; `az ports` lists them")
    return pair


def port_render(result: m.ExpressRouteProviderPort, params: PortParams, ctx: OpContext) -> Reply:
    return render.port_pair(result)


PORT = Operation(
    provider=PROVIDER,
    verb="port",
    summary="one port pair",
    params=PortParams,
    execute=port_execute,
    render=port_render,
    slow=True,
    examples=("/circuit az port bvtazureixpportpair1",),
)

# --- cross-connections ------------------------------------------------------------------------


async def list_execute(ctx: OpContext, params: ListParams) -> list[m.ExpressRouteCrossConnection]:
    async with azure_errors():
        items = await client_of(ctx).list_cross_connections()
    if params.location:
        items = [
            c for c in items if region(render.cc_properties(c).peering_location) == region(params.location)
        ]
    if params.state:
        wanted = params.state.lower()
        items = [
            c
            for c in items
            if wanted
            in (
                (render.cc_properties(c).service_provider_provisioning_state or "").lower(),
                (render.cc_properties(c).provisioning_state or "").lower(),
            )
        ]
    return sorted(items, key=lambda c: (region(render.cc_properties(c).peering_location), c.name or ""))


def list_render(result: list[m.ExpressRouteCrossConnection], params: ListParams, ctx: OpContext) -> Reply:
    filters = "".join(
        [
            f" at {params.location}" if params.location else "",
            f" in state {params.state}" if params.state else "",
        ]
    )
    return render.cross_connections(result, filters=filters, page=params.page, command_text=ctx.command_text)


LIST = Operation(
    provider=PROVIDER,
    verb="list",
    summary="cross-connections (circuits), by location or state",
    params=ListParams,
    execute=list_execute,
    render=list_render,
    slow=True,
    aliases=("ls",),
    examples=("/circuit az list", "/circuit az list SiliconValley state=NotProvisioned"),
)


async def show_execute(ctx: OpContext, params: KeyParams) -> m.ExpressRouteCrossConnection:
    return (await read_cross_connection(ctx, params.key)).model


def show_render(result: m.ExpressRouteCrossConnection, params: KeyParams, ctx: OpContext) -> Reply:
    return render.cross_connection(result)


SHOW = Operation(
    provider=PROVIDER,
    verb="show",
    summary="one circuit: ports, sTag, bandwidth, states, peerings",
    params=KeyParams,
    execute=show_execute,
    render=show_render,
    slow=True,
    aliases=("get",),
    examples=("/circuit az show 24e6ea2b-6940-4bec-b0b3-3a9e5471e512",),
)

# --- provisioning state -----------------------------------------------------------------------


def state_operation(verb: str, state: m.ServiceProviderProvisioningState, help_text: str) -> Operation:
    """The operation setting serviceProviderProvisioningState to ``state``."""

    async def preview(ctx: OpContext, params: KeyParams) -> Preview:
        current = await read_cross_connection(ctx, params.key)
        now = render.cc_properties(current.model).service_provider_provisioning_state
        if (now or "").lower() == state.lower():
            raise Refused(f"{params.key} is already {state}")
        refuse_while_busy(params.key, current.model)
        if state is m.ServiceProviderProvisioningState.PROVISIONED:
            note = "Tells the customer layer 2 is up: they can then configure peerings and connections."
        else:
            note = "Tells Azure the circuit no longer has layer-2 connectivity at the partner."
        return Preview(
            summary=f"set {params.key} to {state}",
            changes=[("serviceProviderProvisioningState", now, state.value)],
            precondition={ETAG: current.etag},
            notes=[note],
        )

    async def execute(ctx: OpContext, params: KeyParams) -> Changed:
        etag = approved_etag(ctx)
        async with azure_errors(params.key):
            client = client_of(ctx)
            before = await client.get_cross_connection(params.key)
            after = await client.set_provisioning_state(before, state.value, if_match=etag)
        return Changed(f"{params.key} is now {state}.", before.model, after.model)

    async def verify(ctx: OpContext, params: KeyParams, precondition: dict[str, Any]) -> Verified:
        current = render.cc_properties((await read_cross_connection(ctx, params.key)).model)
        now = {"state": current.service_provider_provisioning_state or ""}
        return landed(now, {"state": state.value}, current.provisioning_state)

    return Operation(
        provider=PROVIDER,
        verb=verb,
        summary=f"set the provider state to {state}",
        params=KeyParams,
        execute=execute,
        render=changed_render,
        mutating=True,
        preview=preview,
        verify=verify,
        follow=follow_circuit,
        help=help_text,
        examples=(f"/circuit az {verb} bbbb1b1b-cc2c-dd3d-ee4e-ffffff5f5f5f",),
    )


PROVISION = state_operation(
    "provision",
    m.ServiceProviderProvisioningState.PROVISIONED,
    "Set serviceProviderProvisioningState once layer 2 is up at your side.",
)
DEPROVISION = state_operation(
    "deprovision",
    m.ServiceProviderProvisioningState.NOT_PROVISIONED,
    "Set serviceProviderProvisioningState back to NotProvisioned.",
)

# --- notes ------------------------------------------------------------------------------------


async def notes_preview(ctx: OpContext, params: NotesParams) -> Preview:
    current = await read_cross_connection(ctx, params.key)
    now = render.cc_properties(current.model).service_provider_notes
    if (now or "") == params.text:
        raise Refused(f"the notes of {params.key} already say that")
    refuse_while_busy(params.key, current.model)
    return Preview(
        summary=f"set the notes of {params.key}",
        changes=[("serviceProviderNotes", now, params.text)],
        precondition={ETAG: current.etag},
    )


async def notes_execute(ctx: OpContext, params: NotesParams) -> Changed:
    etag = approved_etag(ctx)
    async with azure_errors(params.key):
        client = client_of(ctx)
        before = await client.get_cross_connection(params.key)
        after = await client.set_notes(before, params.text, if_match=etag)
    return Changed(f"The notes of {params.key} are updated.", before.model, after.model)


async def notes_verify(ctx: OpContext, params: NotesParams, precondition: dict[str, Any]) -> Verified:
    current = render.cc_properties((await read_cross_connection(ctx, params.key)).model)
    return landed(
        {"notes": current.service_provider_notes}, {"notes": params.text}, current.provisioning_state
    )


NOTES = Operation(
    provider=PROVIDER,
    verb="notes",
    summary="set the provider's notes on a circuit",
    params=NotesParams,
    execute=notes_execute,
    render=changed_render,
    mutating=True,
    preview=notes_preview,
    verify=notes_verify,
    follow=follow_circuit,
    examples=("/circuit az notes 24e6ea2b-6940-4bec-b0b3-3a9e5471e512 cross-connect SV1 rack 12",),
)


def register(registry: Registry) -> None:
    for operation in (PORTS, PORT, LIST, SHOW, PROVISION, DEPROVISION, NOTES):
        registry.add(operation)
