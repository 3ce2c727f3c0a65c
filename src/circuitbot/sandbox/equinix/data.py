"""What the Equinix simulator starts with: the seed's ports, metros and profiles, and the demo
world's Equinix legs as connections.

Values come from seed 003 (the MX port, the metros AM, SV, DC, TR and MX with Amsterdam's cloud
reach, the "John-Doe Demo" profile, the Azure Express Route profile's uuid of the seed's
connections, the price table) and from the world: a port pair in each metro where the world
has circuits (SV, SE, DC), each circuit's Equinix leg a redundant pair of connections on them,
keyed by the circuit's Azure service key.
"""

from __future__ import annotations

import uuid as uuids
from dataclasses import dataclass, field

from circuitbot.sandbox.world import CircuitStage, World

_NAMESPACE = uuids.UUID("0b8e2f6a-5c1d-4e7b-9a3f-6d2c8e1b4a70")


def _stable_uuid(name: str) -> str:
    """The same uuid for the same name, so a world's ports and pairs keep their ids."""
    return str(uuids.uuid5(_NAMESPACE, name))


AZURE_PROFILE = "a1390b22-bbe0-4e93-ad37-85beef9d254d"  # sellerServiceUUID of the seed's connections
DEMO_PROFILE = "97d1850f-4df0-468c-9281-fa7b0dfa2096"  # the seed's "John-Doe Demo"
SEED_PORT = "c791f8cb-5a9f-a9f0-8ce0-306a5c00a4ee"  # the seed's MX port
SPEEDS = (50, 100, 200, 500, 1000, 2000, 5000, 10000)
# The seed's remote price per speed tier (local connections cost nothing on a buyout port).
REMOTE_PRICES = {
    50: 230.0,
    100: 300.0,
    200: 400.0,
    500: 580.0,
    1000: 1280.0,
    2000: 2150.0,
    5000: 4945.0,
    10000: 8380.0,
}
LOCAL_PRICES = {50: 0.0, 100: 0.0, 200: 0.0, 500: 0.0, 1000: 0.0, 2000: 0.0, 5000: 0.0, 10000: 0.0}
CURRENCY = {"AMER": "USD", "EMEA": "EUR", "APAC": "USD"}
AZURE_SPEEDS = (50, 100, 200, 500, 1000, 2000, 5000, 10000)


@dataclass(frozen=True)
class Metro:
    code: str
    name: str
    region: str
    reach: tuple[str, ...]
    ibx: str


METROS: tuple[Metro, ...] = (
    Metro("AM", "Amsterdam", "EMEA", ("LD", "FR", "PA", "DB", "SK", "ZH", "HE", "ML", "WA", "MD"), "AM3"),
    Metro("SV", "Silicon Valley", "AMER", ("SE", "DC", "TR", "MX", "LA", "DA"), "SV5"),
    Metro("SE", "Seattle", "AMER", ("SV", "DC", "TR"), "SE2"),
    Metro("DC", "Ashburn", "AMER", ("SV", "SE", "TR", "MX", "NY"), "DC11"),
    Metro("TR", "Toronto", "AMER", ("DC", "SV", "NY"), "TR2"),
    Metro("MX", "Mexico City", "AMER", ("DC", "SV", "DA"), "MX2"),
)


@dataclass
class Port:
    uuid: str
    name: str
    metro: str
    ibx: str
    region: str
    bandwidth_mbps: int
    encapsulation: str  # Dot1q | Qinq
    priority: str  # Primary | Secondary
    can_order: bool = True


@dataclass(frozen=True)
class Profile:
    uuid: str
    name: str
    speeds: tuple[int, ...]
    metros: tuple[str, ...]
    redundancy_required: bool
    tag_type: str
    organization: str
    key_label: str
    custom_speed: bool = False


@dataclass
class Connection:
    uuid: str
    name: str
    port_uuid: str
    vlan: int
    speed_mbps: int
    seller_metro: str
    profile_uuid: str
    key: str
    peering: str  # PRIVATE | MICROSOFT | PUBLIC | MANUAL
    priority: str  # PRIMARY | SECONDARY
    group: str
    notifications: list[str] = field(default_factory=list)
    created_at: float = 0.0  # clock timestamp of the order; the lifecycle runs from it
    deleted_at: float | None = None
    settled: bool = False  # seeded connections start in their stage, not at its beginning
    stage: CircuitStage = CircuitStage.PROVISIONED
    purchase_order: str | None = None


def ports_of(world: World) -> list[Port]:
    """The seed's MX port and a Primary/Secondary pair in each metro the world's circuits use."""
    ports = [
        Port(
            SEED_PORT,
            "testSeller-MX2-NL-Qinq-BO-PRI-10G-JN-423",
            "MX",
            "MX2",
            "AMER",
            10000,
            "Qinq",
            "Primary",
        )
    ]
    for location in world.locations:
        metro = next(m for m in METROS if m.code == location.equinix_metro)
        for priority, short in (("Primary", "PRI"), ("Secondary", "SEC")):
            name = f"{world.company}-{metro.ibx}-CX-{short}-01"
            ports.append(
                Port(
                    _stable_uuid(f"equinix-port:{name}"),
                    name,
                    metro.code,
                    metro.ibx,
                    metro.region,
                    10000,
                    "Dot1q",
                    priority,
                )
            )
    return ports


def profiles() -> list[Profile]:
    return [
        Profile(
            AZURE_PROFILE,
            "Azure Express Route",
            AZURE_SPEEDS,
            tuple(m.code for m in METROS),
            redundancy_required=True,
            tag_type="NAMED",
            organization="Microsoft Azure",
            key_label="Service Key",
        ),
        Profile(
            DEMO_PROFILE,
            "John-Doe Demo",
            (50, 200, 500, 1000),
            ("SV", "DC"),
            redundancy_required=False,
            tag_type="BOTH",
            organization="John-Doe-Corp",
            key_label="[a-z|A-z|0-9]",
        ),
    ]


def connections_of(world: World, ports: list[Port]) -> list[Connection]:
    """Each Equinix leg of the world: its primary and secondary connection to the Azure profile."""
    found: list[Connection] = []
    for circuit in world.carried_by("equinix"):
        leg = circuit.leg("equinix")
        assert leg is not None
        metro = world.location(circuit.peering_location).equinix_metro
        pair = [p for p in ports if p.metro == metro]
        group = _stable_uuid(f"equinix-group:{leg.connection_id}")
        for uuid, name, port in (
            (leg.connection_id, leg.name, pair[0]),
            (
                leg.secondary_id or _stable_uuid(f"{leg.connection_id}:sec"),
                leg.name.replace("-PRI", "-SEC"),
                pair[-1],
            ),
        ):
            found.append(
                Connection(
                    uuid=uuid,
                    name=name,
                    port_uuid=port.uuid,
                    vlan=circuit.s_tag + 100 * (1 if port.priority == "Primary" else 2),
                    speed_mbps=circuit.bandwidth_mbps,
                    seller_metro=metro,
                    profile_uuid=AZURE_PROFILE,
                    key=circuit.service_key,
                    peering="PRIVATE",
                    priority=port.priority.upper(),
                    group=group,
                    notifications=[f"noc@{world.company.lower()}.example"],
                    settled=True,
                    stage=circuit.stage,
                )
            )
    return found
