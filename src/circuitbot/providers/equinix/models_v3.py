"""Wire models of the v3 Layer-2 buyer API (``/ecx/v3/...``), as the seed and ecx-go show it.

Pitfalls of the generation:

* Lists of ports and metros are bare JSON arrays; profiles and buyer connections are pages
  ``{isFirstPage, isLastPage, totalCount, pageSize, pageNumber, content}`` numbered from 0.
* A create answers only ``{message, primaryConnectionId, secondaryConnectionId, status}``, a
  delete ``{message, primaryConnectionId}``: the connection itself must be read afterwards.
* The create body names fields differently from the connection read back: ``primaryName`` is
  ``name``, ``primaryPortUUID`` is ``portUUID``, ``primaryVlanSTag`` is ``vlanSTag``.
* The seed's sample answer of ``GET /l2/connections/{uuid}`` is a page wrapping the
  connection; the client takes either shape.
* Status values: ``status`` and ``providerStatus`` share a set, and ``providerStatus`` adds
  ``NOT_AVAILABLE`` (not yet sent to the provider) and ``AVAILABLE``.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from .wire import Wire


class V3Status(StrEnum):
    PENDING_APPROVAL = "PENDING_APPROVAL"
    PENDING_AUTO_APPROVAL = "PENDING_AUTO_APPROVAL"
    PROVISIONING = "PROVISIONING"
    REJECTED = "REJECTED"
    PENDING_BGP_PEERING = "PENDING_BGP_PEERING"
    PENDING_PROVIDER_VLAN = "PENDING_PROVIDER_VLAN"
    PROVISIONED = "PROVISIONED"
    PENDING_DELETE = "PENDING_DELETE"
    DEPROVISIONING = "DEPROVISIONING"
    DEPROVISIONED = "DEPROVISIONED"
    DELETED = "DELETED"
    NOT_AVAILABLE = "NOT_AVAILABLE"  # providerStatus only
    AVAILABLE = "AVAILABLE"  # providerStatus only


class UserPort(Wire):
    bandwidth: int | None = None
    cross_connect_id: str | None = None
    port_provision_status: str | None = None
    tag_protocol_id: str | None = None


class Port(Wire):
    uuid: str | None = None
    name: str | None = None
    provision_status: str | None = None
    region: str | None = None
    device: str | None = None
    total_bandwidth: int | None = None  # bits per second, though the docs say bytes
    buyout: bool | None = None
    ibx: str | None = None
    metro_code: str | None = None
    metro_description: str | None = None
    device_priority: str | None = None
    encapsulation: str | None = None
    view_port_permission: bool | None = None
    place_vc_order_permission: bool | None = None
    user_ports: list[UserPort] | None = None


class Metro(Wire):
    name: str | None = None
    code: str | None = None
    region: str | None = None
    cloud_reach: list[str] | None = None


class Price(Wire):
    speed_billing_tier: str | None = None
    price: str | None = None


class PriceList(Wire):
    product_name: str | None = None
    connection_type: str | None = None  # localConnection | remoteConnection
    prices: list[Price] | None = None


class PriceResponse(Wire):
    currency: str | None = None
    origin_metro: str | None = None
    destination_metro: str | None = None
    price_list: list[PriceList] | None = None


class SpeedBand(Wire):
    speed: int | float | None = None
    unit: str | None = None


class ProfileMetro(Wire):
    code: str | None = None
    name: str | None = None
    ibxs: list[str] | None = None
    display_name: str | None = None
    seller_regions: dict[str, str] | None = None


class ProfileFeatures(Wire):
    cloud_reach: bool | None = None
    test_profile: bool | None = None


class Profile(Wire):
    uuid: str | None = None
    name: str | None = None
    speed_bands: list[SpeedBand] | None = None
    metros: list[ProfileMetro] | None = None
    required_redundancy: bool | None = None
    allow_custom_speed: bool | None = None
    tag_type: str | None = None  # CTAGED | BOTH | NAMED
    named_tags: list[str] | None = None
    profile_encapsulation: str | None = None
    authorization_key: str | None = None  # a label or pattern, not a key
    organization_name: str | None = None
    features: ProfileFeatures | None = None


class Page(Wire):
    is_first_page: bool | None = None
    is_last_page: bool | None = None
    total_count: int | None = None
    page_size: int | None = None
    page_number: int | None = None


class ProfilePage(Page):
    content: list[Profile] | None = None


class Bandwidth(Wire):
    bandwidth: str | None = None


class Validation(Wire):
    message: str | None = None
    status: str | None = None  # VALID | INVALID
    primary: Bandwidth | None = None
    secondary: Bandwidth | None = None


class Connection(Wire):
    uuid: str | None = None
    name: str | None = None
    status: str | None = None
    provider_status: str | None = None
    speed: int | float | None = None
    speed_unit: str | None = None
    billing_tier: str | None = None
    port_uuid: str | None = Field(None, alias="portUUID")
    port_name: str | None = None
    vlan_s_tag: int | None = Field(None, alias="vlanSTag")
    vlan_c_tag: int | None = Field(None, alias="vlanCTag")
    named_tag: str | None = None
    metro_code: str | None = None
    metro_description: str | None = None
    seller_service_uuid: str | None = Field(None, alias="sellerServiceUUID")
    seller_service_name: str | None = None
    seller_metro_code: str | None = None
    seller_region: str | None = None
    authorization_key: str | None = None
    redundancy_type: str | None = None
    redundancy_group: str | None = None
    redundant_uuid: str | None = Field(None, alias="redundantUUID")
    notifications: list[str] | None = None
    created_date: str | None = None
    last_updated_date: str | None = None


class ConnectionPage(Page):
    content: list[Connection] | None = None


class CreateResponse(Wire):
    message: str | None = None
    primary_connection_id: str | None = None
    secondary_connection_id: str | None = None
    status: str | None = None


class DeleteResponse(Wire):
    message: str | None = None
    primary_connection_id: str | None = None


class StatPoint(Wire):
    time: str | None = None
    max: int | float | None = None
    mean: int | float | None = None


class PortStats(Wire):
    """Utilisation as fractions of ``capacity`` (bits per second)."""

    capacity: int | float | None = None
    inbound_max: int | float | None = None
    inbound_avg: int | float | None = None
    outbound_max: int | float | None = None
    outbound_avg: int | float | None = None
    inbound_last_polled: int | float | None = None
    outbound_last_polled: int | float | None = None
    inbound_stats: list[StatPoint] | None = None
    outbound_stats: list[StatPoint] | None = None
