"""``az move``: moving a circuit to another port pair at its peering location (circuit
placement, seed 000).

The preview decides the target (the named pair, or the recommendation of ``placement``) and
records it in the precondition with the etag, so the approver approves exactly the pair that
is written, even if another pair has more room by the time it runs.
"""

from __future__ import annotations

from typing import Any

from circuitbot.actions.registry import OpContext, Operation, OperationError, Preview, Registry, Verified
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
)
from circuitbot.providers.azure.operations.params import MoveParams, service_key
from circuitbot.providers.azure.operations.placement import (
    Placement,
    chosen,
    elsewhere,
    ports_of,
    recommendation,
    remaining,
)
from circuitbot.providers.kit.preconditions import ETAG, approved_etag


async def read_placement(ctx: OpContext, key: str) -> Placement:
    """The circuit as read and the port pairs listed at its peering location."""
    current = await read_cross_connection(ctx, key)
    async with azure_errors(key):
        listed = await client_of(ctx).list_provider_ports(
            render.cc_properties(current.model).peering_location
        )
    return Placement.of(key, current, listed)


async def move_target(
    ctx: OpContext, place: Placement, descriptor: str | None
) -> tuple[m.ExpressRouteProviderPort, bool]:
    """The pair to move to and whether it was recommended; Refused when it cannot take the circuit."""
    if descriptor is None:
        return recommendation(place), True
    target = chosen(place, descriptor)
    if target is None:
        async with azure_errors(place.key):
            found = await client_of(ctx).get_provider_port(descriptor)
        raise elsewhere(place, descriptor, found)
    return target, False


async def move_preview(ctx: OpContext, params: MoveParams) -> Preview:
    place = await read_placement(ctx, params.key)
    refuse_while_busy(params.key, place.current.model)
    target, recommended = await move_target(ctx, place, params.port_pair)
    (old_primary, old_secondary), (new_primary, new_secondary) = place.ports, ports_of(target)
    current = place.current_pair
    return Preview(
        summary=(
            f"move {params.key} to {target.descriptor}: primary port {old_primary or '—'} → {new_primary}, "
            f"secondary {old_secondary or '—'} → {new_secondary}"
        ),
        changes=[
            ("port pair", current.descriptor if current is not None else None, target.descriptor),
            ("primary port", old_primary or None, new_primary),
            ("secondary port", old_secondary or None, new_secondary),
        ],
        # the target is decided here, so the approver approves exactly the pair that is written
        precondition={
            ETAG: place.current.etag,
            "port_pair": target.descriptor,
            "primary": new_primary,
            "secondary": new_secondary,
        },
        notes=place.notes(target, recommended),
    )


def approved_pair(precondition: dict[str, Any], params: MoveParams) -> m.ExpressRouteProviderPort:
    """The port pair the preview decided on, as the write needs it."""
    descriptor = precondition.get("port_pair") or params.port_pair
    if not descriptor or not precondition.get("primary") or not precondition.get("secondary"):
        raise OperationError("the request does not say which port pair it approved; request it again")
    return m.ExpressRouteProviderPort.model_validate(
        {
            "name": descriptor,
            "properties": {
                "portPairDescriptor": descriptor,
                "primaryAzurePort": precondition["primary"],
                "secondaryAzurePort": precondition["secondary"],
            },
        }
    )


async def move_execute(ctx: OpContext, params: MoveParams) -> Changed:
    etag = approved_etag(ctx)
    pair = approved_pair(ctx.precondition or {}, params)
    async with azure_errors(params.key):
        client = client_of(ctx)
        before = await client.get_cross_connection(params.key)
        after = await client.move_to_port_pair(before, pair, if_match=etag)
    state = render.cc_properties(after.model).provisioning_state
    return Changed(
        f"{params.key} moved to port pair {pair.descriptor} (provisioning {state}).",
        before.model,
        after.model,
    )


async def move_verify(ctx: OpContext, params: MoveParams, precondition: dict[str, Any]) -> Verified:
    current = render.cc_properties((await read_cross_connection(ctx, params.key)).model)
    wanted = (str(precondition.get("primary", "")).lower(), str(precondition.get("secondary", "")).lower())
    now = ((current.primary_azure_port or "").lower(), (current.secondary_azure_port or "").lower())
    return landed({"ports": now}, {"ports": wanted}, current.provisioning_state)


async def move_choices(ctx: OpContext, data: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """The pairs the circuit can move to (all pairs with their location while the key is unknown)."""
    key = data.get("key")
    if key:
        place = await read_placement(ctx, service_key(str(key)))
        pairs = place.eligible()
    else:
        async with azure_errors():
            pairs = sorted(await client_of(ctx).list_provider_ports(), key=lambda p: -remaining(p))
    return {
        "port_pair": [
            (
                f"{p.descriptor} · {render.pair_properties(p).peering_location} · "
                f"{render.mbps(remaining(p))} free",
                p.descriptor or "",
            )
            for p in pairs
        ]
    }


MOVE = Operation(
    provider=PROVIDER,
    verb="move",
    summary="move a circuit to another port pair at its peering location",
    params=MoveParams,
    execute=move_execute,
    render=changed_render,
    mutating=True,
    preview=move_preview,
    verify=move_verify,
    follow=follow_circuit,
    choices=move_choices,
    aliases=("place",),
    help=(
        "Lists the port pairs at the circuit's peering location with their headroom. Without a "
        "port pair it recommends the one with the most bandwidth free; a pair at another "
        "location, the current one, or one without room for the circuit is refused."
    ),
    examples=(
        "/circuit az move 24e6ea2b-6940-4bec-b0b3-3a9e5471e512",
        "/circuit az move 24e6ea2b-6940-4bec-b0b3-3a9e5471e512 bvtazureixpportpair3",
    ),
)


def register(registry: Registry) -> None:
    registry.add(MOVE)
