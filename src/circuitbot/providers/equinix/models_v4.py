"""Wire models of Fabric v4 (``/fabric/v4/...``, OpenAPI 4.30), as its examples show it.

Pitfalls of the generation:

* Lists are ``{pagination: {offset, limit, total, next, previous}, data: [...]}``; ``limit`` is
  at most 100. Searches are POSTs whose body carries ``filter`` (``and``/``or`` nesting of
  ``{property, operator, values}``), ``pagination`` and ``sort``.
* A connection's progress is three fields: ``state``, ``operation.equinixStatus`` and
  ``operation.providerStatus``. The live API reports ``state`` ``PROVISIONED`` and
  ``REPROVISIONING`` and ``providerStatus`` ``"PENDING DELETE"``, none of them in the spec.
* A create answers 201 with the connection; a delete 200 with it, both statuses
  ``DEPROVISIONING``. Deleting one already gone answers ``EQ-3142509``.
* The spec's own validate example spells ``aside`` in lower case: unknown fields are kept.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from .wire import Wire

ALREADY_DELETED = "EQ-3142509"
TRANSIENT_STATE = "EQ-3142510"
MAX_LIMIT = 100


class ConnectionState(StrEnum):
    ACTIVE = "ACTIVE"
    CANCELLED = "CANCELLED"
    DEPROVISIONED = "DEPROVISIONED"
    DEPROVISIONING = "DEPROVISIONING"
    DRAFT = "DRAFT"
    FAILED = "FAILED"
    PENDING = "PENDING"
    PROVISIONING = "PROVISIONING"
    PROVISIONED = "PROVISIONED"  # live, not in the spec
    REPROVISIONING = "REPROVISIONING"  # live, not in the spec


class ProviderStatus(StrEnum):
    AVAILABLE = "AVAILABLE"
    NOT_AVAILABLE = "NOT_AVAILABLE"
    PROVISIONING = "PROVISIONING"
    PROVISIONED = "PROVISIONED"
    DEPROVISIONING = "DEPROVISIONING"
    DEPROVISIONED = "DEPROVISIONED"
    PENDING_APPROVAL = "PENDING_APPROVAL"
    PENDING_DELETE = "PENDING DELETE"  # with a space, as the live API sends it
    FAILED = "FAILED"


class Pagination(Wire):
    offset: int | None = None
    limit: int | None = None
    total: int | None = None
    next: str | None = None
    previous: str | None = None


class Location(Wire):
    metro_code: str | None = None
    metro_name: str | None = None
    ibx: str | None = None
    region: str | None = None


class Redundancy(Wire):
    priority: str | None = None  # PRIMARY | SECONDARY
    group: str | None = None


class Encapsulation(Wire):
    type: str | None = None  # DOT1Q | QINQ
    tag_protocol_id: int | str | None = None


class PortSettings(Wire):
    buyout: bool | None = None


class Port(Wire):
    uuid: str | None = None
    name: str | None = None
    type: str | None = None
    state: str | None = None
    bandwidth: int | None = None  # Mbps
    available_bandwidth: int | None = None
    used_bandwidth: int | None = None
    location: Location | None = None
    redundancy: Redundancy | None = None
    encapsulation: Encapsulation | None = None
    settings: PortSettings | None = None


class PortList(Wire):
    pagination: Pagination | None = None
    data: list[Port] | None = None


class ConnectedMetro(Wire):
    code: str | None = None
    avg_latency: int | float | None = None
    remote_vc_bandwidth_max: int | None = Field(None, alias="remoteVCBandwidthMax")


class Metro(Wire):
    code: str | None = None
    name: str | None = None
    region: str | None = None
    connected_metros: list[ConnectedMetro] | None = None


class MetroList(Wire):
    pagination: Pagination | None = None
    data: list[Metro] | None = None


class Charge(Wire):
    type: str | None = None
    price: int | float | None = None


class PriceConnection(Wire):
    type: str | None = None
    bandwidth: int | None = None


class Price(Wire):
    type: str | None = None
    code: str | None = None
    name: str | None = None
    charges: list[Charge] | None = None
    currency: str | None = None
    connection: PriceConnection | None = None


class PriceList(Wire):
    pagination: Pagination | None = None
    data: list[Price] | None = None


class LinkProtocolConfig(Wire):
    encapsulation: str | None = None
    encapsulation_strategy: str | None = None


class AccessPointTypeConfig(Wire):
    type: str | None = None
    supported_bandwidths: list[int] | None = None
    allow_remote_connections: bool | None = None
    allow_custom_bandwidth: bool | None = None
    connection_redundancy_required: bool | None = None
    link_protocol_config: LinkProtocolConfig | None = None


class ProfileMetro(Wire):
    code: str | None = None
    name: str | None = None
    ibxs: list[str] | None = None
    display_name: str | None = None
    seller_regions: dict[str, str] | None = None


class ServiceProfile(Wire):
    uuid: str | None = None
    name: str | None = None
    type: str | None = None
    state: str | None = None
    description: str | None = None
    visibility: str | None = None
    access_point_type_configs: list[AccessPointTypeConfig] | None = None
    metros: list[ProfileMetro] | None = None


class ServiceProfileList(Wire):
    pagination: Pagination | None = None
    data: list[ServiceProfile] | None = None


class Ref(Wire):
    uuid: str | None = None
    name: str | None = None
    type: str | None = None


class LinkProtocol(Wire):
    type: str | None = None
    vlan_tag: int | None = None
    vlan_s_tag: int | None = None
    vlan_c_tag: int | None = None


class AccessPoint(Wire):
    type: str | None = None
    port: Ref | None = None
    profile: Ref | None = None
    location: Location | None = None
    link_protocol: LinkProtocol | None = None
    seller_region: str | None = None
    peering_type: str | None = None
    authentication_key: str | None = None


class Side(Wire):
    access_point: AccessPoint | None = None


class Operation(Wire):
    provider_status: str | None = None
    equinix_status: str | None = None
    operational_status: str | None = None


class Notification(Wire):
    type: str | None = None
    # addresses; spec examples also give one bare string, or nest an object in the list
    emails: list[Any] | str | None = None


class Order(Wire):
    purchase_order_number: str | None = None
    billing_tier: str | None = None
    term_length: int | None = None


class ChangeLog(Wire):
    created_by: str | int | None = None
    created_date_time: str | None = None
    updated_date_time: str | None = None


class Connection(Wire):
    uuid: str | None = None
    name: str | None = None
    type: str | None = None
    state: str | None = None
    operation: Operation | None = None
    order: Order | None = None
    # a list; some spec examples give a single object
    notifications: list[Notification] | Notification | None = None
    change_log: ChangeLog | None = None
    bandwidth: int | None = None
    redundancy: Redundancy | None = None
    a_side: Side | None = None
    z_side: Side | None = None


class ConnectionList(Wire):
    pagination: Pagination | None = None
    data: list[Connection] | None = None


class KeyValue(Wire):
    key: str | None = None
    value: str | None = None


class ValidateResponse(Wire):
    additional_info: list[KeyValue] | None = None
    data: list[Connection] | None = None


class Metric(Wire):
    interval_end_date_time: str | None = None
    max: int | float | None = None
    mean: int | float | None = None


class Direction(Wire):
    max: int | float | None = None
    mean: int | float | None = None
    last_polled: int | float | None = None
    metrics: list[Metric] | None = None


class Utilization(Wire):
    unit: str | None = None
    metric_interval: str | None = None
    inbound: Direction | None = None
    outbound: Direction | None = None


class Stats(Wire):
    start_date_time: str | None = None
    end_date_time: str | None = None
    bandwidth_utilization: Utilization | None = None


class Statistics(Wire):
    uuid: str | None = None
    name: str | None = None
    stats: Stats | None = None
