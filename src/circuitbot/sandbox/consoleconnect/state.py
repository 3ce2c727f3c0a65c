"""The company's Console Connect connections, ports and peering configs, seeded from the World.

Nothing runs in the background: each status is computed from the simulator's clock when it is
read, from the moments a change was asked for.

* A created connection is CREATING with its partner peering NOT PROVISIONED, PROVISIONING from
  half its ``operation_seconds``, then ACTIVE and PROVISIONED. A deleted one is DELETING and
  DEPROVISIONING, then DELETED (and stays listed so, as orders do).
* A peering config is PENDING after it was written, SYNCING from a third of ``peering_seconds``,
  then SYNCED.
* Seeded connections keep the stage the World gives their circuit: PROVISIONED circuits are
  ACTIVE with their peerings SYNCED; a circuit still provisioning is CREATING/PROVISIONING and
  one being torn down DELETING/DEPROVISIONING, with no timer to move them.

``spelling="underscore"`` writes the statuses the docs spell with a space (``NOT PROVISIONED``,
``PENDING ACCEPTANCE``) with an underscore, as some clients in the field expect.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from circuitbot.sandbox.world import CircuitStage, DemoCircuit, PeeringSeed, World

Spelling = Literal["space", "underscore"]

PEERING_TYPES = ("PUBLIC", "PRIVATE", "MICROSOFT")
_SEED_PEERING_TYPES = {"AzurePrivatePeering": "PRIVATE", "MicrosoftPeering": "MICROSOFT"}


@dataclass(frozen=True)
class SandboxPort:
    id: str
    name: str
    facility: str
    peering_location: str  # the Azure peering location the port reaches
    speed_mbps: int = 10_000


# Two ports per demo peering location; two ids are the documentation's own examples.
PORTS: tuple[SandboxPort, ...] = (
    SandboxPort("5893d943878d635dde318022", "Acme-SV1-01", "Equinix SV1", "SiliconValley"),
    SandboxPort("5893d943878d635dde318023", "Acme-SV1-02", "Equinix SV1", "SiliconValley"),
    SandboxPort("5e429ef0d6b9a000166c3b65", "Acme-SE2-01", "Equinix SE2", "Seattle"),
    SandboxPort("5e429ef0d6b9a000166c3b66", "Acme-SE2-02", "Equinix SE2", "Seattle"),
    SandboxPort("5b456eda852dad001a8cf2cd", "Acme-DC2-01", "Equinix DC2", "EUAP Test"),
    SandboxPort("5b456eda852dad001a8cf2ce", "Acme-DC2-02", "Equinix DC2", "EUAP Test"),
)


def object_id(text: str) -> str:
    """A stable 24-hex ObjectId for a name."""
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class PeeringRecord:
    kind: str
    config: dict[str, Any]  # as written, the shared key included (never sent back)
    written_at: datetime
    seeded: bool = False


@dataclass
class SandboxConnection:
    id: str
    name: str
    service_key: str
    speed_mbps: int
    port_ids: tuple[str, str]
    payment_type: str
    created_at: datetime
    updated_at: datetime
    sub_ids: tuple[str, str]
    fixed: tuple[str, str] | None = None  # (status, partner peering) of a seeded stage
    delete_asked_at: datetime | None = None
    peerings: dict[str, PeeringRecord] = field(default_factory=dict)


class ConsoleConnectState:
    """The model the routes read and change."""

    def __init__(
        self, world: World, *, operation_seconds: float, peering_seconds: float, spelling: Spelling
    ) -> None:
        self.world = world
        self.operation_seconds = operation_seconds
        self.peering_seconds = peering_seconds
        self.spelling = spelling
        self.ports = {port.id: port for port in PORTS}
        self.connections: dict[str, SandboxConnection] = {}
        self._created = 0

    # --- seeding ------------------------------------------------------------------------------

    def seed(self, now: datetime) -> None:
        for circuit in self.world.carried_by("consoleconnect"):
            connection = self._from_world(circuit, now)
            self.connections[connection.id] = connection

    def _from_world(self, circuit: DemoCircuit, now: datetime) -> SandboxConnection:
        leg = circuit.leg("consoleconnect")
        assert leg is not None
        ports = self.ports_at(circuit.peering_location)
        since = now - timedelta(days=30)
        fixed = {
            CircuitStage.PROVISIONED: None,
            CircuitStage.PROVISIONING: ("CREATING", "PROVISIONING"),
            CircuitStage.DEPROVISIONING: ("DELETING", "DEPROVISIONING"),
            CircuitStage.AWAITING_PROVIDER: ("CREATING", "NOT PROVISIONED"),
        }[circuit.stage]
        connection = SandboxConnection(
            id=leg.connection_id,
            name=leg.name,
            service_key=circuit.service_key,
            speed_mbps=circuit.bandwidth_mbps,
            port_ids=(ports[0].id, ports[-1].id),
            payment_type="invoice",
            created_at=since,
            updated_at=since,
            sub_ids=(object_id(leg.connection_id + "/1"), object_id(leg.connection_id + "/2")),
            fixed=fixed,
        )
        if circuit.stage is CircuitStage.PROVISIONED:
            for seed in circuit.peerings:
                kind = _SEED_PEERING_TYPES[seed.peering_type]
                connection.peerings[kind] = PeeringRecord(kind, _seed_config(seed), since, seeded=True)
        return connection

    # --- lookups ------------------------------------------------------------------------------

    def ports_at(self, peering_location: str) -> list[SandboxPort]:
        found = [p for p in PORTS if p.peering_location.lower() == peering_location.lower()]
        return found or list(PORTS[:2])

    def circuit(self, service_key: str) -> DemoCircuit | None:
        try:
            return self.world.circuit(service_key.strip())
        except KeyError:
            return None

    def live_for_key(self, service_key: str, now: datetime) -> SandboxConnection | None:
        for connection in self.connections.values():
            if connection.service_key.lower() == service_key.strip().lower():
                if self.status(connection, now)[0] != "DELETED":
                    return connection
        return None

    def new_id(self) -> str:
        self._created += 1
        return object_id(f"created:{self._created}")

    # --- statuses -----------------------------------------------------------------------------

    def _spell(self, status: str) -> str:
        return status.replace(" ", "_") if self.spelling == "underscore" else status

    def status(self, connection: SandboxConnection, now: datetime) -> tuple[str, str]:
        """(connection status, partner peering provisioning status) at ``now``."""
        if connection.delete_asked_at is not None:
            if now >= connection.delete_asked_at + timedelta(seconds=self.operation_seconds):
                return "DELETED", self._spell("NOT PROVISIONED")
            return "DELETING", "DEPROVISIONING"
        if connection.fixed is not None:
            status, partner = connection.fixed
            return self._spell(status), self._spell(partner)
        age = (now - connection.created_at).total_seconds()
        if age >= self.operation_seconds:
            return "ACTIVE", "PROVISIONED"
        if age >= self.operation_seconds / 2:
            return "CREATING", "PROVISIONING"
        return "CREATING", self._spell("NOT PROVISIONED")

    def sync_status(self, record: PeeringRecord, now: datetime) -> str:
        if record.seeded:
            return "SYNCED"
        age = (now - record.written_at).total_seconds()
        if age >= self.peering_seconds:
            return "SYNCED"
        return "SYNCING" if age >= self.peering_seconds / 3 else "PENDING"

    # --- rendering ----------------------------------------------------------------------------

    def render(self, connection: SandboxConnection, now: datetime) -> dict[str, Any]:
        status, partner = self.status(connection, now)
        speed = {"value": connection.speed_mbps, "name": f"{connection.speed_mbps} Mbps"}
        subs = [
            {
                "id": sub_id,
                "type": "LAYER2",
                "status": status,
                "name": f"{connection.name} ({'primary' if number == 0 else 'secondary'})",
                "srcPortId": connection.port_ids[number],
                "speed": dict(speed),
            }
            for number, sub_id in enumerate(connection.sub_ids)
        ]
        return {
            "id": connection.id,
            "type": "GROUP_LAYER2",
            "status": status,
            "name": connection.name,
            "speed": speed,
            "subconnections": subs,
            "partner": {"name": "AZURE", "serviceKey": connection.service_key, "peering": partner},
            "paymentType": connection.payment_type,
            "createdAt": iso(connection.created_at),
            "updatedAt": iso(connection.updated_at),
        }

    def render_peering(self, record: PeeringRecord, now: datetime) -> dict[str, Any]:
        config = {k: v for k, v in record.config.items() if k != "sharedKey"}
        return {
            "peeringType": record.kind,
            **config,
            "syncStatus": self.sync_status(record, now),
            "updatedAt": iso(record.written_at),
        }

    def render_port(self, port: SandboxPort) -> dict[str, Any]:
        return {
            "id": port.id,
            "portName": port.name,
            "speed": port.speed_mbps,
            "status": "IN_SERVICE",
            "dataCenterFacility": {"name": port.facility},
        }


def _seed_config(seed: PeeringSeed) -> dict[str, Any]:
    config: dict[str, Any] = {
        "peerASN": seed.peer_asn,
        "vlanId": seed.vlan_id,
        "primaryPeerAddressPrefix": seed.primary_peer_address_prefix,
        "secondaryPeerAddressPrefix": seed.secondary_peer_address_prefix,
    }
    if seed.shared_key:
        config["sharedKey"] = seed.shared_key
    if seed.peering_type == "MicrosoftPeering":
        config["advertisedPublicPrefixes"] = list(seed.advertised_public_prefixes)
        config["routingRegistryName"] = seed.routing_registry_name
        if seed.customer_asn:
            config["customerASN"] = seed.customer_asn
    return config
