"""The demo world: one consistent set of circuits that every simulator serves.

One Azure service key ties a circuit's legs together, so all simulators must agree on the
circuits: Azure shows the cross-connection, Equinix and Console Connect show the connections
that carry it. This module is data only; each simulator turns it into its own resources and
wire format. Values follow the provider documents (port pairs in SiliconValley and Seattle,
circuits in "EUAP Test", the seed service keys) so the demo looks like the real thing.
"""

from __future__ import annotations

import functools
import random
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, NamedTuple

Carrier = Literal["equinix", "consoleconnect"]

_NAMESPACE = uuid.UUID("5b0c3f1e-8f3a-4a8e-9d8e-2f6d7c1a9b40")


def _stable_uuid(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, name))


class CircuitStage(StrEnum):
    """Where a circuit is in its life, in terms every provider can map to its own states."""

    AWAITING_PROVIDER = "awaiting_provider"  # the customer shared the key; nothing ordered at a carrier yet
    PROVISIONING = "provisioning"  # carrier connection ordered, not up yet
    PROVISIONED = "provisioned"  # layer 2 up; Azure shows Provisioned
    DEPROVISIONING = "deprovisioning"  # being torn down


_AZURE_PROVIDER_STATE = {
    CircuitStage.AWAITING_PROVIDER: "NotProvisioned",
    CircuitStage.PROVISIONING: "Provisioning",
    CircuitStage.PROVISIONED: "Provisioned",
    CircuitStage.DEPROVISIONING: "Deprovisioning",
}


@dataclass(frozen=True)
class PeeringLocation:
    name: str  # Azure peering location, e.g. "SiliconValley"
    arm_location: str  # ARM region of the cross-connections there, e.g. "westus"
    equinix_metro: str  # Equinix metro code, e.g. "SV"
    metro_name: str  # human name of the metro, e.g. "Silicon Valley"

    @property
    def resource_group(self) -> str:
        """Azure puts a location's cross-connections in "CrossConnection-<location>" (no spaces)."""
        return "CrossConnection-" + self.name.replace(" ", "")


@dataclass(frozen=True)
class PortPair:
    """An ExpressRoute provider port pair (``expressRouteProviderPorts``)."""

    descriptor: str
    peering_location: str
    primary_azure_port: str
    secondary_azure_port: str
    location: str = "uswest"
    port_bandwidth_mbps: int = 4000
    overprovision_factor: int = 4


@dataclass(frozen=True)
class AzureCircuit:
    """The customer's ExpressRoute circuit that the cross-connection shadows."""

    subscription_id: str
    resource_group: str
    name: str

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Network/expressRouteCircuits/{self.name}"
        )


@dataclass(frozen=True)
class PeeringSeed:
    """A BGP peering already configured on a circuit (demo values)."""

    peering_type: Literal["AzurePrivatePeering", "MicrosoftPeering"]
    peer_asn: int
    vlan_id: int
    primary_peer_address_prefix: str
    secondary_peer_address_prefix: str
    shared_key: str | None = None
    advertised_public_prefixes: tuple[str, ...] = ()
    customer_asn: int | None = None
    routing_registry_name: str | None = None


@dataclass(frozen=True)
class CarrierLeg:
    """A carrier connection that carries the circuit (both redundant paths).

    ``connection_id`` is an Equinix connection UUID (the primary connection; ``secondary_id`` is
    its redundant twin) or a Console Connect ObjectId (the GROUP_LAYER2 connection;
    ``secondary_id`` is unused).
    """

    provider: Carrier
    connection_id: str
    name: str
    secondary_id: str | None = None


@dataclass(frozen=True)
class DemoCircuit:
    service_key: str
    customer: str
    peering_location: str
    bandwidth_mbps: int
    azure: AzureCircuit
    port_pair: str  # descriptor of the PortPair the circuit sits on
    s_tag: int
    stage: CircuitStage
    legs: tuple[CarrierLeg, ...] = ()
    peerings: tuple[PeeringSeed, ...] = ()

    @property
    def carriers(self) -> tuple[Carrier, ...]:
        return tuple(leg.provider for leg in self.legs)

    def leg(self, provider: Carrier) -> CarrierLeg | None:
        return next((leg for leg in self.legs if leg.provider == provider), None)

    @property
    def service_provider_provisioning_state(self) -> str:
        """Azure's ``serviceProviderProvisioningState`` for this stage."""
        return _AZURE_PROVIDER_STATE[self.stage]


LOCATIONS: tuple[PeeringLocation, ...] = (
    PeeringLocation("SiliconValley", "westus", "SV", "Silicon Valley"),
    PeeringLocation("Seattle", "westus2", "SE", "Seattle"),
    PeeringLocation("EUAP Test", "eastus2euap", "DC", "Ashburn"),
)

PORT_PAIRS: tuple[PortPair, ...] = (
    PortPair("bvtazureixpportpair1", "SiliconValley", "bvtazureixp01a", "bvtazureixp01b"),
    PortPair("bvtazureixpportpair2", "Seattle", "bvtazureixp02a", "bvtazureixp02b"),
    PortPair("bvtazureixpportpair3", "SiliconValley", "bvtazureixp03a", "bvtazureixp03b"),
    PortPair(
        "euaparmtest06gmrportpair",
        "EUAP Test",
        "EUAP-ARMTEST-06GMR-CIS-1-PRI-A",
        "EUAP-ARMTEST-06GMR-CIS-2-SEC-A",
        location="eastus2euap",
    ),
)

CUSTOMERS: tuple[str, ...] = (
    "Contoso",
    "Fabrikam",
    "Northwind Traders",
    "Tailspin Toys",
    "Woodgrove Bank",
    "Adventure Works",
    "Litware",
    "Proseware",
)

BANDWIDTHS_MBPS: tuple[int, ...] = (50, 100, 200, 500, 1000, 2000, 5000, 10000)


@functools.cache
def customer_subscription(customer: str) -> str:
    return _stable_uuid(f"subscription:{customer}")


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _equinix_leg(stem: str, primary_id: str | None = None) -> CarrierLeg:
    """An Equinix redundant pair ``<stem>-PRI``/``-SEC``; stable ids unless the documents give one."""
    return CarrierLeg(
        "equinix",
        primary_id or _stable_uuid(f"equinix:{stem}-PRI"),
        f"{stem}-PRI",
        secondary_id=_stable_uuid(f"equinix:{stem}-SEC"),
    )


class _Handmade(NamedTuple):
    """One row of the documents' circuits; the Azure subscription follows from the customer."""

    service_key: str
    customer: str
    peering_location: str
    bandwidth_mbps: int
    resource_group: str
    circuit_name: str
    port_pair: str
    s_tag: int
    stage: CircuitStage
    legs: tuple[CarrierLeg, ...] = ()
    peerings: tuple[PeeringSeed, ...] = ()


# The circuits of the provider documents, one per interesting stage (a table, laid out by hand).
# fmt: off
_HANDMADE: tuple[_Handmade, ...] = (
    _Handmade(
        "bbbb1b1b-cc2c-dd3d-ee4e-ffffff5f5f5f", "Contoso", "EUAP Test", 200,
        "crossconnectiontest", "TestCircuitXYZ", "euaparmtest06gmrportpair", 3,
        CircuitStage.AWAITING_PROVIDER,
    ),
    _Handmade(
        "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e", "Contoso", "EUAP Test", 200,
        "crossconnectiontest", "TestCircuit2", "euaparmtest06gmrportpair", 4,
        CircuitStage.PROVISIONED,
        legs=(CarrierLeg("consoleconnect", "507f1f77bcf86cd799439011", "Contoso EUAP Test"),),
        peerings=(
            PeeringSeed(
                "AzurePrivatePeering", peer_asn=500, vlan_id=200,
                primary_peer_address_prefix="10.0.0.0/30", secondary_peer_address_prefix="10.0.0.4/30",
                shared_key="A1B2C3D4",
            ),
        ),
    ),
    _Handmade(
        "24e6ea2b-6940-4bec-b0b3-3a9e5471e512", "Fabrikam", "SiliconValley", 1000,
        "ertest", "er1", "bvtazureixpportpair1", 2,
        CircuitStage.PROVISIONED,
        legs=(_equinix_leg("Fabrikam-SV-ER", primary_id="006d08e2-788e-4c83-82d3-07b1787644a5"),),
        peerings=(
            PeeringSeed(
                "AzurePrivatePeering", peer_asn=65010, vlan_id=210,
                primary_peer_address_prefix="10.10.0.0/30", secondary_peer_address_prefix="10.10.0.4/30",
            ),
        ),
    ),
    _Handmade(
        "99973578-36f9-47f8-b12f-afa3faf02d06", "Northwind Traders", "Seattle", 500,
        "network-prod", "er-seattle", "bvtazureixpportpair2", 2,
        CircuitStage.PROVISIONING,
        legs=(_equinix_leg("Northwind-SE-ER"),),
    ),
    _Handmade(
        "cccc2c2c-dd3d-ee4e-ff5f-aaaaaa6a6a6a", "Woodgrove Bank", "SiliconValley", 1000,
        "er-west", "er-woodgrove-sv", "bvtazureixpportpair3", 5,
        CircuitStage.PROVISIONED,
        legs=(
            _equinix_leg("Woodgrove-SV-ER"),
            CarrierLeg("consoleconnect", "5f1e2d3c4b5a69788796a5b4", "Woodgrove SV backup"),
        ),
        peerings=(
            PeeringSeed(
                "MicrosoftPeering", peer_asn=900, vlan_id=300,
                primary_peer_address_prefix="203.0.113.0/30", secondary_peer_address_prefix="203.0.113.4/30",
                advertised_public_prefixes=("203.0.113.128/25",),
                customer_asn=45, routing_registry_name="ARIN",
            ),
        ),
    ),
    _Handmade(
        "dddd3d3d-ee4e-ff5f-aa6a-bbbbbb7b7b7b", "Tailspin Toys", "Seattle", 200,
        "legacy-net", "er-tailspin-old", "bvtazureixpportpair2", 3,
        CircuitStage.DEPROVISIONING,
        legs=(CarrierLeg("consoleconnect", "60a1b2c3d4e5f60718293a4b", "Tailspin Seattle"),),
    ),
)
# fmt: on


def _handmade_circuits() -> list[DemoCircuit]:
    return [
        DemoCircuit(
            service_key=row.service_key,
            customer=row.customer,
            peering_location=row.peering_location,
            bandwidth_mbps=row.bandwidth_mbps,
            azure=AzureCircuit(customer_subscription(row.customer), row.resource_group, row.circuit_name),
            port_pair=row.port_pair,
            s_tag=row.s_tag,
            stage=row.stage,
            legs=row.legs,
            peerings=row.peerings,
        )
        for row in _HANDMADE
    ]


# How generated circuits spread over stages and carriers (weights).
_STAGE_WEIGHTS = (
    (CircuitStage.PROVISIONED, 60),
    (CircuitStage.AWAITING_PROVIDER, 20),
    (CircuitStage.PROVISIONING, 15),
    (CircuitStage.DEPROVISIONING, 5),
)
_CARRIER_WEIGHTS: tuple[tuple[tuple[Carrier, ...], int], ...] = (
    (("equinix",), 50),
    (("consoleconnect",), 40),
    (("equinix", "consoleconnect"), 10),
)


@dataclass
class World:
    """Everything the simulators agree on."""

    partner_subscription_id: str
    company: str
    locations: tuple[PeeringLocation, ...]
    port_pairs: tuple[PortPair, ...]
    circuits: list[DemoCircuit] = field(default_factory=list)

    @classmethod
    def demo(cls, extra_circuits: int = 0, seed: int = 0) -> World:
        """The documents' circuits plus ``extra_circuits`` generated ones, the same for a seed."""
        world = cls(
            partner_subscription_id=_stable_uuid("partner-subscription"),
            company="Acme",
            locations=LOCATIONS,
            port_pairs=PORT_PAIRS,
            circuits=_handmade_circuits(),
        )
        world.circuits.extend(_generate(world, extra_circuits, seed))
        return world

    def circuit(self, service_key: str) -> DemoCircuit:
        key = service_key.lower()
        for circuit in self.circuits:
            if circuit.service_key == key:
                return circuit
        raise KeyError(service_key)

    def location(self, name: str) -> PeeringLocation:
        """A peering location by name, ignoring case and spaces ("seattle", "EUAPTest")."""
        wanted = _slug(name)
        for location in self.locations:
            if _slug(location.name) == wanted:
                return location
        raise KeyError(name)

    def port_pair(self, descriptor: str) -> PortPair:
        for pair in self.port_pairs:
            if pair.descriptor == descriptor:
                return pair
        raise KeyError(descriptor)

    def carried_by(self, provider: Carrier) -> list[DemoCircuit]:
        return [circuit for circuit in self.circuits if circuit.leg(provider) is not None]


def _generate(world: World, count: int, seed: int) -> list[DemoCircuit]:
    rng = random.Random(seed)
    pairs_at: dict[str, list[PortPair]] = {}
    for pair in world.port_pairs:
        pairs_at.setdefault(pair.peering_location, []).append(pair)
    next_s_tag = {pair.descriptor: 100 for pair in world.port_pairs}
    stages, stage_weights = [s for s, _ in _STAGE_WEIGHTS], [w for _, w in _STAGE_WEIGHTS]
    carrier_sets, carrier_weights = [c for c, _ in _CARRIER_WEIGHTS], [w for _, w in _CARRIER_WEIGHTS]

    circuits: list[DemoCircuit] = []
    for number in range(1, count + 1):
        location = rng.choice(world.locations)
        pair = rng.choice(pairs_at[location.name])
        customer = rng.choice(CUSTOMERS)
        stage = rng.choices(stages, stage_weights)[0]
        carriers = (
            () if stage is CircuitStage.AWAITING_PROVIDER else rng.choices(carrier_sets, carrier_weights)[0]
        )
        s_tag = next_s_tag[pair.descriptor]
        next_s_tag[pair.descriptor] = s_tag + 1
        short = _slug(customer)[:12]
        legs = tuple(
            CarrierLeg(
                "equinix",
                str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                f"{short}-{location.equinix_metro}-{number:05d}-PRI",
                secondary_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            )
            if carrier == "equinix"
            else CarrierLeg(
                "consoleconnect", f"{rng.getrandbits(96):024x}", f"{customer} {location.name} {number}"
            )
            for carrier in carriers
        )
        circuits.append(
            DemoCircuit(
                service_key=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                customer=customer,
                peering_location=location.name,
                bandwidth_mbps=rng.choice(BANDWIDTHS_MBPS),
                azure=AzureCircuit(
                    customer_subscription(customer), f"er-{short}", f"er-{short}-{number:05d}"
                ),
                port_pair=pair.descriptor,
                s_tag=s_tag,
                stage=stage,
                legs=legs,
            )
        )
    return circuits
