"""The Console Connect leg of a circuit: the company's Azure connection for the service key.

An Azure order is one GROUP_LAYER2 connection whose ``partner.serviceKey`` is the key, with a
LAYER2 sub-connection per path. ``partner.peering`` is Azure's provisioning state as Console
Connect last heard it, which is worth comparing with what Azure itself says. The API has no
search by key, so the company's connections are listed (a deleted one is left out); a path's
port is named from the company's ports, read only when the key is found. A connection carries
no VLAN of its own: each peering config has one (``cc peering-show``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from circuitbot.providers.consoleconnect import models as m
from circuitbot.providers.consoleconnect.client import ConsoleConnectClient
from circuitbot.providers.legs import Leg, Role, carrier_standing

PARTNER_STATE = "partnerPeering"  # the poller's name for partner.peering, kept the same here


async def legs_for_key(client: ConsoleConnectClient, service_key: str) -> Sequence[Leg]:
    found = await client.find_by_service_key(service_key)
    if found is None:
        return []
    return [leg_of(found, {port.id: port for port in await client.list_ports()})]


def leg_of(connection: m.Connection, ports: Mapping[str, m.Port] | None = None) -> Leg:
    states = {"status": connection.status or "", PARTNER_STATE: connection.partner_status or ""}
    facts = [(f"path {sub.name or sub.id}", _path(sub, ports or {})) for sub in connection.subconnections]
    if connection.src_region_id:
        facts.insert(0, ("region", connection.src_region_id))
    if connection.error_reason:
        facts.append(("error", connection.error_reason))
    return Leg(
        provider="consoleconnect",
        role=Role.CARRIER,
        resource_id=connection.id,
        name=connection.name or connection.id,
        standing=carrier_standing(connection.status),
        states={k: v for k, v in states.items() if v},
        bandwidth_mbps=connection.speed_mbps,
        location=connection.src_region_id or _facility(connection, ports or {}),
        facts=tuple(facts),
        azure_state_reported=connection.partner_status,
    )


def _path(sub: m.Connection, ports: Mapping[str, m.Port]) -> str:
    """A path's status and its port: the port's name and facility where the company has it."""
    port = ports.get(sub.src_port_id or "")
    if port is not None:
        facility = _facility_of(port)
        return (
            f"{sub.status or '?'} · port {port.port_name or port.id}{f' at {facility}' if facility else ''}"
        )
    return f"{sub.status or '?'}{f' · port {sub.src_port_id}' if sub.src_port_id else ''}"


def _facility_of(port: m.Port) -> str | None:
    name = (port.data_center_facility or {}).get("name")
    return name if isinstance(name, str) and name else None


def _facility(connection: m.Connection, ports: Mapping[str, m.Port]) -> str | None:
    """Where the connection starts: the data center of its first path's port."""
    for sub in connection.subconnections:
        port = ports.get(sub.src_port_id or "")
        if port is not None and _facility_of(port):
            return _facility_of(port)
    return None
