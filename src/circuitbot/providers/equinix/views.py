"""What the commands and the poller read of Equinix, the same on either API generation.

``gen3`` and ``gen4`` turn their wire models into these views, so a command renders a port, a
connection or a price once. A view keeps the generation's own state fields: v3 reports
``status`` and ``providerStatus``; v4 ``state``, ``operation.equinixStatus`` and
``operation.providerStatus``. Those are what a watch follows (``states``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Generation = Literal["v3", "v4"]


@dataclass(frozen=True)
class PortView:
    uuid: str
    name: str | None
    metro: str | None
    metro_name: str | None
    ibx: str | None
    bandwidth_mbps: int | None
    encapsulation: str | None  # DOT1Q | QINQ
    priority: str | None  # PRIMARY | SECONDARY
    can_order: bool | None  # whether connections may be ordered on it
    state: str | None


@dataclass(frozen=True)
class MetroView:
    code: str
    name: str | None
    region: str | None
    reach: tuple[str, ...]  # metros a connection from here can reach


@dataclass(frozen=True)
class PriceTier:
    speed_mbps: int
    local: float | None
    remote: float | None


@dataclass(frozen=True)
class PriceQuote:
    currency: str | None
    origin: str | None
    destination: str | None
    tiers: tuple[PriceTier, ...]


@dataclass(frozen=True)
class ProfileView:
    uuid: str
    name: str | None
    speeds_mbps: tuple[int, ...]
    metros: tuple[str, ...]
    redundancy_required: bool
    tag_type: str | None
    custom_speed: bool
    organization: str | None = None


@dataclass(frozen=True)
class Validation:
    valid: bool
    message: str
    bandwidths: tuple[str, ...] = ()  # what the key allows, as Equinix says it


@dataclass(frozen=True)
class ConnectionView:
    uuid: str
    name: str | None
    generation: Generation
    states: dict[str, str]  # the watched fields, by their wire names
    speed_mbps: int | None
    port_uuid: str | None
    port_name: str | None
    vlan: int | None
    metro: str | None
    seller_metro: str | None
    profile: str | None
    authorization_key: str | None
    redundancy: str | None  # PRIMARY | SECONDARY
    redundancy_group: str | None
    peering: str | None  # named tag (v3) or peering type (v4)
    created: str | None = None

    @property
    def status(self) -> str | None:
        """The generation's own overall status: v3 ``status``, v4 ``state``."""
        return self.states.get("status") or self.states.get("state")

    @property
    def provider_status(self) -> str | None:
        return self.states.get("providerStatus")


@dataclass(frozen=True)
class StatPoint:
    time: str | None
    max: float | None
    mean: float | None


@dataclass(frozen=True)
class Traffic:
    max: float | None
    mean: float | None
    points: tuple[StatPoint, ...] = ()


@dataclass(frozen=True)
class PortStats:
    port: str
    start: str | None
    end: str | None
    unit: str | None  # v4 says Mbps; v3 does not say
    inbound: Traffic
    outbound: Traffic
    capacity_mbps: int | None = None


@dataclass(frozen=True)
class Leg:
    """One connection of an order: a port and its VLAN."""

    port_uuid: str
    vlan: int
    name: str
    encapsulation: str = "DOT1Q"  # the port's: DOT1Q tags with vlanTag, QINQ with vlanSTag


@dataclass(frozen=True)
class Order:
    """A connection to a service profile (an Azure ExpressRoute one, typically), on either generation."""

    profile_uuid: str
    metro: str  # the seller's metro
    speed_mbps: int
    authorization_key: str
    peering: str  # PRIVATE | MICROSOFT | PUBLIC | MANUAL
    notifications: tuple[str, ...]
    primary: Leg
    secondary: Leg | None = None
    seller_region: str | None = None
    purchase_order: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Ordered:
    primary: str
    secondary: str | None


@dataclass(frozen=True)
class ConnectionFilter:
    statuses: tuple[str, ...] = ()
    metro: str | None = None
    key: str | None = None
    port: str | None = None
