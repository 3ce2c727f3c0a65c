"""The ``create`` form: its choices, its preview and the order it becomes.

The preview checks everything Equinix would refuse, before anyone approves: the service key
is validated against the profile first; the speed must be one of the profile's bands and the
metro one of its metros; a profile that requires redundancy (Azure's) needs a secondary port
and VLAN; each port must exist and allow orders, and its VLAN be free on it; and no live
connection may already carry the name with that key (an order is not repeated).
"""

from __future__ import annotations

from typing import Any

from circuitbot.actions.registry import OpContext, Preview, Refused
from circuitbot.providers.equinix.operations.common import client_of, equinix_errors, is_gone
from circuitbot.providers.equinix.operations.params import CreateParams
from circuitbot.providers.equinix.render import mbps
from circuitbot.providers.equinix.views import ConnectionFilter, Leg, Order, PortView
from circuitbot.providers.kit.preconditions import absent
from circuitbot.providers.kit.render import escaped


async def create_choices(ctx: OpContext, data: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Ports you may order on, the profiles and the metros, to pick from."""
    async with equinix_errors():
        client = client_of(ctx)
        ports = [p for p in await client.ports() if p.can_order is not False]
        profiles = await client.profiles()
        metros = await client.metros()
    port_options = [
        (f"{p.name} · {p.metro} · {p.priority or ''} · {p.encapsulation or ''}", p.uuid)
        for p in sorted(ports, key=lambda p: (p.metro or "", p.name or ""))
    ]
    return {
        "port": port_options,
        "secondary_port": port_options,
        "profile": [(f"{p.name} · {p.organization or ''}", p.uuid) for p in profiles],
        "metro": [(f"{m.code} · {m.name}", m.code) for m in sorted(metros, key=lambda m: m.code)],
    }


async def _port(ctx: OpContext, uuid: str, what: str) -> PortView:
    async with equinix_errors(uuid):
        ports = {p.uuid.lower(): p for p in await client_of(ctx).ports()}
    port = ports.get(uuid)
    if port is None:
        raise Refused(f"the {what} port {uuid} is not one of your ports (`eqx ports`)")
    if port.can_order is False:
        raise Refused(f"you may not order connections on port {escaped(port.name)}")
    return port


async def create_preview(ctx: OpContext, params: CreateParams) -> Preview:
    client = client_of(ctx)
    async with equinix_errors():
        validation = await client.validate(params.key, params.metro, params.profile)
    if not validation.valid:
        raise Refused(f"Equinix says the key is not valid for this profile: {escaped(validation.message)}")
    async with equinix_errors(params.profile):
        profile = await client.profile(params.profile)
    if profile.speeds_mbps and params.speed not in profile.speeds_mbps and not profile.custom_speed:
        bands = ", ".join(mbps(s) for s in profile.speeds_mbps)
        raise Refused(f"{escaped(profile.name)} sells {bands}; {mbps(params.speed)} is not one of them")
    if profile.metros and params.metro not in profile.metros:
        where = ", ".join(escaped(m) for m in profile.metros)
        raise Refused(f"{escaped(profile.name)} is not in metro {params.metro}; it is in {where}")
    if profile.redundancy_required and params.secondary_port is None:
        raise Refused(f"{escaped(profile.name)} requires a redundant pair: give a secondary port and VLAN")
    primary = await _port(ctx, params.port, "primary")
    secondary = await _port(ctx, params.secondary_port, "secondary") if params.secondary_port else None
    async with equinix_errors():
        existing = [
            c for c in await client.connections(ConnectionFilter(key=params.key.lower())) if not is_gone(c)
        ]
    if any(c.name in (params.name, f"{params.name}-SEC") for c in existing):
        raise Refused(f"a connection named {params.name} with this key exists already")
    for port, vlan in ((primary, params.vlan), (secondary, params.secondary_vlan)):
        if port is not None and vlan is not None:
            await _vlan_free(ctx, port, vlan)
    changes: list[tuple[str, Any, Any]] = [
        ("primary", None, f"{params.name} on {primary.name}, VLAN {params.vlan}"),
        ("speed", None, mbps(params.speed)),
        ("profile", None, f"{profile.name} in {params.metro} ({params.peering})"),
        ("service key", None, params.key),
    ]
    if secondary is not None:
        changes.insert(
            1, ("secondary", None, f"{params.name}-SEC on {secondary.name}, VLAN {params.secondary_vlan}")
        )
    notes = [f"Key check: {validation.message}", *validation.bandwidths]
    if existing:
        notes.append(f"{len(existing)} live connection(s) already use this key.")
    return Preview(
        summary=f"order Equinix connection {params.name}", changes=changes, precondition=absent(), notes=notes
    )


async def _vlan_free(ctx: OpContext, port: PortView, vlan: int) -> None:
    async with equinix_errors():
        used = [
            c for c in await client_of(ctx).connections(ConnectionFilter(port=port.uuid)) if not is_gone(c)
        ]
    if any(c.vlan == vlan for c in used):
        raise Refused(f"VLAN {vlan} is already used on port {escaped(port.name)}")


async def order_of(ctx: OpContext, params: CreateParams) -> Order:
    """The order for Equinix, with each port's encapsulation (a QinQ port tags with vlanSTag)."""
    ports = {p.uuid.lower(): p for p in await client_of(ctx).ports()}

    def leg(uuid: str, vlan: int, name: str) -> Leg:
        port = ports.get(uuid)
        return Leg(uuid, vlan, name, (port.encapsulation if port else None) or "DOT1Q")

    secondary = None
    if params.secondary_port and params.secondary_vlan is not None:
        secondary = leg(params.secondary_port, params.secondary_vlan, f"{params.name}-SEC")
    return Order(
        profile_uuid=params.profile,
        metro=params.metro,
        speed_mbps=params.speed,
        authorization_key=params.key,
        peering=params.peering,
        notifications=tuple(params.notifications),
        primary=leg(params.port, params.vlan, params.name),
        secondary=secondary,
        purchase_order=params.purchase_order,
    )
