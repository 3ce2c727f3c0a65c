"""The parameters of the Equinix commands, checked before anything reaches Equinix.

Uuids (ports, profiles, connections) are taken in any case and kept in lower case, as Equinix
compares them; metro codes are two letters, upper case; speeds are Mbps. A service key is a
GUID (Azure's); it is shown and echoed, being how a circuit is found, not a secret.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from circuitbot.actions.registry import Params

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
METRO = re.compile(r"^[A-Za-z]{2}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
RELATIVE = re.compile(r"^(\d{1,4})([hd])$", re.IGNORECASE)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,45}$")  # room for "-SEC" in Equinix's 50
STATUSES = (
    "PROVISIONING",
    "PROVISIONED",
    "DEPROVISIONING",
    "DEPROVISIONED",
    "PENDING_APPROVAL",
    "PENDING_DELETE",
    "ACTIVE",
    "FAILED",
    "REJECTED",
    "CANCELLED",
)
Peering = Literal["PRIVATE", "MICROSOFT", "PUBLIC", "MANUAL"]


def uuid(value: str, what: str = "a uuid") -> str:
    value = value.strip()
    if not UUID.match(value):
        raise ValueError(f"{what} looks like 006d08e2-788e-4c83-82d3-07b1787644a5")
    return value.lower()


def metro(value: str) -> str:
    value = value.strip()
    if not METRO.match(value):
        raise ValueError("a metro is a two-letter code such as SV, DC or AM; `eqx metros` lists them")
    return value.upper()


def words(value: Any) -> Any:
    """``"50 100,200"`` → ``["50", "100", "200"]``; lists pass through."""
    if isinstance(value, str):
        return [part for part in re.split(r"[\s,]+", value) if part]
    return value


class ConnectionParams(Params):
    positional: ClassVar[tuple[str, ...]] = ("uuid",)
    uuid: str = Field(title="Connection", description="the connection's uuid")

    @field_validator("uuid")
    @classmethod
    def _uuid(cls, value: str) -> str:
        return uuid(value, "a connection uuid")

    def target(self) -> str:
        return f"equinix:{self.uuid}"


class PriceParams(Params):
    positional = ("port", "metro", "speeds")
    rest_of_line = True
    port: str = Field(description="your port's uuid (`eqx ports`)")
    metro: str = Field(description="the destination metro, e.g. SV")
    speeds: list[int] = Field(
        default_factory=list, description="speeds in Mbps, e.g. 50 200 1000 (all when left out)"
    )

    _port = field_validator("port")(lambda cls, v: uuid(v, "a port uuid"))
    _metro = field_validator("metro")(lambda cls, v: metro(v))
    _speeds = field_validator("speeds", mode="before")(lambda cls, v: words(v))


class ProfilesParams(Params):
    positional = ("metros",)
    rest_of_line = True
    metros: list[str] = Field(default_factory=list, description="only profiles in these metros, e.g. SV DC")

    @field_validator("metros", mode="before")
    @classmethod
    def _metros(cls, value: Any) -> Any:
        return [metro(m) for m in words(value)]


class ProfileParams(Params):
    positional = ("uuid",)
    uuid: str = Field(description="the service profile's uuid (`eqx profiles`)")

    _uuid = field_validator("uuid")(lambda cls, v: uuid(v, "a profile uuid"))


class ValidateParams(Params):
    positional = ("key", "metro", "profile", "region")
    key: str = Field(
        description="the authorization key: an Azure service key, an AWS account id, …", max_length=200
    )
    metro: str = Field(description="the seller metro, e.g. SV")
    profile: str = Field(description="the service profile's uuid")
    region: str | None = Field(
        None, description="v3: your port's region (AMER, EMEA, APAC); v4: the seller region"
    )

    _metro = field_validator("metro")(lambda cls, v: metro(v))
    _profile = field_validator("profile")(lambda cls, v: uuid(v, "a profile uuid"))


class ConnectionsParams(Params):
    status: str | None = Field(
        None, description="only connections in this status, e.g. PROVISIONED (comma-separated)"
    )
    metro: str | None = Field(None, description="only connections from this metro")
    key: str | None = Field(None, description="only connections with this service key")
    port: str | None = Field(None, description="only connections on this port (uuid)")

    @field_validator("status")
    @classmethod
    def _status(cls, value: str | None) -> str | None:
        if value is None:
            return None
        found = [s.strip().upper().replace(" ", "_") for s in value.split(",") if s.strip()]
        unknown = [s for s in found if s not in STATUSES]
        if unknown:
            raise ValueError(f"status is one of {', '.join(STATUSES)}")
        return ",".join(found)

    _metro = field_validator("metro")(lambda cls, v: None if v is None else metro(v))
    _port = field_validator("port")(lambda cls, v: None if v is None else uuid(v, "a port uuid"))
    _key = field_validator("key")(lambda cls, v: None if v is None else v.strip().lower())


class StatsParams(Params):
    positional = ("port", "start", "end")
    port: str = Field(description="your port's uuid")
    start: str = Field("24h", description="from: an ISO date or time, or 24h / 7d ago (default 24h)")
    end: str | None = Field(None, description="to: an ISO date or time (default now)")

    _port = field_validator("port")(lambda cls, v: uuid(v, "a port uuid"))

    @field_validator("start", "end")
    @classmethod
    def _when(cls, value: str | None) -> str | None:
        if value is None or RELATIVE.match(value.strip()):
            return value
        from datetime import datetime

        try:
            datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                "a time is ISO 8601 (2026-12-01 or 2026-12-01T08:00:00Z) or 24h / 7d ago"
            ) from None
        return value.strip()


class CreateParams(Params):
    """An order of a connection to a service profile; a redundant pair when the profile requires it.

    ``eqx create <name>`` opens the form with the name filled in."""

    positional = ("name",)
    name: str = Field(
        title="Name", description="the connection's name; the secondary gets -SEC", max_length=50
    )
    port: str = Field(title="Primary port", description="the port (uuid) of the primary connection")
    vlan: int = Field(
        title="Primary VLAN", ge=2, le=4092, description="the primary connection's VLAN (2–4092)"
    )
    profile: str = Field(title="Service profile", description="the profile's uuid, e.g. Azure Express Route")
    metro: str = Field(title="Seller metro", description="where the profile is reached, e.g. SV")
    speed: int = Field(title="Speed (Mbps)", ge=1, description="one of the profile's speed bands, in Mbps")
    key: str = Field(
        title="Service key",
        description="the authorization key (Azure: the circuit's service key)",
        max_length=200,
    )
    peering: Peering = Field("PRIVATE", title="Peering / named tag")
    notifications: list[str] = Field(title="Notification emails", description="who Equinix tells of changes")
    secondary_port: str | None = Field(
        None, title="Secondary port", description="for a redundant pair (Azure needs one)"
    )
    secondary_vlan: int | None = Field(None, title="Secondary VLAN", ge=2, le=4092)
    purchase_order: str | None = Field(None, title="Purchase order", max_length=50)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError("a name of up to 46 letters, digits, spaces, dots, dashes and underscores")
        return value

    _port = field_validator("port")(lambda cls, v: uuid(v, "a port uuid"))
    _secondary_port = field_validator("secondary_port")(
        lambda cls, v: None if not v else uuid(v, "a port uuid")
    )
    _profile = field_validator("profile")(lambda cls, v: uuid(v, "a profile uuid"))
    _metro = field_validator("metro")(lambda cls, v: metro(v))
    _key = field_validator("key")(lambda cls, v: v.strip())

    @field_validator("notifications", mode="before")
    @classmethod
    def _emails(cls, value: Any) -> Any:
        emails = words(value)
        bad = [e for e in emails or () if not EMAIL.match(str(e))]
        if bad or not emails:
            raise ValueError("give one or more email addresses")
        return emails

    @model_validator(mode="after")
    def _pair(self) -> CreateParams:
        if (self.secondary_port is None) != (self.secondary_vlan is None):
            raise ValueError("a secondary connection needs both its port and its VLAN")
        if self.secondary_port == self.port and self.secondary_vlan == self.vlan:
            raise ValueError("the secondary needs another port or another VLAN")
        return self

    def target(self) -> str:
        return f"equinix:{self.name}"
