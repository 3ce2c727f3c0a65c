"""The Azure leg of a circuit: the cross-connection whose name is the service key.

``serviceProviderProvisioningState`` is the partner's own word on the circuit (what a carrier
leg is compared against); ``provisioningState`` is ARM's, about the last write to the resource.
The cross-connection as listed carries its peerings, so one read gives the whole leg.
"""

from __future__ import annotations

from collections.abc import Sequence

from circuitbot.providers.azure import models as m
from circuitbot.providers.azure.client import AzurePartnerClient
from circuitbot.providers.base import normalize_state
from circuitbot.providers.legs import Leg, Role, Standing

_STANDING = {
    normalize_state(m.ServiceProviderProvisioningState.PROVISIONED): Standing.LIVE,
    normalize_state(m.ServiceProviderProvisioningState.PROVISIONING): Standing.PENDING,
    normalize_state(m.ServiceProviderProvisioningState.NOT_PROVISIONED): Standing.NOT_PROVISIONED,
    normalize_state(m.ServiceProviderProvisioningState.DEPROVISIONING): Standing.ENDING,
}


async def legs_for_key(client: AzurePartnerClient, service_key: str) -> Sequence[Leg]:
    found = await client.find_by_service_key(service_key)
    return [leg_of(found)] if found is not None else []


def leg_of(cross_connection: m.ExpressRouteCrossConnection) -> Leg:
    props = cross_connection.properties or m.ExpressRouteCrossConnectionProperties()
    provider_state = props.service_provider_provisioning_state or ""
    standing = _STANDING.get(normalize_state(provider_state), Standing.PENDING)
    if normalize_state(props.provisioning_state or "") == normalize_state(m.ProvisioningState.FAILED):
        standing = Standing.FAILED
    states = {
        "serviceProviderProvisioningState": provider_state,
        "provisioningState": props.provisioning_state or "",
    }
    facts = [
        ("resource group", cross_connection.resource_group or ""),
        ("ports", " / ".join(filter(None, [props.primary_azure_port, props.secondary_azure_port]))),
        ("sTag", "" if props.s_tag is None else str(props.s_tag)),
    ]
    return Leg(
        provider="azure",
        role=Role.AZURE,
        resource_id=cross_connection.name or "",
        name=_circuit_name(props) or cross_connection.name or "",
        standing=standing,
        states={k: v for k, v in states.items() if v},
        bandwidth_mbps=props.bandwidth_in_mbps,
        location=props.peering_location,
        facts=tuple((k, v) for k, v in facts if v),
        parts=tuple(_peering_state(p) for p in props.peerings or ()),
    )


def _circuit_name(props: m.ExpressRouteCrossConnectionProperties) -> str | None:
    """The customer's circuit name, the last segment of its resource id."""
    circuit = props.express_route_circuit
    circuit_id = circuit.id if circuit is not None else None
    return circuit_id.rstrip("/").rsplit("/", 1)[-1] if circuit_id else None


def _peering_state(peering: m.ExpressRouteCrossConnectionPeering) -> tuple[str, str]:
    props = peering.properties
    state = (props.state if props is not None else None) or "unknown"
    return (peering.name or "peering", str(state))
