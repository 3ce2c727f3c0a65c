"""Wire models of Alibaba Cloud Express Connect (VPC API 2016-04-28): physical connections and
the virtual border routers (VBRs) on them.

Field names are the wire's PascalCase (the SDK model comments, ``tests/contracts/data/alibaba``,
and the seed's examples); Python names are snake_case with the wire names as aliases. Every
model keeps fields it does not declare (``extra="allow"``), so nothing is lost when the service
adds one.

Pitfalls of the wire:

* Types wander between documents: ``Bandwidth`` is a number in the JSON example and a String
  in the 2019 parameter table; ``HasReservationData`` is the string ``"true"``; ``TotalCount``
  of the VBR listing is a String. Numbers are read leniently.
* A list comes wrapped in an object named after its item type:
  ``PhysicalConnectionSet.PhysicalConnectionType[]``,
  ``VirtualBorderRouterForPhysicalConnectionSet.VirtualBorderRouterForPhysicalConnectionType[]``.
* ``Status`` writes ``Allocation Failed`` with a space in its list of values and
  ``AllocationFailed`` in the rules of Delete and Modify; both are read as the same state.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_pascal

API_VERSION = "2016-04-28"


class Status(StrEnum):
    """A physical connection's ``Status`` (documented values)."""

    INITIAL = "Initial"
    APPROVED = "Approved"
    ALLOCATING = "Allocating"
    ALLOCATED = "Allocated"
    CONFIRMED = "Confirmed"
    ENABLED = "Enabled"
    REJECTED = "Rejected"
    CANCELED = "Canceled"
    ALLOCATION_FAILED = "AllocationFailed"
    TERMINATING = "Terminating"
    TERMINATED = "Terminated"


class BusinessStatus(StrEnum):
    NORMAL = "Normal"
    FINANCIAL_LOCKED = "FinancialLocked"  # overdue payment: the account is delinquent
    SECURITY_LOCKED = "SecurityLocked"


LINE_OPERATORS = ("CT", "CU", "CM", "CO", "Equinix", "Other")
PORT_TYPES = (
    "100Base-T",
    "1000Base-T",
    "1000Base-LX",
    "10GBase-T",
    "10GBase-LR",
    "40GBase-LR",  # 40G and 100G only after the account manager enabled them
    "100GBase-LR",
)
FILTER_KEYS = (
    "PhysicalConnectionId",
    "AccessPointId",
    "Type",
    "LineOperator",
    "Spec",
    "Status",
    "Name",
    "ProductType",
)


def status_key(value: str | None) -> str:
    """A status compared without case, spaces or dashes: ``Allocation Failed`` is ``AllocationFailed``."""
    return "".join((value or "").replace("-", "").replace("_", "").split()).casefold()


class AlibabaModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="allow")


class Tag(AlibabaModel):
    key: str | None = None
    value: str | None = None


class Tags(AlibabaModel):
    # The SDK names the inner list ``tags`` in lower case.
    tags: list[Tag] = Field(default_factory=list, alias="tags")


class PhysicalConnection(AlibabaModel):
    """One item of ``DescribePhysicalConnections``."""

    physical_connection_id: str
    name: str | None = None
    description: str | None = None
    status: str | None = None
    business_status: str | None = None
    access_point_id: str | None = None
    access_point_type: str | None = None
    line_operator: str | None = None
    port_type: str | None = None
    port_number: str | None = None
    spec: str | None = None
    bandwidth: int | None = None
    peer_location: str | None = None
    circuit_code: str | None = None
    redundant_physical_connection_id: str | None = None
    type: str | None = None
    product_type: str | None = None
    charge_type: str | None = None
    creation_time: str | None = None
    enabled_time: str | None = None
    end_time: str | None = None
    loa_status: str | None = None
    ad_location: str | None = None
    ad_detail_location: str | None = None
    has_reservation_data: str | None = None
    resource_group_id: str | None = None
    tags: Tags | None = None

    @field_validator("bandwidth", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return int(value) if value.isdigit() else None
        return value

    @field_validator("has_reservation_data", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value).lower() if isinstance(value, bool) else value

    def is_(self, *states: str) -> bool:
        """Whether ``Status`` is one of ``states`` (compared as ``status_key`` does)."""
        return status_key(self.status) in {status_key(s) for s in states}


class PhysicalConnectionSet(AlibabaModel):
    physical_connection_type: list[PhysicalConnection] = Field(default_factory=list)


class DescribePhysicalConnectionsResponse(AlibabaModel):
    request_id: str | None = None
    page_number: int = 1
    page_size: int = 10
    total_count: int = 0
    physical_connection_set: PhysicalConnectionSet = Field(default_factory=PhysicalConnectionSet)

    @property
    def items(self) -> list[PhysicalConnection]:
        return self.physical_connection_set.physical_connection_type


class VirtualBorderRouter(AlibabaModel):
    """One item of ``DescribeVirtualBorderRoutersForPhysicalConnection``."""

    vbr_id: str
    status: str | None = None
    vlan_id: str | None = None
    circuit_code: str | None = None
    creation_time: str | None = None
    activation_time: str | None = None
    termination_time: str | None = None
    recovery_time: str | None = None
    local_gateway_ip: str | None = None
    peer_gateway_ip: str | None = None
    peering_subnet_mask: str | None = None
    vbr_owner_uid: str | None = None
    type: str | None = None

    @field_validator("vlan_id", "vbr_owner_uid", "creation_time", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class VirtualBorderRouterSet(AlibabaModel):
    virtual_border_router_for_physical_connection_type: list[VirtualBorderRouter] = Field(
        default_factory=list
    )


class DescribeVbrsResponse(AlibabaModel):
    request_id: str | None = None
    page_number: int = 1
    page_size: int = 10
    total_count: int = 0
    virtual_border_router_for_physical_connection_set: VirtualBorderRouterSet = Field(
        default_factory=VirtualBorderRouterSet
    )

    @property
    def items(self) -> list[VirtualBorderRouter]:
        wrapper = self.virtual_border_router_for_physical_connection_set
        return wrapper.virtual_border_router_for_physical_connection_type


class CreatePhysicalConnectionResponse(AlibabaModel):
    request_id: str | None = None
    physical_connection_id: str


class RequestIdResponse(AlibabaModel):
    """The answer of Cancel, Enable, Terminate, Delete and Modify: the request id alone."""

    request_id: str | None = None


class ErrorBody(AlibabaModel):
    """``{RequestId, HostId, Code, Message, Recommend}``, the error answer of every action."""

    request_id: str | None = None
    host_id: str | None = None
    code: str | None = None
    message: str | None = None
    recommend: str | None = None
