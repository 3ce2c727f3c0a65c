"""The simulator's one state, and how each generation sees it.

Both generations serve the same ports, profiles and connections; a connection ordered on v4
shows on v3 and the other way round. A connection's states follow from the clock:

* ordered: PROVISIONING (provider NOT_AVAILABLE) for ``operation_seconds``, then PROVISIONED
  (provider AVAILABLE);
* deleted: DEPROVISIONING for ``operation_seconds`` (the provider reports DEPROVISIONED half
  way, before Equinix does, as the live API does), then DEPROVISIONED; it stays listed.

v4 reports ``state``, ``operation.equinixStatus`` and ``operation.providerStatus``; v3
``status`` and ``providerStatus``.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from circuitbot.clock import Clock
from circuitbot.sandbox.equinix import data
from circuitbot.sandbox.equinix.data import Connection, Port, Profile
from circuitbot.sandbox.world import CircuitStage, World

BASE = "https://api.equinix.com"

# (v4 state, equinixStatus, providerStatus); v3 shows (equinixStatus, providerStatus)
_STAGE_STATES = {
    CircuitStage.PROVISIONING: ("PROVISIONING", "PROVISIONING", "NOT_AVAILABLE"),
    CircuitStage.PROVISIONED: ("PROVISIONED", "PROVISIONED", "AVAILABLE"),
    CircuitStage.DEPROVISIONING: ("DEPROVISIONING", "DEPROVISIONING", "DEPROVISIONING"),
}
DEPROVISIONED = ("DEPROVISIONED", "DEPROVISIONED", "DEPROVISIONED")
PROVIDER_GONE = ("DEPROVISIONING", "DEPROVISIONING", "DEPROVISIONED")


@functools.lru_cache(maxsize=4096)
def iso(timestamp: float) -> str:
    """A clock timestamp as Equinix writes times (cached: many connections share one)."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EquinixState:
    def __init__(self, world: World, clock: Clock, *, operation_seconds: float) -> None:
        self.world = world
        self.clock = clock
        self.operation_seconds = operation_seconds
        self.metros = {m.code: m for m in data.METROS}
        self.ports = {p.uuid: p for p in data.ports_of(world)}
        self.profiles = {p.uuid: p for p in data.profiles()}
        self.connections: dict[str, Connection] = {}
        for connection in data.connections_of(world, list(self.ports.values())):
            connection.created_at = self.now()
            self.connections[connection.uuid] = connection

    def now(self) -> float:
        return self.clock.now().timestamp()

    # --- lifecycle ------------------------------------------------------------------------------

    def states(self, c: Connection) -> tuple[str, str, str]:
        """(v4 state, equinixStatus, providerStatus) at this moment."""
        now = self.now()
        if c.deleted_at is not None:
            elapsed = now - c.deleted_at
            if elapsed >= self.operation_seconds:
                return DEPROVISIONED
            return (
                PROVIDER_GONE
                if elapsed >= self.operation_seconds / 2
                else _STAGE_STATES[CircuitStage.DEPROVISIONING]
            )
        if c.settled:
            return _STAGE_STATES.get(c.stage, _STAGE_STATES[CircuitStage.PROVISIONED])
        if now - c.created_at >= self.operation_seconds:
            return _STAGE_STATES[CircuitStage.PROVISIONED]
        return _STAGE_STATES[CircuitStage.PROVISIONING]

    def busy(self, c: Connection) -> bool:
        return self.states(c)[0] in ("PROVISIONING", "DEPROVISIONING")

    def gone(self, c: Connection) -> bool:
        return self.states(c)[0] == "DEPROVISIONED"

    def vlans_in_use(self, port_uuid: str) -> set[int]:
        return {c.vlan for c in self.connections.values() if c.port_uuid == port_uuid and not self.gone(c)}

    def known_key(self, key: str) -> bool:
        """Azure issued this service key (the world's circuits share theirs)."""
        return any(circuit.service_key == key.strip().lower() for circuit in self.world.circuits)

    def port_of(self, uuid: str | None) -> Port | None:
        return next((p for p in self.ports.values() if p.uuid.lower() == (uuid or "").lower()), None)

    # --- v3 -------------------------------------------------------------------------------------

    def v3_connection(self, c: Connection) -> dict[str, Any]:
        _, equinix, provider = self.states(c)
        port = self.ports.get(c.port_uuid)
        profile = self.profiles.get(c.profile_uuid)
        seller = self.metros.get(c.seller_metro)
        body: dict[str, Any] = {
            "buyerOrganizationName": self.world.company.upper(),
            "uuid": c.uuid,
            "name": c.name,
            "vlanSTag": c.vlan,
            "portUUID": c.port_uuid,
            "portName": port.name if port else None,
            "asideEncapsulation": (port.encapsulation if port else "Dot1q").lower(),
            "metroCode": port.metro if port else None,
            "metroDescription": self.metros[port.metro].name if port and port.metro in self.metros else None,
            "providerStatus": provider,
            "status": equinix,
            "billingTier": f"Up to {c.speed_mbps} MB",
            "authorizationKey": c.key,
            "speed": c.speed_mbps,
            "speedUnit": "MB",
            "redundancyType": c.priority.lower(),
            "redundancyGroup": c.group,
            "sellerMetroCode": c.seller_metro,
            "sellerMetroDescription": seller.name if seller else None,
            "sellerServiceName": profile.name if profile else None,
            "sellerServiceUUID": c.profile_uuid,
            "notifications": list(c.notifications),
            "namedTag": c.peering.capitalize(),
            "createdDate": iso(c.created_at),
            "remote": bool(port and port.metro != c.seller_metro),
            "private": False,
            "self": False,
        }
        if c.purchase_order:
            body["purchaseOrderNumber"] = c.purchase_order
        return body

    def v3_port(self, p: Port) -> dict[str, Any]:
        return {
            "uuid": p.uuid,
            "name": p.name,
            "provisionStatus": "PROVISIONED",
            "region": p.region,
            "totalBandwidth": p.bandwidth_mbps * 1_000_000,
            "buyout": True,
            "ibx": p.ibx,
            "metroCode": p.metro,
            "metroDescription": self.metros[p.metro].name,
            "devicePriority": p.priority,
            "encapsulation": p.encapsulation,
            "viewPortPermission": True,
            "placeVcOrderPermission": p.can_order,
        }

    def v3_profile(self, p: Profile) -> dict[str, Any]:
        return {
            "uuid": p.uuid,
            "name": p.name,
            "requiredRedundancy": p.redundancy_required,
            "allowCustomSpeed": p.custom_speed,
            "speedBands": [{"speed": s, "unit": "MB"} for s in p.speeds],
            "metros": [
                {
                    "code": code,
                    "name": self.metros[code].name,
                    "ibxs": [self.metros[code].ibx],
                    "displayName": self.metros[code].name,
                }
                for code in p.metros
            ],
            "tagType": p.tag_type,
            "profileEncapsulation": "Dot1q",
            "authorizationKey": p.key_label,
            "organizationName": p.organization,
            "private": False,
            "features": {"cloudReach": True, "testProfile": False},
        }

    # --- v4 -------------------------------------------------------------------------------------

    def v4_connection(self, c: Connection) -> dict[str, Any]:
        state, equinix, provider = self.states(c)
        port = self.ports.get(c.port_uuid)
        profile = self.profiles.get(c.profile_uuid)
        qinq = bool(port and port.encapsulation.upper() == "QINQ")
        body: dict[str, Any] = {
            "href": f"{BASE}/fabric/v4/connections/{c.uuid}",
            "type": "EVPL_VC",
            "uuid": c.uuid,
            "name": c.name,
            "state": state,
            "direction": "OUTGOING",
            "operation": {"providerStatus": provider, "equinixStatus": equinix},
            "notifications": [{"type": "ALL", "emails": list(c.notifications)}],
            "changeLog": {
                "createdBy": "circuitbot",
                "createdDateTime": iso(c.created_at),
                "updatedDateTime": iso(c.deleted_at or c.created_at),
            },
            "bandwidth": c.speed_mbps,
            "redundancy": {"group": c.group, "priority": c.priority},
            "isRemote": bool(port and port.metro != c.seller_metro),
            "aSide": {
                "accessPoint": {
                    "type": "COLO",
                    "location": {
                        "metroHref": f"{BASE}/fabric/v4/metros/{port.metro if port else ''}",
                        "metroCode": port.metro if port else None,
                    },
                    "port": {
                        "href": f"{BASE}/fabric/v4/ports/{c.port_uuid}",
                        "type": "XF_PORT",
                        "uuid": c.port_uuid,
                        "name": port.name if port else None,
                    },
                    "linkProtocol": {"type": "QINQ", "vlanSTag": c.vlan}
                    if qinq
                    else {"type": "DOT1Q", "vlanTag": c.vlan},
                }
            },
            "zSide": {
                "accessPoint": {
                    "type": "SP",
                    "location": {
                        "metroHref": f"{BASE}/fabric/v4/metros/{c.seller_metro}",
                        "metroCode": c.seller_metro,
                    },
                    "profile": {
                        "href": f"{BASE}/fabric/v4/serviceProfiles/{c.profile_uuid}",
                        "type": "L2_PROFILE",
                        "name": profile.name if profile else None,
                        "uuid": c.profile_uuid,
                    },
                    "peeringType": c.peering,
                    "authenticationKey": c.key,
                }
            },
        }
        if c.purchase_order:
            body["order"] = {"purchaseOrderNumber": c.purchase_order}
        return body

    def v4_port(self, p: Port) -> dict[str, Any]:
        used = sum(
            c.speed_mbps for c in self.connections.values() if c.port_uuid == p.uuid and not self.gone(c)
        )
        return {
            "href": f"{BASE}/fabric/v4/ports/{p.uuid}",
            "type": "XF_PORT",
            "uuid": p.uuid,
            "name": p.name,
            "state": "ACTIVE" if p.can_order else "INACTIVE",
            "bandwidth": p.bandwidth_mbps,
            "availableBandwidth": max(0, p.bandwidth_mbps - used),
            "usedBandwidth": used,
            "location": {
                "metroHref": f"{BASE}/fabric/v4/metros/{p.metro}",
                "region": p.region,
                "metroName": self.metros[p.metro].name,
                "metroCode": p.metro,
                "ibx": p.ibx,
            },
            "redundancy": {"priority": p.priority.upper()},
            "encapsulation": {
                "type": p.encapsulation.upper(),
                "tagProtocolId": 33024 if p.encapsulation.upper() == "DOT1Q" else 37120,
            },
            "settings": {"buyout": True},
        }

    def v4_profile(self, p: Profile) -> dict[str, Any]:
        return {
            "href": f"{BASE}/fabric/v4/serviceProfiles/{p.uuid}",
            "type": "L2_PROFILE",
            "name": p.name,
            "uuid": p.uuid,
            "state": "ACTIVE",
            "visibility": "PUBLIC",
            "accessPointTypeConfigs": [
                {
                    "type": "COLO",
                    "supportedBandwidths": list(p.speeds),
                    "allowRemoteConnections": True,
                    "allowCustomBandwidth": p.custom_speed,
                    "connectionRedundancyRequired": p.redundancy_required,
                    "linkProtocolConfig": {"encapsulationStrategy": p.tag_type, "encapsulation": "DOT1Q"},
                    "authenticationKey": {"required": True, "label": p.key_label},
                }
            ],
            "metros": [
                {
                    "code": code,
                    "name": self.metros[code].name,
                    "ibxs": [self.metros[code].ibx],
                    "displayName": self.metros[code].name,
                }
                for code in p.metros
            ],
        }
