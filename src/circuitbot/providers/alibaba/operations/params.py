"""The parameters of the Alibaba commands, checked before anything reaches Alibaba.

The rules are the documented ones (seed 004, the SDK texts): a name of 2–128 characters
(letters, digits, ``.``, ``_``, ``-``) starting with a letter and not with ``http://`` or
``https://``; a description of 2–256 characters starting with a letter; a bandwidth of 2–10240
Mbps; the documented line operators and port types.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from circuitbot.actions.registry import Params
from circuitbot.providers.alibaba import models as m

PC_ID = re.compile(r"^pc-[a-z0-9]{4,40}$")
REGION = re.compile(r"^[a-z]{2,}(-[a-z0-9]+){1,3}$")
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{1,127}$")
LineOperator = Literal["CT", "CU", "CM", "CO", "Equinix", "Other"]
PortType = Literal[
    "100Base-T", "1000Base-T", "1000Base-LX", "10GBase-T", "10GBase-LR", "40GBase-LR", "100GBase-LR"
]
STATUS_WORDS = {m.status_key(s.value): s.value for s in m.Status}


def spelled(choices: tuple[str, ...]) -> Any:
    """A before-validator giving a value in any case its documented spelling (``ct`` → ``CT``)."""

    def normalize(cls: Any, value: Any) -> Any:
        if isinstance(value, str):
            return {c.lower(): c for c in choices}.get(value.strip().lower(), value)
        return value

    return classmethod(normalize)


def pc_id(value: str) -> str:
    value = value.strip().lower()
    if not PC_ID.match(value):
        raise ValueError("a physical connection id looks like pc-119mfjzm7; `ali list` shows them")
    return value


def region(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    if not REGION.match(value):
        raise ValueError("a region id looks like cn-hangzhou or ap-southeast-1")
    return value


def name(value: str | None) -> str | None:
    if value is None:
        return None
    if value.lower().startswith(("http://", "https://")):
        raise ValueError("a name cannot start with http:// or https://")
    if not NAME.match(value):
        raise ValueError(
            "a name is 2–128 letters, digits, periods, underscores or hyphens, starting with a letter"
        )
    return value


def description(value: str | None) -> str | None:
    if value is None:
        return None
    if value.lower().startswith(("http://", "https://")):
        raise ValueError("a description cannot start with http:// or https://")
    if not 2 <= len(value) <= 256 or not value[0].isalpha():
        raise ValueError("a description is 2–256 characters, starting with a letter")
    return value


class PcParams(Params):
    positional: ClassVar[tuple[str, ...]] = ("pc_id",)
    pc_id: str = Field(title="Physical connection", description="its id, e.g. pc-119mfjzm7")
    region: str | None = Field(
        None, description="its region, if not one of the watched ones (e.g. cn-hangzhou)"
    )

    _pc_id = field_validator("pc_id")(classmethod(lambda cls, v: pc_id(v)))
    _region = field_validator("region")(classmethod(lambda cls, v: region(v)))

    def target(self) -> str:
        return f"alibaba:{self.pc_id}"


class ListParams(Params):
    status: str | None = Field(None, description="only this status, e.g. Enabled or Allocating")
    name: str | None = Field(None, description="only this name")
    access_point: str | None = Field(None, description="only this access point, e.g. ap-cn-beijing-ft-A")
    operator: str | None = Field(
        None, description="only this line operator: CT, CU, CM, CO, Equinix or Other"
    )
    region: str | None = Field(None, description="only this region")

    @field_validator("status")
    @classmethod
    def _status(cls, value: str | None) -> str | None:
        if value is None:
            return None
        found = STATUS_WORDS.get(m.status_key(value))
        if found is None:
            raise ValueError(f"status is one of {', '.join(STATUS_WORDS.values())}")
        return found

    @field_validator("operator")
    @classmethod
    def _operator(cls, value: str | None) -> str | None:
        if value is None:
            return None
        found = {o.lower(): o for o in m.LINE_OPERATORS}.get(value.strip().lower())
        if found is None:
            raise ValueError(f"the line operator is one of {', '.join(m.LINE_OPERATORS)}")
        return found

    _region = field_validator("region")(classmethod(lambda cls, v: region(v)))


class CreateParams(Params):
    positional: ClassVar[tuple[str, ...]] = ("access_point",)
    region: str | None = Field(
        None, description="where to apply, e.g. cn-beijing (default: the configured one)"
    )
    access_point: str = Field(description="the access point id, e.g. ap-cn-beijing-ft-A")
    line_operator: LineOperator = Field(description="CT, CU, CM, CO (China), Equinix or Other")
    port_type: PortType = Field(
        "1000Base-T", description="40GBase-LR and 100GBase-LR need the account manager"
    )
    peer_location: str = Field(max_length=256, description="where your data center is")
    bandwidth: int = Field(100, ge=2, le=10240, description="Mbps, 2–10240")
    redundant_id: str | None = Field(
        None, title="Redundant connection", description="a connection in Allocated, Confirmed or Enabled"
    )
    circuit_code: str | None = Field(None, max_length=64, description="the carrier's circuit code")
    name: str | None = Field(None, description="2–128 characters, starting with a letter")
    description: str | None = Field(None, description="2–256 characters, starting with a letter")

    _region = field_validator("region")(classmethod(lambda cls, v: region(v)))
    _name = field_validator("name")(classmethod(lambda cls, v: name(v)))
    _description = field_validator("description")(classmethod(lambda cls, v: description(v)))
    _operator = field_validator("line_operator", mode="before")(spelled(m.LINE_OPERATORS))
    _port = field_validator("port_type", mode="before")(spelled(m.PORT_TYPES))

    @field_validator("redundant_id")
    @classmethod
    def _redundant(cls, value: str | None) -> str | None:
        return pc_id(value) if value else None

    def target(self) -> str:
        return f"alibaba:{self.name or self.access_point}"

    def wire(self) -> dict[str, Any]:
        """The fields as CreatePhysicalConnection takes them (``bandwidth`` in lower case, as the SDK
        sends it)."""
        fields = {
            "AccessPointId": self.access_point,
            "LineOperator": self.line_operator,
            "PortType": self.port_type,
            "PeerLocation": self.peer_location,
            "bandwidth": self.bandwidth,
            "RedundantPhysicalConnectionId": self.redundant_id,
            "CircuitCode": self.circuit_code,
            "Name": self.name,
            "Description": self.description,
        }
        return {k: v for k, v in fields.items() if v is not None}


# Modify's fields: parameter name -> (wire name, model attribute).
MODIFIABLE = {
    "name": ("Name", "name"),
    "description": ("Description", "description"),
    "line_operator": ("LineOperator", "line_operator"),
    "port_type": ("PortType", "port_type"),
    "peer_location": ("PeerLocation", "peer_location"),
    "bandwidth": ("bandwidth", "bandwidth"),
    "circuit_code": ("CircuitCode", "circuit_code"),
    "redundant_id": ("RedundantPhysicalConnectionId", "redundant_physical_connection_id"),
}
SPEC_FIELDS = ("port_type", "bandwidth", "redundant_id")  # only in Initial or Rejected


class ModifyParams(PcParams):
    # Given only the id, the command opens its modal: the changes are all optional.
    modal_unless_one_of: ClassVar[tuple[str, ...]] = tuple(MODIFIABLE)

    name: str | None = Field(None, description="2–128 characters, starting with a letter")
    description: str | None = Field(None, description="2–256 characters, starting with a letter")
    line_operator: LineOperator | None = Field(None, description="CT, CU, CM, CO, Equinix or Other")
    port_type: PortType | None = Field(None, description="only in Initial or Rejected")
    peer_location: str | None = Field(None, max_length=256, description="where your data center is")
    bandwidth: int | None = Field(
        None, ge=2, le=10240, description="Mbps, 2–10240; only in Initial or Rejected"
    )
    circuit_code: str | None = Field(None, max_length=64, description="the carrier's circuit code")
    redundant_id: str | None = Field(
        None, title="Redundant connection", description="only in Initial or Rejected"
    )

    _name = field_validator("name")(classmethod(lambda cls, v: name(v)))
    _description = field_validator("description")(classmethod(lambda cls, v: description(v)))
    _operator = field_validator("line_operator", mode="before")(spelled(m.LINE_OPERATORS))
    _port = field_validator("port_type", mode="before")(spelled(m.PORT_TYPES))

    @field_validator("redundant_id")
    @classmethod
    def _redundant(cls, value: str | None) -> str | None:
        return pc_id(value) if value else None

    @model_validator(mode="after")
    def _something(self) -> ModifyParams:
        if not self.changes():
            raise ValueError(f"say what to change: {', '.join(n.replace('_', '-') for n in MODIFIABLE)}")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields given, by parameter name."""
        return {n: getattr(self, n) for n in MODIFIABLE if getattr(self, n) is not None}
