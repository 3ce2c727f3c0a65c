"""The Azure ExpressRoute partner commands: ``/circuit az <verb> …``.

Reads (port pairs, cross-connections, peerings, communities, the device tables) answer with
Block Kit from ``render``. Changes (provisioning state, notes, port-pair moves, peerings) are
mutating operations: the approval engine previews them, an approver approves, and execution
writes on condition of the etag the preview read (compared with a fresh read before writing,
as ARM may not enforce ``If-Match``, and sent as ``If-Match``), so a circuit that changed in
between is refused rather than overwritten; a peering is created with ``If-None-Match: *``.
Every change is then followed by a watch of the circuit.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from pydantic import Field, SecretStr, ValidationInfo, field_validator

from circuitbot.actions.registry import (
    OpContext,
    Operation,
    OperationError,
    OutcomeUnknown,
    Params,
    Preview,
    Refused,
    Registry,
    WatchTarget,
)
from circuitbot.chat.reply import Reply
from circuitbot.providers.azure import models as m
from circuitbot.providers.azure import render
from circuitbot.providers.azure.client import CROSS_CONNECTION_ID, AzurePartnerClient, Fetched
from circuitbot.providers.azure.errors import (
    AzureCloudError,
    AzureOperationTimeout,
    AzureWriteUnconfirmed,
    NotFound,
    PreconditionFailed,
)
from circuitbot.providers.http import ProviderHTTPError

PROVIDER = "azure"

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
MAX_ASN = 4_294_967_295
RESERVED_ASNS = frozenset({12076, *range(65515, 65521)})  # Azure's own and its internal ones
MAX_SHARED_KEY = 25
MAX_NOTES = 1000
RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


# --- talking to Azure -------------------------------------------------------------------------


def client_of(ctx: OpContext) -> AzurePartnerClient:
    return ctx.provider(PROVIDER)


@asynccontextmanager
async def azure_errors(key: str | None = None) -> AsyncIterator[None]:
    """Provider failures as OperationErrors carrying Azure's code and message."""
    try:
        yield
    except PreconditionFailed:
        raise OperationError(
            f"{key or 'the resource'} changed since the request was reviewed for approval (its etag no "
            "longer matches), so nothing was written; request it again to review the current state"
        ) from None
    except AzureWriteUnconfirmed as exc:
        raise OutcomeUnknown(f"{exc.message} `az show {key}` tells which.") from None
    except NotFound as exc:
        hint = " `az list` shows the circuits." if exc.code == "CrossConnectionNotFound" else ""
        raise OperationError(f"Azure {exc.code or 'NotFound'}: {exc.message}{hint}") from None
    except AzureCloudError as exc:
        raise OperationError(f"Azure {exc.code or exc.status}: {exc.message}") from None
    except AzureOperationTimeout as exc:
        raise OutcomeUnknown(f"{exc}; it may still finish, `az show {key}` tells") from None
    except ProviderHTTPError as exc:
        raise OperationError(str(exc)) from None
    except httpx.HTTPError as exc:
        raise OperationError(f"could not reach Azure ({exc.__class__.__name__})") from None


async def read_cross_connection(ctx: OpContext, key: str) -> Fetched[m.ExpressRouteCrossConnection]:
    async with azure_errors(key):
        return await client_of(ctx).get_cross_connection(key)


def _region(name: str | None) -> str:
    """Azure compares location names without case or spaces ("EUAP Test" is "euaptest")."""
    return (name or "").replace(" ", "").lower()


def _refuse_while_busy(
    what: str, resource: m.ExpressRouteCrossConnection | m.ExpressRouteCrossConnectionPeering
) -> None:
    """Refused while another change of the circuit (or peering) runs: Azure would answer 409."""
    properties = (
        render.cc_properties(resource)
        if isinstance(resource, m.ExpressRouteCrossConnection)
        else render.peering_properties(resource)
    )
    state = properties.provisioning_state
    if (state or "").lower() in ("updating", "deleting"):
        raise Refused(f"{what} is {state}: another change is still running; try again once it finished")


# --- parameters -------------------------------------------------------------------------------


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
    positional = ("key",)
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


def _prefix(value: str, field: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A /30 (IPv4) or /126 (IPv6) subnet, written from its first address."""
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"{value} is not a prefix; write it as 10.0.0.0/30 (or an IPv6 /126)") from None
    wanted = 30 if network.version == 4 else 126
    if "/" not in value or network.prefixlen != wanted:
        raise ValueError(f"the {field} prefix is an IPv4 /30 or an IPv6 /126, not /{network.prefixlen}")
    if network.network_address != ipaddress.ip_address(value.split("/")[0]):
        raise ValueError(f"{value} has host bits set; the /{wanted} starts at {network}")
    return network


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
        if not 1 <= value <= MAX_ASN:
            raise ValueError(f"the peer ASN is 1–{MAX_ASN}")
        if value in RESERVED_ASNS:
            raise ValueError("ASNs 12076 and 65515–65520 are Azure's own; use another")
        return value

    @field_validator("vlan_id")
    @classmethod
    def _vlan(cls, value: int) -> int:
        if not 1 <= value <= 4094:
            raise ValueError("the VLAN is 1–4094")
        return value

    @field_validator("primary_prefix")
    @classmethod
    def _primary(cls, value: str) -> str:
        return str(_prefix(value, "primary"))

    @field_validator("secondary_prefix")
    @classmethod
    def _secondary(cls, value: str, info: ValidationInfo) -> str:
        secondary = _prefix(value, "secondary")
        primary_text = info.data.get("primary_prefix")
        if primary_text:
            primary = ipaddress.ip_network(primary_text)
            if primary.version != secondary.version:
                raise ValueError("the primary and secondary prefixes are both IPv4 or both IPv6")
            if primary.overlaps(secondary):
                raise ValueError(f"{secondary} overlaps the primary {primary}; use two separate subnets")
        return str(secondary)

    @field_validator("shared_key")
    @classmethod
    def _key_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) > MAX_SHARED_KEY:
            raise ValueError(f"the shared key is at most {MAX_SHARED_KEY} characters")
        return value

    @field_validator("advertised_prefixes", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part for part in re.split(r"[\s,]+", value) if part]
        return value

    @field_validator("advertised_prefixes")
    @classmethod
    def _advertised(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        microsoft = info.data.get("peering_type") == "microsoft"
        if not microsoft:
            if value:
                raise ValueError("advertised prefixes are for Microsoft peering only")
            return None
        if not value:
            raise ValueError("Microsoft peering needs the public prefixes you advertise")
        prefixes = []
        for text in value:
            try:
                network = ipaddress.ip_network(text, strict=True)
            except ValueError:
                raise ValueError(f"{text} is not a prefix (or has host bits set)") from None
            if any(network.subnet_of(private) for private in RFC1918 if private.version == network.version):
                raise ValueError(f"{text} is private address space; Microsoft peering needs public prefixes")
            prefixes.append(str(network))
        return prefixes

    @field_validator("customer_asn")
    @classmethod
    def _customer_asn(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None:
            return None
        if info.data.get("peering_type") != "microsoft":
            raise ValueError("a customer ASN is for Microsoft peering only")
        if not 1 <= value <= MAX_ASN:
            raise ValueError(f"the customer ASN is 1–{MAX_ASN}")
        return value

    @field_validator("routing_registry", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("routing_registry")
    @classmethod
    def _registry(cls, value: str | None, info: ValidationInfo) -> str | None:
        microsoft = info.data.get("peering_type") == "microsoft"
        if microsoft and value is None:
            raise ValueError(
                f"Microsoft peering needs the routing registry: {', '.join(m.ROUTING_REGISTRIES)}"
            )
        if not microsoft and value is not None:
            raise ValueError("a routing registry is for Microsoft peering only")
        return value

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


# --- port pairs -------------------------------------------------------------------------------


async def ports_execute(ctx: OpContext, params: PortsParams) -> list[m.ExpressRouteProviderPort]:
    async with azure_errors():
        return await client_of(ctx).list_provider_ports(params.location)


def ports_render(result: list[m.ExpressRouteProviderPort], params: PortsParams, ctx: OpContext) -> Reply:
    return render.port_pairs(
        result, location=params.location, page=params.page, command_text=ctx.command_text
    )


async def port_execute(ctx: OpContext, params: PortParams) -> m.ExpressRouteProviderPort:
    async with azure_errors():
        pair = await client_of(ctx).get_provider_port(params.descriptor)
    if pair is None:
        raise OperationError(f"no port pair `{params.descriptor}`; `az ports` lists them")
    return pair


def port_render(result: m.ExpressRouteProviderPort, params: PortParams, ctx: OpContext) -> Reply:
    return render.port_pair(result)


# --- cross-connections ------------------------------------------------------------------------


async def list_execute(ctx: OpContext, params: ListParams) -> list[m.ExpressRouteCrossConnection]:
    async with azure_errors():
        items = await client_of(ctx).list_cross_connections()
    if params.location:
        items = [
            c for c in items if _region(render.cc_properties(c).peering_location) == _region(params.location)
        ]
    if params.state:
        wanted = params.state.lower()
        items = [
            c
            for c in items
            if wanted
            in (
                (render.cc_properties(c).service_provider_provisioning_state or "").lower(),
                (render.cc_properties(c).provisioning_state or "").lower(),
            )
        ]
    return sorted(items, key=lambda c: (_region(render.cc_properties(c).peering_location), c.name or ""))


def list_render(result: list[m.ExpressRouteCrossConnection], params: ListParams, ctx: OpContext) -> Reply:
    filters = "".join(
        [
            f" at {params.location}" if params.location else "",
            f" in state {params.state}" if params.state else "",
        ]
    )
    return render.cross_connections(result, filters=filters, page=params.page, command_text=ctx.command_text)


async def show_execute(ctx: OpContext, params: KeyParams) -> m.ExpressRouteCrossConnection:
    return (await read_cross_connection(ctx, params.key)).model


def show_render(result: m.ExpressRouteCrossConnection, params: KeyParams, ctx: OpContext) -> Reply:
    return render.cross_connection(result)


def follow_circuit(params: KeyParams, result: Any) -> WatchTarget:
    return WatchTarget(PROVIDER, params.key)


@dataclass(frozen=True)
class Changed:
    """A cross-connection before and after a change."""

    title: str
    before: m.ExpressRouteCrossConnection
    after: m.ExpressRouteCrossConnection


def changed_render(result: Changed, params: Params, ctx: OpContext) -> Reply:
    return render.changed(result.title, result.before, result.after)


def _etag(ctx: OpContext) -> str:
    etag = (ctx.precondition or {}).get("etag")
    if not etag:
        raise OperationError("the request carries no etag from its preview; request it again")
    return str(etag)


# --- provisioning state and notes -------------------------------------------------------------


def _state_operation(state: m.ServiceProviderProvisioningState) -> tuple[Callable, Callable, Callable]:
    """Preview, execute and verify of setting serviceProviderProvisioningState to ``state``."""

    async def preview(ctx: OpContext, params: KeyParams) -> Preview:
        current = await read_cross_connection(ctx, params.key)
        now = render.cc_properties(current.model).service_provider_provisioning_state
        if (now or "").lower() == state.lower():
            raise Refused(f"{params.key} is already {state}")
        _refuse_while_busy(params.key, current.model)
        notes = []
        if state is m.ServiceProviderProvisioningState.PROVISIONED:
            notes.append(
                "Tells the customer layer 2 is up: they can then configure peerings and connections."
            )
        else:
            notes.append("Tells Azure the circuit no longer has layer-2 connectivity at the partner.")
        return Preview(
            summary=f"set {params.key} to {state}",
            changes=[("serviceProviderProvisioningState", now, state.value)],
            precondition={"etag": current.etag},
            notes=notes,
        )

    async def execute(ctx: OpContext, params: KeyParams) -> Changed:
        etag = _etag(ctx)
        async with azure_errors(params.key):
            client = client_of(ctx)
            before = await client.get_cross_connection(params.key)
            after = await client.set_provisioning_state(before, state.value, if_match=etag)
        return Changed(f"{params.key} is now {state}.", before.model, after.model)

    async def verify(ctx: OpContext, params: KeyParams, precondition: dict[str, Any]) -> bool:
        current = await read_cross_connection(ctx, params.key)
        return (render.cc_properties(current.model).service_provider_provisioning_state or "") == state.value

    return preview, execute, verify


provision_preview, provision_execute, provision_verify = _state_operation(
    m.ServiceProviderProvisioningState.PROVISIONED
)
deprovision_preview, deprovision_execute, deprovision_verify = _state_operation(
    m.ServiceProviderProvisioningState.NOT_PROVISIONED
)


async def notes_preview(ctx: OpContext, params: NotesParams) -> Preview:
    current = await read_cross_connection(ctx, params.key)
    now = render.cc_properties(current.model).service_provider_notes
    if (now or "") == params.text:
        raise Refused(f"the notes of {params.key} already say that")
    _refuse_while_busy(params.key, current.model)
    return Preview(
        summary=f"set the notes of {params.key}",
        changes=[("serviceProviderNotes", now, params.text)],
        precondition={"etag": current.etag},
    )


async def notes_execute(ctx: OpContext, params: NotesParams) -> Changed:
    etag = _etag(ctx)
    async with azure_errors(params.key):
        client = client_of(ctx)
        before = await client.get_cross_connection(params.key)
        after = await client.set_notes(before, params.text, if_match=etag)
    return Changed(f"The notes of {params.key} are updated.", before.model, after.model)


async def notes_verify(ctx: OpContext, params: NotesParams, precondition: dict[str, Any]) -> bool:
    current = await read_cross_connection(ctx, params.key)
    return render.cc_properties(current.model).service_provider_notes == params.text


# --- moving a circuit to another port pair (circuit placement, seed 000) ----------------------


def _ports_of(pair: m.ExpressRouteProviderPort) -> tuple[str, str]:
    ports = render.pair_properties(pair)
    return (ports.primary_azure_port or "", ports.secondary_azure_port or "")


def _remaining(pair: m.ExpressRouteProviderPort) -> int:
    return render.pair_properties(pair).remaining_bandwidth_in_mbps or 0


@dataclass
class Placement:
    """A circuit and the port pairs it could sit on: those at its own peering location."""

    key: str
    current: Fetched[m.ExpressRouteCrossConnection] = field(repr=False)  # its peerings' keys inside
    pairs: list[m.ExpressRouteProviderPort]  # at the circuit's peering location

    @property
    def properties(self) -> m.ExpressRouteCrossConnectionProperties:
        return render.cc_properties(self.current.model)

    @property
    def bandwidth(self) -> int:
        return self.properties.bandwidth_in_mbps or 0

    @property
    def location(self) -> str:
        return self.properties.peering_location or "?"

    @property
    def ports(self) -> tuple[str, str]:
        return (self.properties.primary_azure_port or "", self.properties.secondary_azure_port or "")

    @property
    def current_pair(self) -> m.ExpressRouteProviderPort | None:
        here = tuple(p.lower() for p in self.ports)
        return next((p for p in self.pairs if tuple(x.lower() for x in _ports_of(p)) == here), None)

    def is_current(self, pair: m.ExpressRouteProviderPort) -> bool:
        current = self.current_pair
        return current is not None and (current.descriptor or "").lower() == (pair.descriptor or "").lower()

    def eligible(self) -> list[m.ExpressRouteProviderPort]:
        """Pairs it could move to, most headroom first."""
        fits = [p for p in self.pairs if not self.is_current(p) and _remaining(p) >= self.bandwidth]
        return sorted(fits, key=lambda p: (-_remaining(p), p.descriptor or ""))

    def find(self, descriptor: str) -> m.ExpressRouteProviderPort | None:
        return next(
            (p for p in self.pairs if (p.descriptor or "").lower() == descriptor.strip().lower()), None
        )

    def headroom(self) -> str:
        parts = []
        for pair in sorted(self.pairs, key=lambda p: p.descriptor or ""):
            tag = " (current)" if self.is_current(pair) else ""
            fits = "" if self.is_current(pair) or _remaining(pair) >= self.bandwidth else ", too little"
            parts.append(f"{pair.descriptor}{tag}: {render.mbps(_remaining(pair))} free{fits}")
        return f"Port pairs at {self.location}: " + "; ".join(parts)


async def placement(ctx: OpContext, key: str) -> Placement:
    current = await read_cross_connection(ctx, key)
    location = render.cc_properties(current.model).peering_location
    async with azure_errors(key):
        pairs = await client_of(ctx).list_provider_ports(location)
    # the listing may also match the ARM region; only the circuit's own peering location counts
    pairs = [p for p in pairs if _region(render.pair_properties(p).peering_location) == _region(location)]
    return Placement(key, current, pairs)


async def move_target(
    ctx: OpContext, place: Placement, descriptor: str | None
) -> tuple[m.ExpressRouteProviderPort, bool]:
    """The pair to move to and whether it was recommended; Refused when it cannot take the circuit."""
    if descriptor is None:
        eligible = place.eligible()
        if not eligible:
            raise Refused(
                f"no other port pair at {place.location} has {render.mbps(place.bandwidth)} free for "
                f"{place.key}. {place.headroom()}"
            )
        return eligible[0], True
    target = place.find(descriptor)
    if target is None:
        async with azure_errors(place.key):
            elsewhere = await client_of(ctx).get_provider_port(descriptor)
        if elsewhere is None:
            raise Refused(
                f"no port pair `{descriptor}`; `az ports {place.location}` lists those the circuit can use"
            )
        there = render.pair_properties(elsewhere).peering_location
        raise Refused(
            f"port pair {elsewhere.descriptor} is at {there}, but {place.key} is at {place.location}: "
            "a circuit moves only between port pairs of its own peering location"
        )
    if place.is_current(target):
        raise Refused(f"{place.key} is already on port pair {target.descriptor}")
    if _remaining(target) < place.bandwidth:
        raise Refused(
            f"port pair {target.descriptor} has {render.mbps(_remaining(target))} free; {place.key} needs "
            f"{render.mbps(place.bandwidth)}. {place.headroom()}"
        )
    return target, False


async def move_preview(ctx: OpContext, params: MoveParams) -> Preview:
    place = await placement(ctx, params.key)
    _refuse_while_busy(params.key, place.current.model)
    target, recommended = await move_target(ctx, place, params.port_pair)
    (old_primary, old_secondary), (new_primary, new_secondary) = place.ports, _ports_of(target)
    current = place.current_pair
    notes = []
    if recommended:
        notes.append(
            f"Recommended {target.descriptor}: the most headroom at {place.location} "
            f"({render.mbps(_remaining(target))} free). Name another with `az move {params.key} <port-pair>`."
        )
    notes.append(place.headroom())
    notes.append(
        f"After the move {target.descriptor} has {render.mbps(_remaining(target) - place.bandwidth)} free."
    )
    return Preview(
        summary=(
            f"move {params.key} to {target.descriptor}: primary port {old_primary or '—'} → {new_primary}, "
            f"secondary {old_secondary or '—'} → {new_secondary}"
        ),
        changes=[
            ("port pair", current.descriptor if current is not None else None, target.descriptor),
            ("primary port", old_primary or None, new_primary),
            ("secondary port", old_secondary or None, new_secondary),
        ],
        # the target is decided here, so the approver approves exactly the pair that is written
        precondition={
            "etag": place.current.etag,
            "port_pair": target.descriptor,
            "primary": new_primary,
            "secondary": new_secondary,
        },
        notes=notes,
    )


async def move_execute(ctx: OpContext, params: MoveParams) -> Changed:
    etag = _etag(ctx)
    precondition = ctx.precondition or {}
    descriptor = precondition.get("port_pair") or params.port_pair
    if not descriptor or not precondition.get("primary") or not precondition.get("secondary"):
        raise OperationError("the request does not say which port pair it approved; request it again")
    pair = m.ExpressRouteProviderPort.model_validate(
        {
            "name": descriptor,
            "properties": {
                "portPairDescriptor": descriptor,
                "primaryAzurePort": precondition["primary"],
                "secondaryAzurePort": precondition["secondary"],
            },
        }
    )
    async with azure_errors(params.key):
        client = client_of(ctx)
        before = await client.get_cross_connection(params.key)
        after = await client.move_to_port_pair(before, pair, if_match=etag)
    state = render.cc_properties(after.model).provisioning_state
    return Changed(
        f"{params.key} moved to port pair {descriptor} (provisioning {state}).",
        before.model,
        after.model,
    )


async def move_verify(ctx: OpContext, params: MoveParams, precondition: dict[str, Any]) -> bool:
    current = render.cc_properties((await read_cross_connection(ctx, params.key)).model)
    wanted = (str(precondition.get("primary", "")).lower(), str(precondition.get("secondary", "")).lower())
    now = ((current.primary_azure_port or "").lower(), (current.secondary_azure_port or "").lower())
    return now == wanted and (current.provisioning_state or "").lower() != "failed"


async def move_choices(ctx: OpContext, data: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """The pairs the circuit can move to (all pairs with their location while the key is unknown)."""
    key = data.get("key")
    if key:
        place = await placement(ctx, service_key(str(key)))
        pairs = place.eligible()
    else:
        async with azure_errors():
            pairs = sorted(await client_of(ctx).list_provider_ports(), key=lambda p: -_remaining(p))
    return {
        "port_pair": [
            (
                f"{p.descriptor} · {render.pair_properties(p).peering_location} · "
                f"{render.mbps(_remaining(p))} free",
                p.descriptor or "",
            )
            for p in pairs
        ]
    }


# --- peerings ---------------------------------------------------------------------------------


async def read_peering(
    ctx: OpContext, key: str, name: str
) -> Fetched[m.ExpressRouteCrossConnectionPeering] | None:
    """The peering as read, or None when the circuit has none of that name."""
    async with azure_errors(key):
        try:
            return await client_of(ctx).get_peering(key, name)
        except NotFound as exc:
            if exc.code == "CrossConnectionNotFound":
                raise
            return None


async def peerings_execute(
    ctx: OpContext, params: PeeringsParams
) -> list[m.ExpressRouteCrossConnectionPeering]:
    async with azure_errors(params.key):
        return await client_of(ctx).list_peerings(params.key)


def peerings_render(
    result: list[m.ExpressRouteCrossConnectionPeering], params: PeeringsParams, ctx: OpContext
) -> Reply:
    return render.peerings(params.key, result)


def _peering_changes(
    existing: m.ExpressRouteCrossConnectionPeering | None, params: PeeringParams
) -> list[tuple[str, Any, Any]]:
    old = render.peering_properties(existing) if existing is not None else None
    old_config = old.microsoft_peering_config if old is not None else None
    if params.ipv6:
        ipv6 = old.ipv6_peering_config if old is not None else None
        old_primary = ipv6.primary_peer_address_prefix if ipv6 else None
        old_secondary = ipv6.secondary_peer_address_prefix if ipv6 else None
    else:
        old_primary = old.primary_peer_address_prefix if old else None
        old_secondary = old.secondary_peer_address_prefix if old else None
    family = "IPv6 " if params.ipv6 else ""
    rows: list[tuple[str, Any, Any]] = [
        ("peer ASN", old.peer_asn if old else None, params.peer_asn),
        ("VLAN", old.vlan_id if old else None, params.vlan_id),
        (f"{family}primary prefix", old_primary, params.primary_prefix),
        (f"{family}secondary prefix", old_secondary, params.secondary_prefix),
    ]
    if params.shared_key is not None:
        # never the key itself: only that one is set (the approvals engine masks it too)
        rows.append(("shared key", "••••" if old is not None and old.shared_key else None, "•••• (new)"))
    if params.peering_type == "microsoft":
        rows.extend(
            [
                (
                    "advertised prefixes",
                    ", ".join(old_config.advertised_public_prefixes or []) if old_config else None,
                    ", ".join(params.advertised_prefixes or []),
                ),
                ("customer ASN", old_config.customer_asn if old_config else None, params.customer_asn),
                (
                    "routing registry",
                    old_config.routing_registry_name if old_config else None,
                    params.routing_registry,
                ),
            ]
        )
    return [
        (what, before, after)
        for what, before, after in rows
        if what == "shared key"
        or (after is not None and (None if before is None else str(before)) != str(after))
    ]


async def peering_preview(ctx: OpContext, params: PeeringParams) -> Preview:
    current = await read_cross_connection(ctx, params.key)
    properties = render.cc_properties(current.model)
    state = properties.service_provider_provisioning_state
    if state != m.ServiceProviderProvisioningState.PROVISIONED:
        raise Refused(
            f"{params.key} is {state}: peerings can be configured once it is Provisioned "
            f"(`az provision {params.key}`)"
        )
    existing = next(
        (p for p in properties.peerings or [] if (p.name or "").lower() == params.name.lower()), None
    )
    for other in properties.peerings or []:
        if other is not existing and render.peering_properties(other).vlan_id == params.vlan_id:
            raise Refused(f"VLAN {params.vlan_id} is already used by {other.name} of {params.key}")
    if existing is not None:
        _refuse_while_busy(f"{params.name} of {params.key}", existing)
    if existing is None and params.ipv6:
        raise Refused(
            f"{params.name} of {params.key} does not exist yet: create it with IPv4 /30 prefixes, "
            "then add the IPv6 /126 prefixes"
        )
    changes = _peering_changes(existing, params)
    verb = "update" if existing is not None else "create"
    notes = []
    if existing is not None:
        notes.append(f"Now: {render.peering_summary(existing)}")
    else:
        notes.append("The peering starts Disabled and becomes Enabled once Azure has configured it.")
    return Preview(
        summary=f"{verb} {params.name} of {params.key} (VLAN {params.vlan_id}, peer ASN {params.peer_asn})",
        changes=changes,
        precondition={"etag": existing.etag} if existing is not None else {"absent": True},
        notes=notes,
    )


async def peering_execute(ctx: OpContext, params: PeeringParams) -> m.ExpressRouteCrossConnectionPeering:
    precondition = ctx.precondition or {}
    client = client_of(ctx)
    if not precondition.get("etag") and precondition.get("absent"):
        # create only: checked against a fresh read and sent as If-None-Match, so a peering made
        # meanwhile is not overwritten
        async with azure_errors(params.key):
            try:
                done = await client.put_peering(
                    params.key, params.name, params.properties(), if_none_match="*"
                )
            except PreconditionFailed:
                raise OperationError(
                    f"{params.name} of {params.key} was created by someone else since the request was "
                    "reviewed; request it again to review the current state"
                ) from None
        return done.model
    etag = _etag(ctx)
    async with azure_errors(params.key):
        done = await client.put_peering(params.key, params.name, params.properties(), if_match=etag)
    return done.model


def peering_render(
    result: m.ExpressRouteCrossConnectionPeering, params: PeeringParams, ctx: OpContext
) -> Reply:
    return render.peering_done(params.key, result)


async def peering_verify(ctx: OpContext, params: PeeringParams, precondition: dict[str, Any]) -> bool:
    found = await read_peering(ctx, params.key, params.name)
    if found is None:
        return False
    now = render.peering_properties(found.model)
    if params.ipv6:
        ipv6 = now.ipv6_peering_config
        prefixes = (
            (ipv6.primary_peer_address_prefix, ipv6.secondary_peer_address_prefix) if ipv6 else (None, None)
        )
    else:
        prefixes = (now.primary_peer_address_prefix, now.secondary_peer_address_prefix)
    return (
        now.peer_asn == params.peer_asn
        and now.vlan_id == params.vlan_id
        and prefixes == (params.primary_prefix, params.secondary_prefix)
        and (now.provisioning_state or "").lower() != "failed"
    )


async def peering_delete_preview(ctx: OpContext, params: PeeringDeleteParams) -> Preview:
    found = await read_peering(ctx, params.key, params.peering)
    if found is None:
        raise Refused(f"{params.key} has no {params.peering}; `az peerings {params.key}` lists its peerings")
    _refuse_while_busy(f"{params.peering} of {params.key}", found.model)
    return Preview(
        summary=f"delete {params.peering} of {params.key}",
        changes=[(params.peering, render.peering_summary(found.model), None)],
        precondition={"etag": found.etag},
        notes=["BGP sessions on this peering go down: the customer loses these routes."],
    )


async def peering_delete_execute(ctx: OpContext, params: PeeringDeleteParams) -> Reply:
    etag = _etag(ctx)
    async with azure_errors(params.key):
        await client_of(ctx).delete_peering(params.key, params.peering, if_match=etag)
    return Reply.plain(f":wastebasket: {params.peering} of {params.key} deleted.")


async def peering_delete_verify(
    ctx: OpContext, params: PeeringDeleteParams, precondition: dict[str, Any]
) -> bool:
    return await read_peering(ctx, params.key, params.peering) is None


# --- communities and tables -------------------------------------------------------------------


async def communities_execute(ctx: OpContext, params: CommunitiesParams) -> list[m.BgpServiceCommunity]:
    async with azure_errors():
        items = await client_of(ctx).list_bgp_service_communities()
    if not params.service:
        return items
    wanted = params.service.lower()
    kept = []
    for item in items:
        properties = item.properties or m.BgpServiceCommunityPropertiesFormat()
        if wanted in (properties.service_name or item.name or "").lower():
            kept.append(item)
            continue
        communities = [
            c
            for c in properties.bgp_communities or []
            if wanted in (c.community_name or "").lower()
            or wanted in (c.service_supported_region or "").lower()
        ]
        if communities:
            kept.append(
                item.model_copy(
                    update={"properties": properties.model_copy(update={"bgp_communities": communities})}
                )
            )
    return kept


def communities_render(
    result: list[m.BgpServiceCommunity], params: CommunitiesParams, ctx: OpContext
) -> Reply:
    return render.communities(result, service=params.service, page=params.page, command_text=ctx.command_text)


def _table_operation(kind: str) -> Callable:
    async def execute(ctx: OpContext, params: TableParams) -> render.Table:
        client = client_of(ctx)
        async with azure_errors(params.key):
            try:
                if kind == "arp":
                    items = await client.list_arp_table(params.key, params.peering, params.path)
                    return render.arp_table(params.key, params.peering, params.path, items)
                if kind == "routes":
                    items = await client.list_routes_table(params.key, params.peering, params.path)
                    return render.routes_table(params.key, params.peering, params.path, items)
                items = await client.list_routes_table_summary(params.key, params.peering, params.path)
                return render.routes_summary(params.key, params.peering, params.path, items)
            except NotFound as exc:
                if exc.code == "CrossConnectionNotFound":
                    raise
                raise OperationError(
                    f"{params.key} has no {params.peering}; `az peerings {params.key}` lists its peerings"
                ) from None

    return execute


def table_render(result: render.Table, params: TableParams, ctx: OpContext) -> Reply:
    return render.table(result, page=params.page, command_text=ctx.command_text)


# --- the registry -----------------------------------------------------------------------------


def register(registry: Registry) -> None:
    add = registry.add
    add(
        Operation(
            provider=PROVIDER,
            verb="ports",
            summary="port pairs with their used and free bandwidth",
            params=PortsParams,
            execute=ports_execute,
            render=ports_render,
            slow=True,
            aliases=("port-pairs",),
            examples=("/circuit az ports", "/circuit az ports SiliconValley"),
        )
    )
    add(
        Operation(
            provider=PROVIDER,
            verb="port",
            summary="one port pair",
            params=PortParams,
            execute=port_execute,
            render=port_render,
            slow=True,
            examples=("/circuit az port bvtazureixpportpair1",),
        )
    )
    add(
        Operation(
            provider=PROVIDER,
            verb="list",
            summary="cross-connections (circuits), by location or state",
            params=ListParams,
            execute=list_execute,
            render=list_render,
            slow=True,
            aliases=("ls",),
            examples=("/circuit az list", "/circuit az list SiliconValley state=NotProvisioned"),
        )
    )
    add(
        Operation(
            provider=PROVIDER,
            verb="show",
            summary="one circuit: ports, sTag, bandwidth, states, peerings",
            params=KeyParams,
            execute=show_execute,
            render=show_render,
            slow=True,
            aliases=("get",),
            examples=("/circuit az show 24e6ea2b-6940-4bec-b0b3-3a9e5471e512",),
        )
    )
    for verb, state, preview, execute, verify in (
        ("provision", "Provisioned", provision_preview, provision_execute, provision_verify),
        ("deprovision", "NotProvisioned", deprovision_preview, deprovision_execute, deprovision_verify),
    ):
        add(
            Operation(
                provider=PROVIDER,
                verb=verb,
                summary=f"set the provider state to {state}",
                params=KeyParams,
                execute=execute,
                render=changed_render,
                mutating=True,
                preview=preview,
                verify=verify,
                follow=follow_circuit,
                help=(
                    "Set serviceProviderProvisioningState once layer 2 is up at your side."
                    if verb == "provision"
                    else "Set serviceProviderProvisioningState back to NotProvisioned."
                ),
                examples=(f"/circuit az {verb} bbbb1b1b-cc2c-dd3d-ee4e-ffffff5f5f5f",),
            )
        )
    add(
        Operation(
            provider=PROVIDER,
            verb="notes",
            summary="set the provider's notes on a circuit",
            params=NotesParams,
            execute=notes_execute,
            render=changed_render,
            mutating=True,
            preview=notes_preview,
            verify=notes_verify,
            follow=follow_circuit,
            examples=("/circuit az notes 24e6ea2b-6940-4bec-b0b3-3a9e5471e512 cross-connect SV1 rack 12",),
        )
    )
    add(
        Operation(
            provider=PROVIDER,
            verb="move",
            summary="move a circuit to another port pair at its peering location",
            params=MoveParams,
            execute=move_execute,
            render=changed_render,
            mutating=True,
            preview=move_preview,
            verify=move_verify,
            follow=follow_circuit,
            choices=move_choices,
            aliases=("place",),
            help=(
                "Lists the port pairs at the circuit's peering location with their headroom. Without a "
                "port pair it recommends the one with the most bandwidth free; a pair at another "
                "location, the current one, or one without room for the circuit is refused."
            ),
            examples=(
                "/circuit az move 24e6ea2b-6940-4bec-b0b3-3a9e5471e512",
                "/circuit az move 24e6ea2b-6940-4bec-b0b3-3a9e5471e512 bvtazureixpportpair3",
            ),
        )
    )
    add(
        Operation(
            provider=PROVIDER,
            verb="peering",
            summary="create or update a circuit's private or Microsoft peering",
            params=PeeringParams,
            execute=peering_execute,
            render=peering_render,
            mutating=True,
            preview=peering_preview,
            verify=peering_verify,
            follow=follow_circuit,
            help="Opens a form for what is missing. The shared key is kept encrypted and never shown.",
            examples=(
                "/circuit az peering aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e private",
                "/circuit az peering aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e private peer-asn=65010 vlan-id=210 "
                "primary-prefix=10.10.0.0/30 secondary-prefix=10.10.0.4/30",
            ),
        )
    )
    add(
        Operation(
            provider=PROVIDER,
            verb="peering-delete",
            summary="delete a circuit's peering",
            params=PeeringDeleteParams,
            execute=peering_delete_execute,
            mutating=True,
            preview=peering_delete_preview,
            verify=peering_delete_verify,
            follow=follow_circuit,
            help='A good candidate for two approvals: approvals_required = {"azure.peering-delete" = 2}.',
            examples=("/circuit az peering-delete aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e private",),
        )
    )
    add(
        Operation(
            provider=PROVIDER,
            verb="peerings",
            summary="a circuit's peerings",
            params=PeeringsParams,
            execute=peerings_execute,
            render=peerings_render,
            slow=True,
            examples=("/circuit az peerings aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e",),
        )
    )
    add(
        Operation(
            provider=PROVIDER,
            verb="communities",
            summary="Azure's BGP service communities (for Microsoft peering)",
            params=CommunitiesParams,
            execute=communities_execute,
            render=communities_render,
            slow=True,
            examples=("/circuit az communities", "/circuit az communities exchange"),
        )
    )
    for verb, kind, summary in (
        ("arp", "arp", "a peering's ARP table on the primary or secondary device"),
        ("routes", "routes", "a peering's BGP route table on the primary or secondary device"),
        ("routes-summary", "summary", "a peering's BGP neighbour summary on the primary or secondary device"),
    ):
        add(
            Operation(
                provider=PROVIDER,
                verb=verb,
                summary=summary,
                params=TableParams,
                execute=_table_operation(kind),
                render=table_render,
                slow=True,
                help="Azure reads it from the devices; it takes a few seconds.",
                examples=(f"/circuit az {verb} aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e private primary",),
            )
        )
