"""Cross-connection routes: list, GET, PUT (provider state, notes, tags, port-pair moves), PATCH tags.

* lists page with ``nextLink`` and understand ``$filter=name eq '<key>'``;
* a PUT is long-running: it answers ``Updating`` with ``Azure-AsyncOperation`` and
  ``Retry-After`` and completes ``operation_seconds`` later;
* the PUT-body pitfalls of the real service are enforced: a body must carry ``location``,
  ``expressRouteCircuit.id``, ``peeringLocation`` and ``bandwidthInMbps`` as they are;
* moving a circuit to another port pair (new ``primaryAzurePort``/``secondaryAzurePort``)
  moves its bandwidth between the pairs and is refused across locations or without room.

Error codes ``LocationRequired`` and ``ExpressRouteCircuitReferenceInCrossConnectionCannotBeModified``
are the service's own; the peering-location and bandwidth ones follow their pattern, as the
service's codes for those are not published (only the message is).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from circuitbot.sandbox.azure.arm import (
    ArmError,
    is_tags,
    json_object,
    json_response,
    operation_in_progress,
    parse_eq_filter,
    region_key,
)
from circuitbot.sandbox.azure.state import (
    CROSS_CONNECTION_PATH,
    GROUP_CROSS_CONNECTIONS_PATH,
    PROVIDER_STATES,
    SUBSCRIPTION_NETWORK_PATH,
    CrossConnection,
    ExpressRouteState,
)
from circuitbot.sandbox.world import PortPair


@dataclass
class _Change:
    """What a valid PUT sets; ``pair`` is None when the circuit stays on its ports."""

    provider_state: str
    notes: str | None
    tags: dict[str, str] | None
    pair: PortPair | None


class CrossConnectionRoutes(ExpressRouteState):
    def cross_connection_routes(self) -> list[Route]:
        return [
            Route(
                f"{SUBSCRIPTION_NETWORK_PATH}/expressRouteCrossConnections",
                self._arm(self._list_all),
                methods=["GET"],
            ),
            Route(GROUP_CROSS_CONNECTIONS_PATH, self._arm(self._list_by_group), methods=["GET"]),
            Route(CROSS_CONNECTION_PATH, self._arm(self._get), methods=["GET"]),
            Route(CROSS_CONNECTION_PATH, self._arm(self._put), methods=["PUT"]),
            Route(CROSS_CONNECTION_PATH, self._arm(self._patch), methods=["PATCH"]),
        ]

    def _renderer(self, subscription_id: str) -> Callable[[CrossConnection], dict[str, Any]]:
        return lambda cross_connection: self._render(cross_connection, subscription_id)

    async def _list_all(self, request: Request) -> Response:
        subscription_id = request.path_params["subscriptionId"]
        items = list(self.cross_connections.values())
        if "$filter" in request.query_params:
            wanted = parse_eq_filter(request.query_params["$filter"], "name").lower()
            items = [c for c in items if c.name.lower() == wanted]
        return self._page(request, items, self._renderer(subscription_id))

    async def _list_by_group(self, request: Request) -> Response:
        subscription_id = request.path_params["subscriptionId"]
        group = request.path_params["resourceGroupName"]
        self._check_resource_group(group)
        items = [c for c in self.cross_connections.values() if c.resource_group.lower() == group.lower()]
        return self._page(request, items, self._renderer(subscription_id))

    async def _get(self, request: Request) -> Response:
        cross_connection = self._find(request)
        return json_response(self._render(cross_connection, request.path_params["subscriptionId"]))

    async def _patch(self, request: Request) -> Response:
        cross_connection = self._find(request)
        self._check_conditions(request, cross_connection.etag)
        body = await json_object(request)
        tags = body.get("tags")
        if not is_tags(tags):
            raise ArmError(
                400, "InvalidRequestFormat", 'The body must be {"tags": {name: value}}.', target="tags"
            )
        cross_connection.tags = dict(tags)
        cross_connection.etag = self._new_etag()
        return json_response(self._render(cross_connection, request.path_params["subscriptionId"]))

    # --- PUT ----------------------------------------------------------------------------------

    async def _put(self, request: Request) -> Response:
        subscription_id = request.path_params["subscriptionId"]
        cross_connection = self._find(request)
        self._check_conditions(request, cross_connection.etag)
        body = await json_object(request)
        resource_id = self._cross_connection_id(cross_connection, subscription_id)
        if cross_connection.provisioning_state == "Updating":
            raise operation_in_progress(resource_id)
        _check_location(cross_connection, body)
        properties = body.get("properties") or {}
        if not isinstance(properties, dict):
            raise ArmError(
                400, "InvalidRequestFormat", "The properties of the request body must be an object."
            )
        _check_fixed_properties(cross_connection, properties, resource_id)
        change = _Change(
            provider_state=_provider_state(cross_connection, properties),
            notes=_notes(cross_connection, properties),
            pair=self._port_pair_for(cross_connection, properties),
            tags=_tags(cross_connection, body),
        )
        self._apply(cross_connection, change)
        succeed, fail = self._settlers(cross_connection)
        operation = self._start(cross_connection.location, self.operation_seconds, succeed, fail)
        return json_response(
            self._render(cross_connection, subscription_id),
            headers=self._lro_headers(request, subscription_id, operation, location=False),
        )

    def _apply(self, cross_connection: CrossConnection, change: _Change) -> None:
        cross_connection.provider_state = change.provider_state
        cross_connection.notes = change.notes
        cross_connection.tags = dict(change.tags) if change.tags is not None else None
        if change.pair is not None:
            cross_connection.port_pair = change.pair.descriptor
            cross_connection.primary_port = change.pair.primary_azure_port
            cross_connection.secondary_port = change.pair.secondary_azure_port
        cross_connection.provisioning_state = "Updating"
        cross_connection.etag = self._new_etag()

    def _settlers(self, cross_connection: CrossConnection) -> tuple[Callable[[], None], Callable[[], None]]:
        """How the PUT's operation ends: Succeeded or Failed, each a new version."""

        def succeed() -> None:
            cross_connection.provisioning_state = "Succeeded"
            cross_connection.etag = self._new_etag()

        def fail() -> None:
            cross_connection.provisioning_state = "Failed"
            cross_connection.etag = self._new_etag()

        return succeed, fail

    def _port_pair_for(
        self, cross_connection: CrossConnection, properties: dict[str, Any]
    ) -> PortPair | None:
        """The pair a PUT moves the circuit to, or None when its ports stay as they are.

        Ports left out (or blank) mean no move: the spec marks them read-only, so clients that
        serialise from the spec drop them.
        """
        primary = properties.get("primaryAzurePort") or cross_connection.primary_port
        secondary = properties.get("secondaryAzurePort") or cross_connection.secondary_port
        if not isinstance(primary, str) or not isinstance(secondary, str):
            raise ArmError(
                400, "InvalidRequestFormat", "primaryAzurePort and secondaryAzurePort must be strings."
            )
        if (primary.lower(), secondary.lower()) == (
            cross_connection.primary_port.lower(),
            cross_connection.secondary_port.lower(),
        ):
            return None
        pair = self._pair_with_ports(primary, secondary)
        if region_key(pair.peering_location) != region_key(cross_connection.peering_location):
            raise ArmError(
                400,
                "PortPairPeeringLocationMismatch",
                f"Port pair '{pair.descriptor}' is at {pair.peering_location}; the cross connection is at "
                f"{cross_connection.peering_location}.",
                target="properties.primaryAzurePort",
            )
        remaining = self.remaining_bandwidth(pair)
        if remaining < cross_connection.bandwidth_mbps:
            raise ArmError(
                400,
                "InsufficientPortPairBandwidth",
                f"Port pair '{pair.descriptor}' has {remaining} Mbps remaining; the circuit needs "
                f"{cross_connection.bandwidth_mbps} Mbps.",
                target="properties.primaryAzurePort",
            )
        return pair

    def _pair_with_ports(self, primary: str, secondary: str) -> PortPair:
        for pair in self.world.port_pairs:
            if (
                pair.primary_azure_port.lower() == primary.lower()
                and pair.secondary_azure_port.lower() == secondary.lower()
            ):
                return pair
        raise ArmError(
            400,
            "InvalidPortPair",
            f"No port pair of this provider has primary port '{primary}' and secondary port '{secondary}'.",
            target="properties.primaryAzurePort",
        )


# --- PUT body checks, in the order the service applies them --------------------------------------


def _check_location(cross_connection: CrossConnection, body: dict[str, Any]) -> None:
    location = body.get("location")
    if not location:
        raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
    if region_key(str(location)) != region_key(cross_connection.location):
        raise ArmError(
            400,
            "InvalidResourceLocation",
            f"The resource '{cross_connection.name}' already exists in location "
            f"'{cross_connection.location}' in resource group '{cross_connection.resource_group}'. "
            f"A resource with the same name cannot be created in location '{location}'.",
        )


def _check_fixed_properties(
    cross_connection: CrossConnection, properties: dict[str, Any], resource_id: str
) -> None:
    """The circuit, peering location and bandwidth are the customer's: a PUT repeats them as they are."""
    circuit = properties.get("expressRouteCircuit")
    circuit_id = circuit.get("id") if isinstance(circuit, dict) else None
    if not circuit_id or str(circuit_id).lower() != cross_connection.circuit_id.lower():
        raise ArmError(
            400,
            "ExpressRouteCircuitReferenceInCrossConnectionCannotBeModified",
            f"The circuit reference for the ExpressRoute cross connection {resource_id} "
            f"cannot be modified from {cross_connection.circuit_id} to {circuit_id or 'null'}.",
            target="properties.expressRouteCircuit.id",
        )
    peering_location = properties.get("peeringLocation")
    if not peering_location or region_key(str(peering_location)) != region_key(
        cross_connection.peering_location
    ):
        raise ArmError(
            400,
            "PeeringLocationInCrossConnectionCannotBeModified",
            f"The Peering Location for an Express Route Cross Connection {resource_id} "
            f"cannot be modified from {cross_connection.peering_location} to {peering_location or ''}.",
            target="properties.peeringLocation",
        )
    bandwidth = properties.get("bandwidthInMbps")
    if bandwidth != cross_connection.bandwidth_mbps:
        raise ArmError(
            400,
            "BandwidthInCrossConnectionCannotBeModified",
            f"The Bandwidth for an Express Route Cross Connection {resource_id} cannot be modified "
            f"from {cross_connection.bandwidth_mbps} to {'' if bandwidth is None else bandwidth}.",
            target="properties.bandwidthInMbps",
        )


def _provider_state(cross_connection: CrossConnection, properties: dict[str, Any]) -> str:
    provider_state = properties.get("serviceProviderProvisioningState", cross_connection.provider_state)
    if provider_state not in PROVIDER_STATES:
        raise ArmError(
            400,
            "InvalidServiceProviderProvisioningState",
            f"serviceProviderProvisioningState '{provider_state}' is not one of "
            f"{', '.join(PROVIDER_STATES)}.",
            target="properties.serviceProviderProvisioningState",
        )
    return str(provider_state)


def _notes(cross_connection: CrossConnection, properties: dict[str, Any]) -> str | None:
    notes = properties.get("serviceProviderNotes", cross_connection.notes)
    if notes is not None and not isinstance(notes, str):
        raise ArmError(
            400,
            "InvalidRequestFormat",
            "serviceProviderNotes must be a string.",
            target="properties.serviceProviderNotes",
        )
    return notes


def _tags(cross_connection: CrossConnection, body: dict[str, Any]) -> dict[str, str] | None:
    tags = body.get("tags", cross_connection.tags)
    if tags is not None and not is_tags(tags):
        raise ArmError(400, "InvalidRequestFormat", "tags must map strings to strings.", target="tags")
    return tags
