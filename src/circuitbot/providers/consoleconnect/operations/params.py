"""The parameters of the Console Connect commands, checked before anything reaches the API.

Connections are named by their ObjectId (24 hex digits), Azure circuits by their service key
(a GUID), peerings by type (PUBLIC, PRIVATE or MICROSOFT, any case). A peering's values are
checked as Azure checks them: an ASN in range and not Azure's own, a VLAN 1–4094, /30 (or
/126) subnets that do not overlap, and for MICROSOFT the public prefixes and the routing
registry they are registered in.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from circuitbot.actions.registry import Params
from circuitbot.providers.consoleconnect import models as m
from circuitbot.providers.kit import peering as rules

PROVIDER = "consoleconnect"
OBJECT_ID = re.compile(r"^[0-9a-f]{24}$", re.IGNORECASE)
SERVICE_KEY = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
MAX_NAME = 100
PeeringKind = Literal["PUBLIC", "PRIVATE", "MICROSOFT"]
STATUSES = tuple(m.ConnectionStatus)


def object_id(value: str, what: str = "a connection id") -> str:
    value = value.strip()
    if not OBJECT_ID.match(value):
        raise ValueError(f"{what} is 24 hex digits such as 507f1f77bcf86cd799439011; `cc list` shows them")
    return value.lower()


def service_key(value: str) -> str:
    value = value.strip()
    if not SERVICE_KEY.match(value):
        raise ValueError("an Azure service key is a GUID such as bbbb1b1b-cc2c-dd3d-ee4e-ffffff5f5f5f")
    return value.lower()


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


class ConnectionParams(Params):
    positional: ClassVar[tuple[str, ...]] = ("connection_id",)
    connection_id: str = Field(title="Connection", description="the connection's id (24 hex digits)")

    @field_validator("connection_id")
    @classmethod
    def _object_id(cls, value: str) -> str:
        return object_id(value)

    def target(self) -> str:
        return f"{PROVIDER}:{self.connection_id}"


class ListParams(Params):
    positional = ("status",)
    status: str | None = Field(None, description="only connections in this status, e.g. ACTIVE")

    @field_validator("status")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is None:
            return None
        found = next((s.value for s in STATUSES if m.same_status(s, value)), None)
        if found is None:
            raise ValueError(f"the status is one of {', '.join(STATUSES)}")
        return found


class PortsParams(Params):
    pass


class VerifyParams(Params):
    positional = ("service_key",)
    service_key: str = Field(title="Service key", description="the Azure circuit's service key")

    @field_validator("service_key")
    @classmethod
    def _key(cls, value: str) -> str:
        return service_key(value)

    def target(self) -> str:
        return f"{PROVIDER}:{self.service_key}"


class PeeringRefParams(ConnectionParams):
    positional = ("connection_id", "peering_type")
    peering_type: PeeringKind = Field(title="Peering type", description="PUBLIC, PRIVATE or MICROSOFT")

    @field_validator("peering_type", mode="before")
    @classmethod
    def _type_case(cls, value: Any) -> Any:
        return _upper(value)


class CreateParams(Params):
    """A GROUP_LAYER2 order for an Azure circuit: two LAYER2 legs from two of the company's ports."""

    positional = ("service_key",)
    service_key: str = Field(
        title="Service key", description="the Azure circuit's service key (verified first)"
    )
    name: str = Field(description="the connection's name", max_length=MAX_NAME)
    port_a: str = Field(title="Source port A", description="the primary leg's port (`cc ports` lists them)")
    port_b: str = Field(title="Source port B", description="the secondary leg's port, another port")
    speed: int = Field(description="Mbps, at most the circuit's bandwidth", ge=1)
    payment_type: Literal["payg", "invoice"] = Field(
        "payg", title="Payment type", description="payg or invoice"
    )

    @field_validator("service_key")
    @classmethod
    def _key(cls, value: str) -> str:
        return service_key(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("give the connection a name")
        return value

    @field_validator("port_a", "port_b")
    @classmethod
    def _port(cls, value: str) -> str:
        return object_id(value, "a port id")

    @field_validator("port_b")
    @classmethod
    def _two_ports(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("port_a"):
            raise ValueError("Azure needs redundancy: choose two different ports")
        return value

    @field_validator("payment_type", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    def target(self) -> str:
        return f"{PROVIDER}:{self.service_key}"


class PeeringParams(PeeringRefParams):
    """One Azure peering's BGP config. Field order matters: later validators read earlier fields."""

    peer_asn: int = Field(title="Peer ASN", description="your BGP ASN")
    vlan_id: int = Field(title="VLAN ID", description="the VLAN of this peering, 1–4094")
    primary_prefix: str = Field(description="the primary link's /30 subnet")
    secondary_prefix: str = Field(description="the secondary link's /30 subnet")
    shared_key: SecretStr | None = Field(
        None, title="Shared key", description="BGP MD5 key, at most 25 characters"
    )
    advertised_prefixes: list[str] | None = Field(
        None, description="MICROSOFT: the public prefixes you advertise", validate_default=True
    )
    routing_registry: Literal[m.ROUTING_REGISTRIES] | None = Field(  # type: ignore[valid-type]
        None, description="MICROSOFT: where the prefixes are registered", validate_default=True
    )

    @field_validator("peer_asn")
    @classmethod
    def _asn(cls, value: int) -> int:
        return rules.peer_asn(value)

    @field_validator("vlan_id")
    @classmethod
    def _vlan(cls, value: int) -> int:
        return rules.vlan_id(value)

    @field_validator("primary_prefix")
    @classmethod
    def _primary(cls, value: str) -> str:
        return rules.link_subnet(value, "primary")

    @field_validator("secondary_prefix")
    @classmethod
    def _secondary(cls, value: str, info: ValidationInfo) -> str:
        return rules.second_link_subnet(value, info.data.get("primary_prefix"))

    @field_validator("shared_key")
    @classmethod
    def _key_length(cls, value: SecretStr | None) -> SecretStr | None:
        return rules.shared_key(value)

    @field_validator("advertised_prefixes", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return rules.split_prefixes(value)

    @field_validator("advertised_prefixes")
    @classmethod
    def _advertised(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        microsoft = info.data.get("peering_type") == "MICROSOFT"
        return rules.advertised_prefixes(value, microsoft=microsoft, called="MICROSOFT")

    @field_validator("routing_registry", mode="before")
    @classmethod
    def _registry_case(cls, value: Any) -> Any:
        return _upper(value)

    @field_validator("routing_registry")
    @classmethod
    def _registry(cls, value: str | None, info: ValidationInfo) -> str | None:
        microsoft = info.data.get("peering_type") == "MICROSOFT"
        return rules.routing_registry(
            value, microsoft=microsoft, called="MICROSOFT", known=m.ROUTING_REGISTRIES
        )

    def request(self) -> m.PeeringConfigRequest:
        return m.PeeringConfigRequest(
            peer_asn=self.peer_asn,
            vlan_id=self.vlan_id,
            primary_peer_address_prefix=self.primary_prefix,
            secondary_peer_address_prefix=self.secondary_prefix,
            shared_key=self.shared_key,
            advertised_public_prefixes=self.advertised_prefixes,
            routing_registry_name=self.routing_registry,
        )
