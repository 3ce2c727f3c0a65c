"""Wire models of the Console Connect API (Azure Direct Connect Partner, layer 2).

Field names follow the request samples of api.consoleconnect.com/docs (examples in
``tests/contracts/data/consoleconnect``) and the Azure ExpressRoute guide (seed 002). Python
names are snake_case with the wire's camelCase as aliases; ``peerASN`` and ``customerASN`` are
spelled out. Every model keeps the fields it does not declare (``extra="allow"``).

Pitfalls these models absorb:

* **Status spelling.** The docs write ``NOT PROVISIONED`` and ``PENDING ACCEPTANCE`` with a
  space; clients in the field compare against ``PENDING_ACCEPTANCE``. Statuses are kept as sent
  and compared through :func:`status_key`, which treats spaces, underscores and case as one.
* **Speed** is a number of Mbps in requests (``"speed": 100``) but an object in connection
  answers (``{"value": 1000, "name": "1000 Mbps"}``); :attr:`Connection.speed_mbps` reads both.
* **The partner's provisioning status** is in ``connection.partner.peering``: a string, or an
  object carrying it; :attr:`Partner.provisioning_status` reads both.
* **Lists** answer ``{"results": [...]}``.

The documentation gives request samples but few answers: the answer shapes here (connection,
peering config, verified key, port) are the fields the guide names, read leniently.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic.alias_generators import to_camel

from circuitbot.providers.base import normalize_state

PARTNER = "AZURE"


def status_key(value: str | None) -> str:
    """A status as compared: ``NOT PROVISIONED``, ``not_provisioned`` → ``not_provisioned``."""
    return normalize_state(value or "")


def same_status(a: str | None, b: str | None) -> bool:
    return status_key(a) == status_key(b)


class ConnectionStatus(StrEnum):
    """A connection's ``status`` as the Layer-2 guide tables it (plus CREATING of the Azure flow)."""

    CREATING = "CREATING"
    PENDING = "PENDING"
    PENDING_ACCEPTANCE = "PENDING ACCEPTANCE"
    ACCEPTED = "ACCEPTED"
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"
    DENIED = "DENIED"
    CANCELLED = "CANCELLED"
    DELETING = "DELETING"
    DELETED = "DELETED"
    MANUAL = "MANUAL"
    ERROR = "ERROR"


class PartnerPeeringStatus(StrEnum):
    """``connection.partner.peering``: Azure's side of the connection (seed 002)."""

    NOT_PROVISIONED = "NOT PROVISIONED"
    PROVISIONING = "PROVISIONING"
    PROVISIONED = "PROVISIONED"
    DEPROVISIONING = "DEPROVISIONING"


class SyncStatus(StrEnum):
    """A peering config's ``syncStatus`` (seed 002)."""

    PENDING = "PENDING"
    SYNCING = "SYNCING"
    SYNCED = "SYNCED"


class PeeringType(StrEnum):
    PUBLIC = "PUBLIC"
    PRIVATE = "PRIVATE"
    MICROSOFT = "MICROSOFT"


class ConnectionType(StrEnum):
    LAYER2 = "LAYER2"
    GROUP_LAYER2 = "GROUP_LAYER2"


class PaymentType(StrEnum):
    PAYG = "payg"
    INVOICE = "invoice"


ROUTING_REGISTRIES = ("ARIN", "APNIC", "AFRINIC", "LACNIC", "RIPENCC", "RADB", "ALTDB", "LEVEL3")


class CCModel(BaseModel):
    """Base of every wire model: camelCase aliases, unknown fields kept."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


# --- requests (the documentation's samples) --------------------------------------------------


class PortRef(CCModel):
    port_id: str


class AzureLayer2CreateRequest(CCModel):
    """``PUT /api/company/{username}/connections/directConnectPartner/AZURE/layer2/create``."""

    azure_service_key: str
    name: str
    src_port: list[PortRef] = Field(default_factory=list)
    speed: float
    payment_type: str | None = None
    src_vlan_request: str | None = None
    class_of_service: str | None = None
    src_config_tag: str | None = None
    discount_code: str | None = None


class ServiceKeyRequest(CCModel):
    """``POST …/directConnectPartner/AZURE/layer2/serviceKey``."""

    service_key: str


class Layer2ConnectionRequest(CCModel):
    """A plain LAYER2 connection request (the Layer-2 guide's sample)."""

    type: str
    name: str
    port_id: str | None = None
    speed: float
    payment_type: str | None = None
    duration: int | None = None
    duration_unit: str | None = None
    dest_port_id: str | None = None
    dest_company: str | None = None
    dest_metro_id: str | None = None


class AwsDcpLayer2Request(CCModel):
    """The AWS Direct Connect Partner request of a third-party script (reference only)."""

    src_port_id: str
    dest_port_id: str | None = None
    src_vlan_request: str | None = None
    speed: float
    name: str
    type: str
    partner: dict[str, Any] | None = None
    region_id: str | None = None
    dest_region_id: str | None = None
    duration: int | None = None
    duration_unit: str | None = None
    evergreen: bool | None = None
    payment_type: str | None = None


class AuthTokenRequest(CCModel):
    """``PUT /api/auth/token`` (the deprecated portal-token sign-in)."""

    email: str
    password: SecretStr


class AuthTokenResponse(CCModel):
    token: SecretStr
    id: str | None = None
    username: str | None = None
    name: str | None = None
    email: str | None = None


class PeeringConfigRequest(CCModel):
    """``POST …/layer2/{connectionId}/peering/{peeringType}``: the BGP side of one Azure peering.

    ``advertisedPublicPrefixes`` and ``routingRegistryName`` are for MICROSOFT only (seed 002).
    """

    peer_asn: int = Field(alias="peerASN")
    vlan_id: int
    primary_peer_address_prefix: str
    secondary_peer_address_prefix: str
    shared_key: SecretStr | None = None
    advertised_public_prefixes: list[str] | None = None
    routing_registry_name: str | None = None
    customer_asn: int | None = Field(None, alias="customerASN")


# --- answers ----------------------------------------------------------------------------------


class Speed(CCModel):
    value: float | None = None
    name: str | None = None


def _mbps(value: Any) -> int | None:
    if isinstance(value, Speed):
        value = value.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def provisioning_status(peering: Any) -> str | None:
    """Azure's provisioning status from ``connection.partner.peering``: the string, or the
    status an object carries (read from JSON as it is, or from a model)."""
    if isinstance(peering, dict):
        for name in ("status", "provisioningStatus", "state"):
            value = peering.get(name)
            if isinstance(value, str):
                return value
        return None
    return peering if isinstance(peering, str) else None


class Partner(CCModel):
    """``connection.partner`` of an Azure connection."""

    peering: str | dict[str, Any] | None = None
    service_key: str | None = None
    name: str | None = None

    @property
    def provisioning_status(self) -> str | None:
        return provisioning_status(self.peering)


class Connection(CCModel):
    """A connection: the GROUP_LAYER2 of an Azure order, or one of its LAYER2 sub-connections."""

    id: str
    type: str | None = None
    status: str | None = None
    name: str | None = None
    speed: Speed | float | None = None
    subconnections: list[Connection] = Field(default_factory=list)
    partner: Partner | None = None
    src_port_id: str | None = None
    dest_port_id: str | None = None
    src_region_id: str | None = None
    dest_region_id: str | None = None
    payment_type: str | None = None
    error_reason: str | None = None
    created_at: str | None = None
    updated_at: str | None = None

    @field_validator("subconnections", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def speed_mbps(self) -> int | None:
        return _mbps(self.speed)

    @property
    def partner_status(self) -> str | None:
        return self.partner.provisioning_status if self.partner is not None else None

    @property
    def service_key(self) -> str | None:
        return self.partner.service_key if self.partner is not None else None

    def is_active(self) -> bool:
        return same_status(self.status, ConnectionStatus.ACTIVE)


class ConnectionList(CCModel):
    results: list[Connection] = Field(default_factory=list)
    total: int | None = None


class Port(CCModel):
    id: str
    port_name: str | None = None
    speed: Speed | float | None = None
    status: str | None = None
    data_center_facility: dict[str, Any] | None = None
    region_id: str | None = None

    @property
    def speed_mbps(self) -> int | None:
        return _mbps(self.speed)

    @property
    def facility(self) -> str | None:
        facility = self.data_center_facility or {}
        name = facility.get("name")
        return name if isinstance(name, str) else None


class PortList(CCModel):
    results: list[Port] = Field(default_factory=list)


class ServiceKeyInfo(CCModel):
    """What a verified service key resolves to; only what is present is shown."""

    service_key: str | None = None
    bandwidth: float | None = None
    bandwidth_in_mbps: float | None = None
    peering_location: str | None = None
    service_provider_name: str | None = None
    status: str | None = None

    @property
    def mbps(self) -> int | None:
        return _mbps(self.bandwidth_in_mbps if self.bandwidth_in_mbps is not None else self.bandwidth)


class PeeringConfig(CCModel):
    """A peering config as read back, with its ``syncStatus``. Its shared key is never shown."""

    peering_type: str | None = None
    peer_asn: int | None = Field(None, alias="peerASN")
    vlan_id: int | None = None
    primary_peer_address_prefix: str | None = None
    secondary_peer_address_prefix: str | None = None
    shared_key: SecretStr | None = None
    advertised_public_prefixes: list[str] | None = None
    routing_registry_name: str | None = None
    customer_asn: int | None = Field(None, alias="customerASN")
    sync_status: str | None = None
    updated_at: str | None = None

    @field_validator("advertised_public_prefixes", mode="before")
    @classmethod
    def _comma_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value
