"""The parameters of the Azure commands, checked before anything reaches Azure.

Each model is what one command takes (positional words, ``name=value`` pairs or a modal); the
validators turn what people type (any case, short names, a prefix written loosely) into what
Azure accepts, or say what is wrong in words a network engineer recognises.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from circuitbot.actions.registry import Params
from circuitbot.providers.azure import models as m
from circuitbot.providers.azure.client import CROSS_CONNECTION_ID
from circuitbot.providers.kit import peering as rules

SERVICE_KEY = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
PROVIDER_STATES = tuple(m.ServiceProviderProvisioningState)
PROVISIONING_STATES = tuple(m.ProvisioningState)
PEERING_NAMES = {
    "private": m.PeeringType.AZURE_PRIVATE.value,
    "azureprivatepeering": m.PeeringType.AZURE_PRIVATE.value,
    "microsoft": m.PeeringType.MICROSOFT.value,
    "microsoftpeering": m.PeeringType.MICROSOFT.value,
    "ms": m.PeeringType.MICROSOFT.value,
}
MAX_NOTES = 1000


def service_key(value: str) -> str:
    value = value.strip()
    if SERVICE_KEY.match(value):
        return value.lower()
    if CROSS_CONNECTION_ID.match(value):
        return value
    raise ValueError(
        "a service key is a GUID such as 24e6ea2b-6940-4bec-b0b3-3a9e5471e512 (or the cross-connection's "
        "ARM id); `az list` shows them"
    )


def peering_name(value: str) -> str:
    """AzurePrivatePeering or MicrosoftPeering, from any of the ways people write them."""
    name = PEERING_NAMES.get(value.strip().lower().replace("-", "").replace("_", ""))
    if name is None:
        raise ValueError("the peering is private (AzurePrivatePeering) or microsoft (MicrosoftPeering)")
    return name


class KeyParams(Params):
    positional: ClassVar[tuple[str, ...]] = ("key",)
    key: str = Field(
        title="Service key", description="the circuit's service key (the cross-connection's name)"
    )

    @field_validator("key")
    @classmethod
    def _service_key(cls, value: str) -> str:
        return service_key(value)

    def target(self) -> str:
        return f"azure:{self.key}"


class PortsParams(Params):
    positional = ("location",)
    location: str | None = Field(None, description="a peering location, e.g. SiliconValley")


class PortParams(Params):
    positional = ("descriptor",)
    descriptor: str = Field(description="the port pair's descriptor, e.g. bvtazureixpportpair1")


class ListParams(Params):
    positional = ("location",)
    location: str | None = Field(None, description="only circuits at this peering location")
    state: str | None = Field(
        None, description="only circuits in this state (provider or provisioning state), e.g. Provisioned"
    )

    @field_validator("state")
    @classmethod
    def _known_state(cls, value: str | None) -> str | None:
        if value is None:
            return None
        known = {s.value.lower(): s.value for s in (*PROVIDER_STATES, *PROVISIONING_STATES)}
        found = known.get(value.strip().lower().replace("-", "").replace("_", ""))
        if found is None:
            raise ValueError(f"state is one of {', '.join(known.values())}")
        return found


class NotesParams(KeyParams):
    positional = ("key", "text")
    rest_of_line = True
    text: str = Field(description="the notes to set (the rest of the line)", max_length=MAX_NOTES)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("write the notes after the key")
        return value


class MoveParams(KeyParams):
    positional = ("key", "port_pair")
    port_pair: str | None = Field(
        None, description="the port pair to move to; leave it out for the one with the most headroom"
    )


class PeeringsParams(KeyParams):
    pass


class PeeringDeleteParams(KeyParams):
    positional = ("key", "peering")
    peering: str = Field(description="private or microsoft")

    @field_validator("peering")
    @classmethod
    def _peering_name(cls, value: str) -> str:
        return peering_name(value)


class TableParams(KeyParams):
    positional = ("key", "peering", "path")
    peering: str = Field(description="private or microsoft")
    path: Literal["primary", "secondary"] = Field("primary", description="which device: primary or secondary")

    @field_validator("peering")
    @classmethod
    def _peering_name(cls, value: str) -> str:
        return peering_name(value)

    @field_validator("path", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


class CommunitiesParams(Params):
    positional = ("service",)
    service: str | None = Field(None, description="only services or communities whose name has this")


class PeeringParams(KeyParams):
    """A BGP peering of a circuit. Field order matters: later validators read earlier fields."""

    positional = ("key", "peering_type")
    peering_type: Literal["private", "microsoft"] = Field(description="private or microsoft")
    peer_asn: int = Field(title="Peer ASN", description="your BGP ASN, 1–4294967295")
    vlan_id: int = Field(title="VLAN ID", description="the VLAN on the circuit, 1–4094")
    primary_prefix: str = Field(description="the primary link's subnet: an IPv4 /30 (or IPv6 /126)")
    secondary_prefix: str = Field(description="the secondary link's subnet, not overlapping the primary")
    shared_key: SecretStr | None = Field(
        None, title="Shared key", description="BGP MD5 key, at most 25 characters"
    )
    advertised_prefixes: list[str] | None = Field(
        None,
        description="Microsoft peering: the public prefixes you advertise",
        validate_default=True,
    )
    customer_asn: int | None = Field(
        None,
        title="Customer ASN",
        description="Microsoft peering: the ASN the prefixes are registered to, if not yours",
    )
    routing_registry: Literal[m.ROUTING_REGISTRIES] | None = Field(  # type: ignore[valid-type]
        None,
        description="Microsoft peering: where the prefixes are registered",
        validate_default=True,
    )

    @field_validator("peering_type", mode="before")
    @classmethod
    def _short_type(cls, value: Any) -> Any:
        try:
            name = peering_name(value) if isinstance(value, str) else None
        except ValueError:
            return value  # the Literal's own error lists what is allowed
        if name is None:
            return value
        return "microsoft" if name == m.PeeringType.MICROSOFT else "private"

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
        microsoft = info.data.get("peering_type") == "microsoft"
        return rules.advertised_prefixes(value, microsoft=microsoft, called="Microsoft")

    @field_validator("customer_asn")
    @classmethod
    def _customer_asn(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None:
            return None
        if info.data.get("peering_type") != "microsoft":
            raise ValueError("a customer ASN is for Microsoft peering only")
        return rules.customer_asn(value)

    @field_validator("routing_registry", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("routing_registry")
    @classmethod
    def _registry(cls, value: str | None, info: ValidationInfo) -> str | None:
        microsoft = info.data.get("peering_type") == "microsoft"
        return rules.routing_registry(
            value, microsoft=microsoft, called="Microsoft", known=m.ROUTING_REGISTRIES
        )

    @property
    def name(self) -> str:
        return (
            m.PeeringType.MICROSOFT.value
            if self.peering_type == "microsoft"
            else m.PeeringType.AZURE_PRIVATE.value
        )

    @property
    def ipv6(self) -> bool:
        return ipaddress.ip_network(self.primary_prefix).version == 6

    def properties(self) -> dict[str, Any]:
        """The peering's writable properties as Azure spells them (IPv6 prefixes in ipv6PeeringConfig)."""
        properties: dict[str, Any] = {"peerASN": self.peer_asn, "vlanId": self.vlan_id}
        prefixes = {
            "primaryPeerAddressPrefix": self.primary_prefix,
            "secondaryPeerAddressPrefix": self.secondary_prefix,
        }
        if self.ipv6:
            properties["ipv6PeeringConfig"] = prefixes
        else:
            properties.update(prefixes)
        if self.shared_key is not None:
            properties["sharedKey"] = self.shared_key.get_secret_value()
        if self.peering_type == "microsoft":
            config: dict[str, Any] = {
                "advertisedPublicPrefixes": list(self.advertised_prefixes or []),
                "routingRegistryName": self.routing_registry,
            }
            if self.customer_asn is not None:
                config["customerASN"] = self.customer_asn
            properties["microsoftPeeringConfig"] = config
        return properties
