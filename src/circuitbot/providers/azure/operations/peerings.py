"""A circuit's BGP peerings: listing them (``peerings``), creating or updating one
(``peering``) and deleting one (``peering-delete``).

An update or delete writes on condition of the peering's etag as the preview read it; a create
is sent with ``If-None-Match: *``, so a peering made by someone else meanwhile is not
overwritten. The BGP shared key is never shown: previews say only that one is set.
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
from circuitbot.chat.reply import Reply
from circuitbot.providers.azure import models as m
from circuitbot.providers.azure import render
from circuitbot.providers.azure.client import Fetched
from circuitbot.providers.azure.errors import NotFound, PreconditionFailed
from circuitbot.providers.azure.operations.common import (
    PROVIDER,
    azure_errors,
    client_of,
    follow_circuit,
    landed,
    read_cross_connection,
    refuse_while_busy,
)
from circuitbot.providers.azure.operations.params import PeeringDeleteParams, PeeringParams, PeeringsParams
from circuitbot.providers.kit.preconditions import ETAG, absent, approved_etag, expects_absent


async def read_peering(
    ctx: OpContext, key: str, name: str
) -> Fetched[m.ExpressRouteCrossConnectionPeering] | None:
    """The peering as read, or None when the circuit has none of that name."""
    async with azure_errors(key):
        try:
            return await client_of(ctx).get_peering(key, name)
        except NotFound as exc:
            if exc.code == "CrossConnectionNotFound":
                raise
            return None


async def peerings_execute(
    ctx: OpContext, params: PeeringsParams
) -> list[m.ExpressRouteCrossConnectionPeering]:
    async with azure_errors(params.key):
        return await client_of(ctx).list_peerings(params.key)


def peerings_render(
    result: list[m.ExpressRouteCrossConnectionPeering], params: PeeringsParams, ctx: OpContext
) -> Reply:
    return render.peerings(params.key, result)


PEERINGS = Operation(
    provider=PROVIDER,
    verb="peerings",
    summary="a circuit's peerings",
    params=PeeringsParams,
    execute=peerings_execute,
    render=peerings_render,
    slow=True,
    examples=("/circuit az peerings aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e",),
)


def _peering_changes(
    existing: m.ExpressRouteCrossConnectionPeering | None, params: PeeringParams
) -> list[tuple[str, Any, Any]]:
    old = render.peering_properties(existing) if existing is not None else None
    old_config = old.microsoft_peering_config if old is not None else None
    if params.ipv6:
        ipv6 = old.ipv6_peering_config if old is not None else None
        old_primary = ipv6.primary_peer_address_prefix if ipv6 else None
        old_secondary = ipv6.secondary_peer_address_prefix if ipv6 else None
    else:
        old_primary = old.primary_peer_address_prefix if old else None
        old_secondary = old.secondary_peer_address_prefix if old else None
    family = "IPv6 " if params.ipv6 else ""
    rows: list[tuple[str, Any, Any]] = [
        ("peer ASN", old.peer_asn if old else None, params.peer_asn),
        ("VLAN", old.vlan_id if old else None, params.vlan_id),
        (f"{family}primary prefix", old_primary, params.primary_prefix),
        (f"{family}secondary prefix", old_secondary, params.secondary_prefix),
    ]
    if params.shared_key is not None:
        # never the key itself: only that one is set (the approvals engine masks it too)
        rows.append(("shared key", "••••" if old is not None and old.shared_key else None, "•••• (new)"))
    if params.peering_type == "microsoft":
        rows.extend(
            [
                (
                    "advertised prefixes",
                    ", ".join(old_config.advertised_public_prefixes or []) if old_config else None,
                    ", ".join(params.advertised_prefixes or []),
                ),
                ("customer ASN", old_config.customer_asn if old_config else None, params.customer_asn),
                (
                    "routing registry",
                    old_config.routing_registry_name if old_config else None,
                    params.routing_registry,
                ),
            ]
        )
    return [
        (what, before, after)
        for what, before, after in rows
        if what == "shared key"
        or (after is not None and (None if before is None else str(before)) != str(after))
    ]


async def peering_preview(ctx: OpContext, params: PeeringParams) -> Preview:
    current = await read_cross_connection(ctx, params.key)
    properties = render.cc_properties(current.model)
    state = properties.service_provider_provisioning_state
    if state != m.ServiceProviderProvisioningState.PROVISIONED:
        raise Refused(
            f"{params.key} is {state}: peerings can be configured once it is Provisioned "
            f"(`az provision {params.key}`)"
        )
    existing = next(
        (p for p in properties.peerings or [] if (p.name or "").lower() == params.name.lower()), None
    )
    for other in properties.peerings or []:
        if other is not existing and render.peering_properties(other).vlan_id == params.vlan_id:
            raise Refused(f"VLAN {params.vlan_id} is already used by {other.name} of {params.key}")
    if existing is not None:
        refuse_while_busy(f"{params.name} of {params.key}", existing)
    if existing is None and params.ipv6:
        raise Refused(
            f"{params.name} of {params.key} does not exist yet: create it with IPv4 /30 prefixes, "
            "then add the IPv6 /126 prefixes"
        )
    changes = _peering_changes(existing, params)
    verb = "update" if existing is not None else "create"
    notes = []
    if existing is not None:
        notes.append(f"Now: {render.peering_summary(existing)}")
    else:
        notes.append("The peering starts Disabled and becomes Enabled once Azure has configured it.")
    return Preview(
        summary=f"{verb} {params.name} of {params.key} (VLAN {params.vlan_id}, peer ASN {params.peer_asn})",
        changes=changes,
        precondition={ETAG: existing.etag} if existing is not None else absent(),
        notes=notes,
    )


async def peering_execute(ctx: OpContext, params: PeeringParams) -> m.ExpressRouteCrossConnectionPeering:
    client = client_of(ctx)
    if expects_absent(ctx.precondition):
        # create only: checked against a fresh read and sent as If-None-Match, so a peering made
        # meanwhile is not overwritten
        async with azure_errors(params.key):
            try:
                done = await client.put_peering(
                    params.key, params.name, params.properties(), if_none_match="*"
                )
            except PreconditionFailed:
                raise OperationError(
                    f"{params.name} of {params.key} was created by someone else since the request was "
                    "reviewed; request it again to review the current state"
                ) from None
        return done.model
    etag = approved_etag(ctx)
    async with azure_errors(params.key):
        done = await client.put_peering(params.key, params.name, params.properties(), if_match=etag)
    return done.model


def peering_render(
    result: m.ExpressRouteCrossConnectionPeering, params: PeeringParams, ctx: OpContext
) -> Reply:
    return render.peering_done(params.key, result)


async def peering_verify(ctx: OpContext, params: PeeringParams, precondition: dict[str, Any]) -> Verified:
    found = await read_peering(ctx, params.key, params.name)
    if found is None:
        return Verified.NOT_LANDED
    now = render.peering_properties(found.model)
    if params.ipv6:
        ipv6 = now.ipv6_peering_config
        prefixes = (
            (ipv6.primary_peer_address_prefix, ipv6.secondary_peer_address_prefix) if ipv6 else (None, None)
        )
    else:
        prefixes = (now.primary_peer_address_prefix, now.secondary_peer_address_prefix)
    return landed(
        {"peer_asn": now.peer_asn, "vlan_id": now.vlan_id, "prefixes": prefixes},
        {
            "peer_asn": params.peer_asn,
            "vlan_id": params.vlan_id,
            "prefixes": (params.primary_prefix, params.secondary_prefix),
        },
        now.provisioning_state,
    )


PEERING = Operation(
    provider=PROVIDER,
    verb="peering",
    summary="create or update a circuit's private or Microsoft peering",
    params=PeeringParams,
    execute=peering_execute,
    render=peering_render,
    mutating=True,
    preview=peering_preview,
    verify=peering_verify,
    follow=follow_circuit,
    help="Opens a form for what is missing. The shared key is kept encrypted and never shown.",
    examples=(
        "/circuit az peering aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e private",
        "/circuit az peering aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e private peer-asn=65010 vlan-id=210 "
        "primary-prefix=10.10.0.0/30 secondary-prefix=10.10.0.4/30",
    ),
)


async def peering_delete_preview(ctx: OpContext, params: PeeringDeleteParams) -> Preview:
    found = await read_peering(ctx, params.key, params.peering)
    if found is None:
        raise Refused(f"{params.key} has no {params.peering}; `az peerings {params.key}` lists its peerings")
    refuse_while_busy(f"{params.peering} of {params.key}", found.model)
    return Preview(
        summary=f"delete {params.peering} of {params.key}",
        changes=[(params.peering, render.peering_summary(found.model), None)],
        precondition={ETAG: found.etag},
        notes=["BGP sessions on this peering go down: the customer loses these routes."],
    )


async def peering_delete_execute(ctx: OpContext, params: PeeringDeleteParams) -> Reply:
    etag = approved_etag(ctx)
    async with azure_errors(params.key):
        await client_of(ctx).delete_peering(params.key, params.peering, if_match=etag)
    return Reply.plain(f":wastebasket: {params.peering} of {params.key} deleted.")


async def peering_delete_verify(
    ctx: OpContext, params: PeeringDeleteParams, precondition: dict[str, Any]
) -> Verified:
    found = await read_peering(ctx, params.key, params.peering)
    if found is None:
        return Verified.LANDED
    # still there: in flight while Deleting, else the delete did not land
    return landed({"gone": False}, {"gone": True}, render.peering_properties(found.model).provisioning_state)


PEERING_DELETE = Operation(
    provider=PROVIDER,
    verb="peering-delete",
    summary="delete a circuit's peering",
    params=PeeringDeleteParams,
    execute=peering_delete_execute,
    mutating=True,
    preview=peering_delete_preview,
    verify=peering_delete_verify,
    follow=follow_circuit,
    help='A good candidate for two approvals: approvals_required = {"azure.peering-delete" = 2}.',
    examples=("/circuit az peering-delete aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e private",),
)


def register(registry: Registry) -> None:
    for operation in (PEERING, PEERING_DELETE, PEERINGS):
        registry.add(operation)
