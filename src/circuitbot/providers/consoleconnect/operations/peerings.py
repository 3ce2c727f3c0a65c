"""A connection's Azure peering configs: setting one (``peering``) and deleting one
(``peering-delete``), through approval.

A peering is refused before the connection is ACTIVE (the API refuses it too, seed 002), and
while the config of that type is still PENDING or SYNCING from an earlier change. The preview
records the config it read (or that there was none); execution reads it again and writes
nothing if it changed. Console Connect then syncs the config with Azure, PENDING → SYNCING →
SYNCED, which the watch that follows the change announces. The BGP shared key is never shown.
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
from circuitbot.providers.consoleconnect import models as m
from circuitbot.providers.consoleconnect.operations.common import (
    SYNC_BUSY,
    cc_errors,
    client_of,
    fingerprint,
    follow_connection,
    read_connection,
    read_peering,
)
from circuitbot.providers.consoleconnect.operations.params import PeeringParams, PeeringRefParams
from circuitbot.providers.consoleconnect.operations.reads import EXAMPLE_ID
from circuitbot.providers.kit import preconditions
from circuitbot.providers.kit.preconditions import absent, expects_absent, require_unchanged
from circuitbot.providers.kit.render import code, escaped

CONFIG = "config"


def _changes(old: m.PeeringConfig | None, params: PeeringParams) -> list[tuple[str, Any, Any]]:
    rows: list[tuple[str, Any, Any]] = [
        ("peer ASN", old.peer_asn if old else None, params.peer_asn),
        ("VLAN", old.vlan_id if old else None, params.vlan_id),
        ("primary subnet", old.primary_peer_address_prefix if old else None, params.primary_prefix),
        ("secondary subnet", old.secondary_peer_address_prefix if old else None, params.secondary_prefix),
    ]
    if params.peering_type == m.PeeringType.MICROSOFT:
        before = ", ".join(old.advertised_public_prefixes or []) if old else None
        rows.append(("advertised prefixes", before or None, ", ".join(params.advertised_prefixes or [])))
        rows.append(("routing registry", old.routing_registry_name if old else None, params.routing_registry))
    changed = [(w, b, a) for w, b, a in rows if (None if b is None else str(b)) != str(a)]
    if params.shared_key is not None:  # never the key itself, only that one is set
        changed.append(("shared key", "••••" if old is not None and old.shared_key else None, "•••• (new)"))
    return changed


async def peering_preview(ctx: OpContext, params: PeeringParams) -> Preview:
    connection = await read_connection(ctx, params.connection_id)
    if not connection.is_active():
        raise Refused(
            f"{bk.code(params.connection_id)} is {connection.status}: Console Connect takes peering configs "
            "only once the connection is ACTIVE (`cc show` tells when)"
        )
    existing = await read_peering(ctx, params.connection_id, params.peering_type)
    what = f"the {params.peering_type} peering of {params.connection_id}"
    if existing is not None:
        preconditions.refuse_while_busy(what, existing.sync_status, SYNC_BUSY)
    for kind in m.PeeringType:
        if kind != params.peering_type:
            other = await read_peering(ctx, params.connection_id, kind.value)
            if other is not None and other.vlan_id == params.vlan_id:
                raise Refused(f"VLAN {params.vlan_id} is already used by the {kind} peering")
    changes = _changes(existing, params)
    if existing is not None and not changes:
        raise Refused(f"{what} already has these values")
    return Preview(
        summary=(
            f"{'update' if existing else 'configure'} {what} "
            f"(VLAN {params.vlan_id}, peer ASN {params.peer_asn})"
        ),
        changes=changes,
        precondition={CONFIG: fingerprint(existing)} if existing is not None else absent(),
        notes=["Console Connect syncs it with Azure: PENDING → SYNCING → SYNCED."],
    )


async def peering_execute(ctx: OpContext, params: PeeringParams) -> m.PeeringConfig | None:
    now = await read_peering(ctx, params.connection_id, params.peering_type)
    what = f"the {params.peering_type} peering of {params.connection_id}"
    if expects_absent(ctx.precondition):
        if now is not None:
            raise OperationError(f"{what} was configured by someone else since the request was reviewed")
    else:
        require_unchanged(what, {CONFIG: (ctx.precondition or {}).get(CONFIG)}, {CONFIG: fingerprint(now)})
    async with cc_errors(params.connection_id):
        return await client_of(ctx).update_peering(
            params.connection_id, params.peering_type, params.request()
        )


def peering_render(result: m.PeeringConfig | None, params: PeeringParams, ctx: OpContext) -> Reply:
    state = escaped(result.sync_status) if result is not None else "sent"
    return Reply.plain(
        f":white_check_mark: The {params.peering_type} peering of {code(params.connection_id)} is set: "
        f"{state}. It is SYNCED once active in Azure."
    )


async def peering_verify(ctx: OpContext, params: PeeringParams, precondition: dict[str, Any]) -> Verified:
    found = await read_peering(ctx, params.connection_id, params.peering_type)
    if found is None:
        return Verified.NOT_LANDED
    wanted = fingerprint(m.PeeringConfig.model_validate(params.request().model_dump(by_alias=True)))
    now = {k: v for k, v in fingerprint(found).items() if k in wanted}
    return preconditions.landed(now, wanted)


PEERING = Operation(
    provider="consoleconnect",
    verb="peering",
    summary="configure a connection's PUBLIC, PRIVATE or MICROSOFT peering",
    params=PeeringParams,
    execute=peering_execute,
    render=peering_render,
    mutating=True,
    preview=peering_preview,
    verify=peering_verify,
    follow=follow_connection,
    help=(
        "Opens a form for what is missing. Refused before the connection is ACTIVE. MICROSOFT "
        "also takes the public prefixes you advertise and their routing registry. The shared "
        "key is kept encrypted and never shown."
    ),
    examples=(
        f"/circuit cc peering {EXAMPLE_ID} PRIVATE",
        f"/circuit cc peering {EXAMPLE_ID} PRIVATE peer-asn=65010 vlan-id=210 "
        "primary-prefix=10.10.0.0/30 secondary-prefix=10.10.0.4/30",
    ),
)


async def peering_delete_preview(ctx: OpContext, params: PeeringRefParams) -> Preview:
    found = await read_peering(ctx, params.connection_id, params.peering_type)
    if found is None:
        raise Refused(f"{bk.code(params.connection_id)} has no {params.peering_type} peering config")
    return Preview(
        summary=f"delete the {params.peering_type} peering of {params.connection_id}",
        changes=[(params.peering_type, f"VLAN {found.vlan_id}, peer ASN {found.peer_asn}", None)],
        precondition={CONFIG: fingerprint(found)},
        notes=["BGP on this peering goes down: the routes it carries are lost."],
    )


async def peering_delete_execute(ctx: OpContext, params: PeeringRefParams) -> Reply:
    now = await read_peering(ctx, params.connection_id, params.peering_type)
    what = f"the {params.peering_type} peering of {params.connection_id}"
    if now is None:
        raise OperationError(f"{what} is already gone")
    require_unchanged(what, {CONFIG: (ctx.precondition or {}).get(CONFIG)}, {CONFIG: fingerprint(now)})
    async with cc_errors(params.connection_id):
        await client_of(ctx).delete_peering(params.connection_id, params.peering_type)
    return Reply.plain(
        f":wastebasket: The {params.peering_type} peering of {code(params.connection_id)} is deleted."
    )


async def peering_delete_verify(
    ctx: OpContext, params: PeeringRefParams, precondition: dict[str, Any]
) -> Verified:
    found = await read_peering(ctx, params.connection_id, params.peering_type)
    return Verified.LANDED if found is None else Verified.NOT_LANDED


PEERING_DELETE = Operation(
    provider="consoleconnect",
    verb="peering-delete",
    summary="delete a connection's peering config",
    params=PeeringRefParams,
    execute=peering_delete_execute,
    mutating=True,
    preview=peering_delete_preview,
    verify=peering_delete_verify,
    follow=follow_connection,
    examples=(f"/circuit cc peering-delete {EXAMPLE_ID} MICROSOFT",),
)


def register(registry: Registry) -> None:
    for operation in (PEERING, PEERING_DELETE):
        registry.add(operation)
