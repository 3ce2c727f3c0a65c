"""The Equinix legs of a circuit: the buyer's connections that carry the service key.

On v4 the key is the zSide access point's ``authenticationKey`` and one search finds it; on
v3 it is the connection's ``authorizationKey`` and the buyer listing is filtered by it. A
redundant order is two connections with the same key, PRIMARY and SECONDARY. A deleted one is
still listed for a while, DEPROVISIONED: it is kept, so the card and a watch show how it ended.
"""

from __future__ import annotations

from collections.abc import Sequence

from circuitbot.providers.equinix.client import EquinixClient
from circuitbot.providers.equinix.views import ConnectionFilter, ConnectionView
from circuitbot.providers.legs import Leg, Role, carrier_standing

_SIDES = {"PRIMARY": "primary", "SECONDARY": "secondary"}


async def legs_for_key(client: EquinixClient, service_key: str) -> Sequence[Leg]:
    """The filter compares the key exactly: it is asked as typed and as Azure issues keys (lower
    case), so a key pasted in capitals still finds the connections."""
    wanted = service_key.strip().lower()
    spellings = dict.fromkeys((service_key.strip(), wanted))
    found: dict[str, ConnectionView] = {}
    for spelling in spellings:
        for connection in await client.connections(ConnectionFilter(key=spelling)):
            if (connection.authorization_key or "").strip().lower() == wanted:
                found[connection.uuid] = connection
    return sorted((leg_of(c) for c in found.values()), key=lambda leg: (leg.side or "", leg.name))


def leg_of(connection: ConnectionView) -> Leg:
    facts = [
        ("port", connection.port_name or connection.port_uuid or ""),
        ("VLAN", "" if connection.vlan is None else str(connection.vlan)),
        ("profile", connection.profile or ""),
    ]
    return Leg(
        provider="equinix",
        role=Role.CARRIER,
        resource_id=connection.uuid,
        name=connection.name or connection.uuid,
        standing=carrier_standing(connection.status),
        states=dict(connection.states),
        side=_SIDES.get((connection.redundancy or "").upper()),
        bandwidth_mbps=connection.speed_mbps,
        location=connection.metro,
        facts=tuple((k, v) for k, v in facts if v),
    )
