"""A simulated Azure Resource Manager for the ExpressRoute partner resources.

An independent model of what the partner API does, built from the docs (seeds 000 and 001),
the REST specs and the known service behaviour in ``shared/research/azure.md``:

* any subscription id is served (resource ids carry the one in the request path) and any
  bearer token is accepted, but a request without one gets ARM's 401 ``AuthenticationFailed``;
* cross-connections live in resource groups ``CrossConnection-<PeeringLocation>``, named by
  their service key; lists page with ``nextLink`` and understand ``$filter=name eq '<key>'``;
* writes are long-running: a PUT answers ``Updating`` with ``Azure-AsyncOperation`` and
  ``Retry-After`` and completes ``operation_seconds`` later on the simulator's clock. Nothing
  runs in the background: due operations are completed whenever a request arrives;
* the PUT-body pitfalls of the real service are enforced: a body must carry ``location``,
  ``expressRouteCircuit.id``, ``peeringLocation`` and ``bandwidthInMbps`` as they are;
* every write changes the etag; ``If-Match`` with another etag answers 412, and so does
  ``If-None-Match: *`` on a peering that exists. The spec declares neither header, so real ARM may
  ignore them: ``conditional_headers=False`` makes the simulator ignore them too;
* moving a circuit to another port pair (new ``primaryAzurePort``/``secondaryAzurePort``)
  moves its bandwidth between the pairs and is refused across locations or without room;
* peerings start ``Disabled`` with ``azureASN`` 0 and become ``Enabled`` with 12076;
* ARP, route and route-summary POSTs answer in each of the shapes the spec examples and the
  research allow, taking turns through ``table_answers``: 202 with only ``Azure-AsyncOperation``
  (the examples; the table then comes in the final operation status), 202 with only ``Location``
  (``final-state-via: location``; the table comes from it), or 200 with the table at once.

Error codes ``LocationRequired`` and ``ExpressRouteCircuitReferenceInCrossConnectionCannotBeModified``
are the service's own; the peering-location and bandwidth ones follow their pattern, as the
service's codes for those are not published (only the message is).
"""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from circuitbot.clock import Clock
from circuitbot.sandbox import register_simulator
from circuitbot.sandbox.base import Simulator
from circuitbot.sandbox.faults import FaultConfig
from circuitbot.sandbox.world import DemoCircuit, PeeringSeed, PortPair, World

NETWORK = "/providers/Microsoft.Network"
CROSS_CONNECTION_TYPE = "Microsoft.Network/expressRouteCrossConnections"
PROVIDER_PORT_TYPE = "Microsoft.Network/expressRouteProviderPort"
COMMUNITY_TYPE = "Microsoft.Network/bgpServiceCommunities"
AZURE_ASN = 12076
PROVIDER_STATES = ("NotProvisioned", "Provisioning", "Provisioned", "Deprovisioning")
PEERING_TYPES = ("AzurePrivatePeering", "MicrosoftPeering", "AzurePublicPeering")
ROUTING_REGISTRIES = ("ARIN", "APNIC", "AFRINIC", "LACNIC", "RIPENCC", "RADB", "ALTDB", "LEVEL3")
TABLES = ("arpTables", "routeTables", "routeTablesSummary")
TABLE_ANSWERS = ("async-operation", "location", "immediate")
DEVICE_PATHS = ("primary", "secondary")
MAX_SHARED_KEY_LENGTH = 25
_T = TypeVar("_T")
# Items per list page. The docs in the seeds and the REST specs do not say how many items ARM puts
# on a page of these lists (only that they page with nextLink); 100 is a guess of the usual ARM
# order of magnitude. Tests of paging set a small ``page_size`` of their own.
DEFAULT_PAGE_SIZE = 100

# Azure's BGP service communities: a few services, with the community values Microsoft publishes.
BGP_SERVICE_COMMUNITIES: tuple[tuple[str, str, tuple[tuple[str, str, str, str], ...]], ...] = (
    ("exchange", "O365", (("Global", "Exchange Online", "12076:5010", "40.92.0.0/15"),)),
    ("sharepoint", "O365", (("Global", "SharePoint Online", "12076:5020", "13.107.136.0/22"),)),
    ("skype", "O365", (("Global", "Skype For Business Online", "12076:5030", "13.107.64.0/18"),)),
    (
        "azureactivedirectory",
        "O365",
        (("Global", "Azure Active Directory", "12076:5060", "20.190.128.0/18"),),
    ),
    (
        "azurewestus",
        "Azure",
        (
            ("West US", "Azure West US", "12076:51006", "13.64.0.0/16"),
            ("West US", "Azure Storage West US", "12076:52006", "20.150.34.0/23"),
        ),
    ),
    ("azurewestus2", "Azure", (("West US 2", "Azure West US 2", "12076:51026", "13.66.128.0/17"),)),
    ("azureeastus2", "Azure", (("East US 2", "Azure East US 2", "12076:51005", "13.68.0.0/17"),)),
)


class ArmError(Exception):
    """Answer with a CloudError."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        target: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.headers = headers or {}


@dataclass
class _Peering:
    name: str
    properties: dict[str, Any]
    etag: str
    enabled_at: datetime | None = None


@dataclass
class _CrossConnection:
    name: str  # the service key
    resource_group: str
    location: str  # ARM region
    peering_location: str
    bandwidth_mbps: int
    circuit_id: str
    port_pair: str
    primary_port: str
    secondary_port: str
    s_tag: int
    provider_state: str
    etag: str
    notes: str | None = None
    provisioning_state: str = "Succeeded"
    tags: dict[str, str] | None = None
    peerings: dict[str, _Peering] = field(default_factory=dict)


@dataclass
class _Operation:
    id: str
    region: str
    done_at: datetime
    succeed: Callable[[], Any]  # applies the final state; returns the Location result (None: 204)
    fail: Callable[[], None]  # applies the state a failed operation leaves behind
    failure: tuple[str, str] | None = None  # (code, message) when the operation is to end Failed
    finished: bool = False
    result: Any = None


@register_simulator
class AzureSimulator(Simulator):
    provider: ClassVar[str] = "azure"

    def __init__(
        self,
        world: World,
        clock: Clock,
        faults: FaultConfig | None = None,
        *,
        operation_seconds: float = 30.0,
        table_seconds: float = 5.0,
        retry_after_seconds: int = 10,
        page_size: int = DEFAULT_PAGE_SIZE,
        table_answers: Sequence[str] = TABLE_ANSWERS,
        conditional_headers: bool = True,
    ) -> None:
        super().__init__(world, clock, faults)
        unknown = set(table_answers) - set(TABLE_ANSWERS)
        if not table_answers or unknown:
            raise ValueError(f"table_answers are some of {', '.join(TABLE_ANSWERS)}")
        self.table_answers = tuple(table_answers)  # may be reassigned; taken in turn from the next POST
        self._tables_answered = 0
        self.conditional_headers = conditional_headers
        self.operation_seconds = operation_seconds
        self.table_seconds = table_seconds
        self.retry_after_seconds = retry_after_seconds
        if page_size < 1:
            raise ValueError("page_size is at least 1")
        self.page_size = page_size  # may be reassigned; a skip token is an offset, valid across sizes
        self._counter = itertools.count(1)
        self._operations: dict[str, _Operation] = {}
        self._failures: list[tuple[str, str]] = []
        self.cross_connections: dict[str, _CrossConnection] = {}
        """Keyed by ``<resource group>/<service key>``, lower case, in listing order: sorted once
        here, so a skip token (an offset into this order) stays valid while circuits change state."""
        seeded = sorted(
            (self._from_world(circuit) for circuit in world.circuits),
            key=lambda c: (c.resource_group.lower(), c.name.lower()),
        )
        for cross_connection in seeded:
            self.cross_connections[_key(cross_connection.resource_group, cross_connection.name)] = (
                cross_connection
            )

    # --- the contract -------------------------------------------------------------------------

    def error_body(self, status: int, code: str, message: str) -> tuple[Any, dict[str, str]]:
        return {"error": {"code": code, "message": message}}, {"x-ms-request-id": str(uuid.uuid4())}

    def routes(self) -> list[BaseRoute]:
        sub = "/subscriptions/{subscriptionId}"
        cross_connections = (
            f"{sub}/resourceGroups/{{resourceGroupName}}{NETWORK}/expressRouteCrossConnections"
        )
        one = f"{cross_connections}/{{crossConnectionName}}"
        peering = f"{one}/peerings/{{peeringName}}"
        locations = f"{sub}{NETWORK}/locations/{{location}}"
        return [
            Route(f"{sub}{NETWORK}/expressRouteCrossConnections", self._arm(self._list_all), methods=["GET"]),
            Route(cross_connections, self._arm(self._list_by_group), methods=["GET"]),
            Route(one, self._arm(self._get), methods=["GET"]),
            Route(one, self._arm(self._put), methods=["PUT"]),
            Route(one, self._arm(self._patch), methods=["PATCH"]),
            Route(f"{one}/peerings", self._arm(self._list_peerings), methods=["GET"]),
            Route(peering, self._arm(self._get_peering), methods=["GET"]),
            Route(peering, self._arm(self._put_peering), methods=["PUT"]),
            Route(peering, self._arm(self._delete_peering), methods=["DELETE"]),
            Route(f"{peering}/{{table}}/{{devicePath}}", self._arm(self._post_table), methods=["POST"]),
            Route(
                f"{locations}/operations/{{operationId}}", self._arm(self._operation_status), methods=["GET"]
            ),
            Route(
                f"{locations}/operationResults/{{operationId}}",
                self._arm(self._operation_result),
                methods=["GET"],
            ),
            Route(f"{sub}{NETWORK}/expressRouteProviderPorts", self._arm(self._list_ports), methods=["GET"]),
            Route(
                f"{sub}{NETWORK}/expressRouteProviderPorts/{{providerport}}",
                self._arm(self._get_port),
                methods=["GET"],
            ),
            Route(
                f"{sub}{NETWORK}/bgpServiceCommunities", self._arm(self._list_communities), methods=["GET"]
            ),
        ]

    # --- for tests and the shell --------------------------------------------------------------

    def fail_next_operations(
        self, count: int = 1, *, code: str = "InternalServerError", message: str = ""
    ) -> None:
        """The next ``count`` long-running operations end Failed instead of Succeeded."""
        text = message or "An error occurred while processing the operation."
        self._failures.extend([(code, text)] * count)

    def cross_connection(self, service_key: str) -> _CrossConnection:
        wanted = service_key.lower()
        for cross_connection in self.cross_connections.values():
            if cross_connection.name.lower() == wanted:
                return cross_connection
        raise KeyError(service_key)

    def used_bandwidth(self, descriptor: str) -> int:
        return sum(c.bandwidth_mbps for c in self.cross_connections.values() if c.port_pair == descriptor)

    def remaining_bandwidth(self, pair: PortPair) -> int:
        # the docs' figures are port bandwidth minus used (4000 - 2500 = 1500); never below zero
        return max(0, pair.port_bandwidth_mbps - self.used_bandwidth(pair.descriptor))

    # --- request plumbing ---------------------------------------------------------------------

    def _arm(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                _authenticate(request)
                if not request.query_params.get("api-version"):
                    raise ArmError(
                        400,
                        "MissingApiVersionParameter",
                        "The api-version query parameter (?api-version=) is required for all requests.",
                    )
                self._settle()
                return await handler(request)
            except ArmError as error:
                body: dict[str, Any] = {"code": error.code, "message": error.message}
                if error.target:
                    body["target"] = error.target
                body["details"] = []
                return JSONResponse(
                    {"error": body},
                    status_code=error.status,
                    headers={"x-ms-request-id": str(uuid.uuid4()), **error.headers},
                )

        return endpoint

    def _settle(self) -> None:
        """Complete every operation whose time has come, oldest first."""
        now = self.clock.now()
        due = sorted(
            (op for op in self._operations.values() if not op.finished and op.done_at <= now),
            key=lambda op: op.done_at,
        )
        for operation in due:
            operation.finished = True
            if operation.failure is None:
                operation.result = operation.succeed()
            else:
                operation.fail()

    def _start(
        self,
        region: str,
        seconds: float,
        succeed: Callable[[], Any],
        fail: Callable[[], None] = lambda: None,
    ) -> _Operation:
        operation_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"azure-sim-operation-{next(self._counter)}"))
        operation = _Operation(
            id=operation_id,
            region=region,
            done_at=self.clock.now() + timedelta(seconds=seconds),
            succeed=succeed,
            fail=fail,
            failure=self._failures.pop(0) if self._failures else None,
        )
        self._operations[operation_id] = operation
        return operation

    def _lro_headers(
        self,
        request: Request,
        subscription_id: str,
        operation: _Operation,
        *,
        location: bool,
        async_operation: bool = True,
    ) -> dict[str, str]:
        root = str(request.base_url).rstrip("/")
        base = f"{root}/subscriptions/{subscription_id}{NETWORK}/locations/{operation.region}"
        api_version = request.query_params["api-version"]
        headers = {"Retry-After": str(self.retry_after_seconds), "x-ms-request-id": operation.id}
        if async_operation:
            headers["Azure-AsyncOperation"] = f"{base}/operations/{operation.id}?api-version={api_version}"
        if location:
            headers["Location"] = f"{base}/operationResults/{operation.id}?api-version={api_version}"
        return headers

    def _check_conditions(self, request: Request, etag: str | None) -> None:
        if self.conditional_headers:
            _check_conditions(request, etag)

    def _new_etag(self) -> str:
        return f'W/"{uuid.uuid5(uuid.NAMESPACE_URL, f"azure-sim-etag-{next(self._counter)}")}"'

    # --- seeding ------------------------------------------------------------------------------

    def _from_world(self, circuit: DemoCircuit) -> _CrossConnection:
        location = self.world.location(circuit.peering_location)
        pair = self.world.port_pair(circuit.port_pair)
        cross_connection = _CrossConnection(
            name=circuit.service_key,
            resource_group=location.resource_group,
            location=location.arm_location,
            peering_location=location.name,
            bandwidth_mbps=circuit.bandwidth_mbps,
            circuit_id=circuit.azure.id,
            port_pair=pair.descriptor,
            primary_port=pair.primary_azure_port,
            secondary_port=pair.secondary_azure_port,
            s_tag=circuit.s_tag,
            provider_state=circuit.service_provider_provisioning_state,
            etag=self._new_etag(),
        )
        for seed in circuit.peerings:
            cross_connection.peerings[seed.peering_type.lower()] = self._seed_peering(seed)
        return cross_connection

    def _seed_peering(self, seed: PeeringSeed) -> _Peering:
        properties: dict[str, Any] = {
            "provisioningState": "Succeeded",
            "peeringType": seed.peering_type,
            "azureASN": AZURE_ASN,
            "peerASN": seed.peer_asn,
            "primaryPeerAddressPrefix": seed.primary_peer_address_prefix,
            "secondaryPeerAddressPrefix": seed.secondary_peer_address_prefix,
            "primaryAzurePort": "",
            "secondaryAzurePort": "",
            "state": "Enabled",
            "vlanId": seed.vlan_id,
            "gatewayManagerEtag": "",
            "lastModifiedBy": "Customer",
        }
        if seed.shared_key:
            properties["sharedKey"] = seed.shared_key
        if seed.peering_type == "MicrosoftPeering":
            properties["microsoftPeeringConfig"] = {
                "advertisedPublicPrefixes": list(seed.advertised_public_prefixes),
                "advertisedCommunities": [],
                "advertisedPublicPrefixesState": "Configured",
                "customerASN": seed.customer_asn or 0,
                "legacyMode": 0,
                "routingRegistryName": seed.routing_registry_name or "",
            }
        return _Peering(
            seed.peering_type,
            properties,
            self._new_etag(),
            enabled_at=self.clock.now() - timedelta(days=1, hours=14),
        )

    # --- rendering ----------------------------------------------------------------------------

    def _cross_connection_id(self, cross_connection: _CrossConnection, subscription_id: str) -> str:
        return (
            f"/subscriptions/{subscription_id}/resourceGroups/{cross_connection.resource_group}"
            f"{NETWORK}/expressRouteCrossConnections/{cross_connection.name}"
        )

    def _render(self, cross_connection: _CrossConnection, subscription_id: str) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "provisioningState": cross_connection.provisioning_state,
            "expressRouteCircuit": {"id": cross_connection.circuit_id},
            "peeringLocation": cross_connection.peering_location,
            "bandwidthInMbps": cross_connection.bandwidth_mbps,
            "serviceProviderProvisioningState": cross_connection.provider_state,
            "primaryAzurePort": cross_connection.primary_port,
            "secondaryAzurePort": cross_connection.secondary_port,
            "sTag": cross_connection.s_tag,
            "peerings": [
                self._render_peering(cross_connection, peering, subscription_id)
                for peering in cross_connection.peerings.values()
            ],
        }
        if cross_connection.notes is not None:
            properties["serviceProviderNotes"] = cross_connection.notes
        body: dict[str, Any] = {
            "name": cross_connection.name,
            "id": self._cross_connection_id(cross_connection, subscription_id),
            "etag": cross_connection.etag,
            "type": CROSS_CONNECTION_TYPE,
            "location": cross_connection.location,
        }
        if cross_connection.tags is not None:
            body["tags"] = dict(cross_connection.tags)
        body["properties"] = properties
        return body

    def _render_peering(
        self, cross_connection: _CrossConnection, peering: _Peering, subscription_id: str
    ) -> dict[str, Any]:
        return {
            "name": peering.name,
            "id": f"{self._cross_connection_id(cross_connection, subscription_id)}/peerings/{peering.name}",
            "etag": peering.etag,
            "properties": json.loads(json.dumps(peering.properties)),
        }

    def _render_port(self, pair: PortPair, subscription_id: str) -> dict[str, Any]:
        used = self.used_bandwidth(pair.descriptor)
        location_segment = pair.peering_location.replace(" ", "")
        return {
            "id": (
                f"/subscriptions/{subscription_id}{NETWORK}/ExpressRoutePortsLocations/"
                f"{location_segment}/{pair.descriptor}"
            ),
            "name": pair.descriptor,
            "type": PROVIDER_PORT_TYPE,
            "location": pair.location,
            # the etag follows the pair's usage, the only thing about it that changes
            "etag": f'W/"{uuid.uuid5(uuid.NAMESPACE_URL, f"azure-sim-port-{pair.descriptor}-{used}")}"',
            "properties": {
                "portPairDescriptor": pair.descriptor,
                "primaryAzurePort": pair.primary_azure_port,
                "secondaryAzurePort": pair.secondary_azure_port,
                "peeringLocation": pair.peering_location,
                "overprovisionFactor": pair.overprovision_factor,
                "portBandwidthInMbps": pair.port_bandwidth_mbps,
                "usedBandwidthInMbps": used,
                "remainingBandwidthInMbps": self.remaining_bandwidth(pair),
            },
        }

    def _page(
        self, request: Request, items: Sequence[_T], render: Callable[[_T], dict[str, Any]]
    ) -> Response:
        """One page of ``items``, only its own items rendered (a sweep reads every page)."""
        raw_skip = request.query_params.get("$skiptoken", "0")
        if not raw_skip.isdigit():
            raise ArmError(400, "InvalidSkipToken", f"The skip token '{raw_skip}' is not valid.")
        skip = int(raw_skip)
        body: dict[str, Any] = {"value": [render(item) for item in items[skip : skip + self.page_size]]}
        if skip + self.page_size < len(items):
            body["nextLink"] = str(
                request.url.include_query_params(**{"$skiptoken": str(skip + self.page_size)})
            )
        return _json(body)

    # --- cross-connections --------------------------------------------------------------------

    def _find(self, request: Request) -> _CrossConnection:
        group = request.path_params["resourceGroupName"]
        name = request.path_params["crossConnectionName"]
        if group.lower() not in self._resource_groups():
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.")
        cross_connection = self.cross_connections.get(_key(group, name))
        if cross_connection is None:
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource '{CROSS_CONNECTION_TYPE}/{name}' under resource group '{group}' "
                "was not found.",
            )
        return cross_connection

    def _resource_groups(self) -> set[str]:
        return {location.resource_group.lower() for location in self.world.locations}

    def _renderer(self, subscription_id: str) -> Callable[[_CrossConnection], dict[str, Any]]:
        return lambda cross_connection: self._render(cross_connection, subscription_id)

    async def _list_all(self, request: Request) -> Response:
        subscription_id = request.path_params["subscriptionId"]
        items = list(self.cross_connections.values())
        if "$filter" in request.query_params:
            wanted = _parse_eq_filter(request.query_params["$filter"], "name").lower()
            items = [c for c in items if c.name.lower() == wanted]
        return self._page(request, items, self._renderer(subscription_id))

    async def _list_by_group(self, request: Request) -> Response:
        subscription_id = request.path_params["subscriptionId"]
        group = request.path_params["resourceGroupName"]
        if group.lower() not in self._resource_groups():
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.")
        items = [c for c in self.cross_connections.values() if c.resource_group.lower() == group.lower()]
        return self._page(request, items, self._renderer(subscription_id))

    async def _get(self, request: Request) -> Response:
        cross_connection = self._find(request)
        return _json(self._render(cross_connection, request.path_params["subscriptionId"]))

    async def _put(self, request: Request) -> Response:
        subscription_id = request.path_params["subscriptionId"]
        cross_connection = self._find(request)
        self._check_conditions(request, cross_connection.etag)
        body = await _json_object(request)
        if cross_connection.provisioning_state == "Updating":
            raise _operation_in_progress(self._cross_connection_id(cross_connection, subscription_id))
        resource_id = self._cross_connection_id(cross_connection, subscription_id)
        location = body.get("location")
        if not location:
            raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
        if _region(str(location)) != _region(cross_connection.location):
            raise ArmError(
                400,
                "InvalidResourceLocation",
                f"The resource '{cross_connection.name}' already exists in location "
                f"'{cross_connection.location}' in resource group '{cross_connection.resource_group}'. "
                f"A resource with the same name cannot be created in location '{location}'.",
            )
        properties = body.get("properties") or {}
        if not isinstance(properties, dict):
            raise ArmError(
                400, "InvalidRequestFormat", "The properties of the request body must be an object."
            )
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
        if not peering_location or _region(str(peering_location)) != _region(
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
        provider_state = properties.get("serviceProviderProvisioningState", cross_connection.provider_state)
        if provider_state not in PROVIDER_STATES:
            raise ArmError(
                400,
                "InvalidServiceProviderProvisioningState",
                f"serviceProviderProvisioningState '{provider_state}' is not one of "
                f"{', '.join(PROVIDER_STATES)}.",
                target="properties.serviceProviderProvisioningState",
            )
        notes = properties.get("serviceProviderNotes", cross_connection.notes)
        if notes is not None and not isinstance(notes, str):
            raise ArmError(
                400,
                "InvalidRequestFormat",
                "serviceProviderNotes must be a string.",
                target="properties.serviceProviderNotes",
            )
        target_pair = self._port_pair_for(cross_connection, properties)
        tags = body.get("tags", cross_connection.tags)
        if tags is not None and not _is_tags(tags):
            raise ArmError(400, "InvalidRequestFormat", "tags must map strings to strings.", target="tags")

        cross_connection.provider_state = provider_state
        cross_connection.notes = notes
        cross_connection.tags = dict(tags) if tags is not None else None
        if target_pair is not None:
            cross_connection.port_pair = target_pair.descriptor
            cross_connection.primary_port = target_pair.primary_azure_port
            cross_connection.secondary_port = target_pair.secondary_azure_port
        cross_connection.provisioning_state = "Updating"
        cross_connection.etag = self._new_etag()

        def succeed() -> None:
            cross_connection.provisioning_state = "Succeeded"
            cross_connection.etag = self._new_etag()

        def fail() -> None:
            cross_connection.provisioning_state = "Failed"
            cross_connection.etag = self._new_etag()

        operation = self._start(cross_connection.location, self.operation_seconds, succeed, fail)
        return _json(
            self._render(cross_connection, subscription_id),
            headers=self._lro_headers(request, subscription_id, operation, location=False),
        )

    def _port_pair_for(
        self, cross_connection: _CrossConnection, properties: dict[str, Any]
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
        pair = next(
            (
                p
                for p in self.world.port_pairs
                if p.primary_azure_port.lower() == primary.lower()
                and p.secondary_azure_port.lower() == secondary.lower()
            ),
            None,
        )
        if pair is None:
            raise ArmError(
                400,
                "InvalidPortPair",
                f"No port pair of this provider has primary port '{primary}' "
                f"and secondary port '{secondary}'.",
                target="properties.primaryAzurePort",
            )
        if _region(pair.peering_location) != _region(cross_connection.peering_location):
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

    async def _patch(self, request: Request) -> Response:
        cross_connection = self._find(request)
        self._check_conditions(request, cross_connection.etag)
        body = await _json_object(request)
        tags = body.get("tags")
        if not _is_tags(tags):
            raise ArmError(
                400, "InvalidRequestFormat", 'The body must be {"tags": {name: value}}.', target="tags"
            )
        cross_connection.tags = dict(tags)
        cross_connection.etag = self._new_etag()
        return _json(self._render(cross_connection, request.path_params["subscriptionId"]))

    # --- peerings -----------------------------------------------------------------------------

    def _peering(self, cross_connection: _CrossConnection, request: Request) -> _Peering:
        name = request.path_params["peeringName"]
        peering = cross_connection.peerings.get(name.lower())
        if peering is None:
            parent = self._cross_connection_id(cross_connection, request.path_params["subscriptionId"])
            raise ArmError(404, "NotFound", f"Resource {parent}/peerings/{name} not found.")
        return peering

    async def _list_peerings(self, request: Request) -> Response:
        subscription_id = request.path_params["subscriptionId"]
        cross_connection = self._find(request)
        return self._page(
            request,
            list(cross_connection.peerings.values()),
            lambda peering: self._render_peering(cross_connection, peering, subscription_id),
        )

    async def _get_peering(self, request: Request) -> Response:
        cross_connection = self._find(request)
        peering = self._peering(cross_connection, request)
        return _json(self._render_peering(cross_connection, peering, request.path_params["subscriptionId"]))

    async def _put_peering(self, request: Request) -> Response:
        subscription_id = request.path_params["subscriptionId"]
        cross_connection = self._find(request)
        name = request.path_params["peeringName"]
        peering_type = next((t for t in PEERING_TYPES if t.lower() == name.lower()), None)
        if peering_type is None:
            raise ArmError(
                400,
                "InvalidPeeringName",
                f"A cross connection peering is named after its type: {', '.join(PEERING_TYPES[:2])}.",
                target="name",
            )
        existing = cross_connection.peerings.get(name.lower())
        self._check_conditions(request, existing.etag if existing else None)
        body = await _json_object(request)
        if existing is not None and existing.properties.get("provisioningState") in ("Updating", "Deleting"):
            raise _operation_in_progress(
                f"{self._cross_connection_id(cross_connection, subscription_id)}/peerings/{name}"
            )
        if cross_connection.provider_state != "Provisioned":
            raise ArmError(
                400,
                "ServiceProviderNotProvisioned",
                f"Peerings can be configured once the connectivity provider has set the cross connection "
                f"{cross_connection.name} to Provisioned; it is {cross_connection.provider_state}.",
                target="properties.serviceProviderProvisioningState",
            )
        properties = _validate_peering(body, peering_type, cross_connection, name)
        desired_state = properties.pop("state", None) or "Enabled"
        stored: dict[str, Any] = {
            "provisioningState": "Updating",
            "peeringType": peering_type,
            "azureASN": existing.properties.get("azureASN", 0) if existing else 0,
            **properties,
            "primaryAzurePort": "",
            "secondaryAzurePort": "",
            "state": existing.properties.get("state", "Disabled") if existing else "Disabled",
            "gatewayManagerEtag": properties.get("gatewayManagerEtag", ""),
            "lastModifiedBy": existing.properties.get("lastModifiedBy", "") if existing else "",
        }
        config = stored.get("microsoftPeeringConfig")
        if isinstance(config, dict):
            config["advertisedPublicPrefixesState"] = "NotConfigured" if existing is None else "Configuring"
        peering = existing or _Peering(peering_type, {}, "")
        peering.properties = stored
        peering.etag = self._new_etag()
        cross_connection.peerings[name.lower()] = peering
        cross_connection.etag = self._new_etag()

        def succeed() -> None:
            current = peering.properties
            current["provisioningState"] = "Succeeded"
            current["azureASN"] = AZURE_ASN
            current["lastModifiedBy"] = "ServiceProvider"
            if desired_state == "Enabled" and current.get("state") != "Enabled":
                peering.enabled_at = self.clock.now()
            current["state"] = desired_state
            ms_config = current.get("microsoftPeeringConfig")
            if isinstance(ms_config, dict):
                # prefixes need a routing registry to validate against
                ms_config["advertisedPublicPrefixesState"] = (
                    "Configured" if ms_config.get("routingRegistryName") else "ValidationNeeded"
                )
            ipv6 = current.get("ipv6PeeringConfig")
            if isinstance(ipv6, dict):
                ipv6.setdefault("state", "Enabled")
            peering.etag = self._new_etag()
            cross_connection.etag = self._new_etag()

        def fail() -> None:
            peering.properties["provisioningState"] = "Failed"
            peering.etag = self._new_etag()

        operation = self._start(cross_connection.location, self.operation_seconds, succeed, fail)
        return _json(
            self._render_peering(cross_connection, peering, subscription_id),
            status=200 if existing else 201,
            headers=self._lro_headers(request, subscription_id, operation, location=False),
        )

    async def _delete_peering(self, request: Request) -> Response:
        subscription_id = request.path_params["subscriptionId"]
        cross_connection = self._find(request)
        name = request.path_params["peeringName"]
        peering = cross_connection.peerings.get(name.lower())
        self._check_conditions(request, peering.etag if peering else None)
        if peering is None:
            return Response(status_code=204, headers={"x-ms-request-id": str(uuid.uuid4())})
        if peering.properties.get("provisioningState") in ("Updating", "Deleting"):
            raise _operation_in_progress(
                f"{self._cross_connection_id(cross_connection, subscription_id)}/peerings/{name}"
            )
        peering.properties["provisioningState"] = "Deleting"
        peering.etag = self._new_etag()

        def succeed() -> None:
            cross_connection.peerings.pop(name.lower(), None)
            cross_connection.etag = self._new_etag()

        def fail() -> None:
            peering.properties["provisioningState"] = "Failed"

        operation = self._start(cross_connection.location, self.operation_seconds, succeed, fail)
        return Response(
            status_code=202, headers=self._lro_headers(request, subscription_id, operation, location=True)
        )

    # --- troubleshooting tables ---------------------------------------------------------------

    async def _post_table(self, request: Request) -> Response:
        subscription_id = request.path_params["subscriptionId"]
        table = request.path_params["table"]
        device_path = request.path_params["devicePath"]
        if table not in TABLES:
            raise ArmError(404, "NotFound", f"No resource matches POST {request.url.path}.")
        cross_connection = self._find(request)
        peering = self._peering(cross_connection, request)
        if device_path not in DEVICE_PATHS:
            raise ArmError(
                400,
                "InvalidDevicePath",
                f"The device path must be primary or secondary, not '{device_path}'.",
                target="devicePath",
            )

        def succeed() -> dict[str, Any]:
            return {"value": self._table_rows(cross_connection, peering, table, device_path)}

        answer = self.table_answers[self._tables_answered % len(self.table_answers)]
        self._tables_answered += 1
        if answer == "immediate":
            return _json(succeed())
        operation = self._start(cross_connection.location, self.table_seconds, succeed)
        headers = self._lro_headers(
            request,
            subscription_id,
            operation,
            location=answer == "location",
            async_operation=answer == "async-operation",
        )
        return Response(status_code=202, headers=headers)

    def _table_rows(
        self, cross_connection: _CrossConnection, peering: _Peering, table: str, device_path: str
    ) -> list[dict[str, Any]]:
        properties = peering.properties
        prefix = properties.get(f"{device_path}PeerAddressPrefix") or "0.0.0.0/30"
        customer_ip, microsoft_ip = (
            str(host) for host in list(ipaddress.ip_network(prefix, strict=False).hosts())[:2]
        )
        up = (
            properties.get("state") == "Enabled"
            and properties.get("provisioningState") == "Succeeded"
            and cross_connection.provider_state == "Provisioned"
        )
        uptime = self.clock.now() - peering.enabled_at if up and peering.enabled_at else None
        seed = f"{cross_connection.name}/{peering.name}/{device_path}"
        if table == "arpTables":
            rows = [
                {
                    "age": 0,
                    "interface": "Microsoft",
                    "ipAddress": microsoft_ip,
                    "macAddress": _mac(seed + "/ms"),
                }
            ]
            if up:
                minutes = int(uptime.total_seconds() // 60) % 240 if uptime else 0
                rows.append(
                    {
                        "age": minutes,
                        "interface": "On-Prem",
                        "ipAddress": customer_ip,
                        "macAddress": _mac(seed + "/onprem"),
                    }
                )
            return rows
        networks = _advertised_networks(cross_connection.name, properties) if up else []
        if table == "routeTables":
            return [
                {
                    "network": network,
                    "nextHop": customer_ip,
                    "locPrf": "",
                    "weight": 0,
                    "path": str(properties.get("peerASN", "")),
                }
                for network in networks
            ]
        return [
            {
                "neighbor": customer_ip,
                "asn": properties.get("peerASN"),
                "upDown": _up_down(uptime) if uptime is not None else "never",
                "stateOrPrefixesReceived": str(len(networks)) if up else "Active",
            }
        ]

    # --- operations ---------------------------------------------------------------------------

    def _operation(self, request: Request) -> _Operation:
        operation = self._operations.get(request.path_params["operationId"])
        if operation is None or operation.region.lower() != request.path_params["location"].lower():
            raise ArmError(404, "NotFound", f"Operation {request.path_params['operationId']} not found.")
        return operation

    async def _operation_status(self, request: Request) -> Response:
        operation = self._operation(request)
        if not operation.finished:
            return _json({"status": "InProgress"}, headers={"Retry-After": str(self.retry_after_seconds)})
        if operation.failure is not None:
            code, message = operation.failure
            return _json({"status": "Failed", "error": {"code": code, "message": message}})
        # a POST's result (a table) rides on its final status, where azure-core reads it
        result = operation.result if isinstance(operation.result, dict) else {}
        return _json({**result, "status": "Succeeded"})

    async def _operation_result(self, request: Request) -> Response:
        operation = self._operation(request)
        if not operation.finished:
            return Response(
                status_code=202,
                headers={
                    "Location": str(request.url),
                    "Retry-After": str(self.retry_after_seconds),
                    "x-ms-request-id": str(uuid.uuid4()),
                },
            )
        if operation.failure is not None:
            code, message = operation.failure
            raise ArmError(500 if code == "InternalServerError" else 400, code, message)
        if operation.result is None:
            return Response(status_code=204, headers={"x-ms-request-id": str(uuid.uuid4())})
        return _json(operation.result)

    # --- provider ports and communities -------------------------------------------------------

    async def _list_ports(self, request: Request) -> Response:
        subscription_id = request.path_params["subscriptionId"]
        location: str | None = request.query_params.get("location")
        if "$filter" in request.query_params:
            location = _parse_eq_filter(request.query_params["$filter"], "location")
        pairs = list(self.world.port_pairs)
        if location is not None:
            at_peering_location = [p for p in pairs if _region(p.peering_location) == _region(location)]
            in_region = [p for p in pairs if _region(p.location) == _region(location)]
            known = any(_region(loc.name) == _region(location) for loc in self.world.locations)
            if not at_peering_location and not in_region and not known:
                raise ArmError(
                    400,
                    "InvalidPeeringLocation",
                    f"'{location}' is not a peering location of this provider.",
                    target="location",
                )
            pairs = at_peering_location or in_region
        return _json({"value": [self._render_port(p, subscription_id) for p in pairs]})

    async def _get_port(self, request: Request) -> Response:
        descriptor = request.path_params["providerport"].strip()
        pair = next((p for p in self.world.port_pairs if p.descriptor.lower() == descriptor.lower()), None)
        if pair is None:
            # the circuit-placement doc: "204 The port pair with the mentioned descriptor ID isn't available"
            return Response(status_code=204, headers={"x-ms-request-id": str(uuid.uuid4())})
        return _json(self._render_port(pair, request.path_params["subscriptionId"]))

    async def _list_communities(self, request: Request) -> Response:
        subscription_id = request.path_params["subscriptionId"]
        value = [
            {
                "id": f"/subscriptions/{subscription_id}{NETWORK}/bgpServiceCommunities/{service}",
                "name": service,
                "type": COMMUNITY_TYPE,
                "properties": {
                    "serviceName": service,
                    "bgpCommunities": [
                        {
                            "serviceSupportedRegion": region,
                            "communityName": name,
                            "communityValue": value,
                            "communityPrefixes": [prefix],
                            "isAuthorizedToUse": True,
                            "serviceGroup": group,
                        }
                        for region, name, value, prefix in communities
                    ],
                },
            }
            for service, group, communities in BGP_SERVICE_COMMUNITIES
        ]
        return _json({"value": value})


# --- helpers ------------------------------------------------------------------------------------


def _key(resource_group: str, name: str) -> str:
    return f"{resource_group.lower()}/{name.lower()}"


def _region(name: str) -> str:
    """ARM compares locations without case or spaces ("East US 2 EUAP" is "eastus2euap")."""
    return name.replace(" ", "").lower()


def _json(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        body, status_code=status, headers={"x-ms-request-id": str(uuid.uuid4()), **(headers or {})}
    )


def _authenticate(request: Request) -> None:
    header = request.headers.get("authorization")
    if not header:
        raise ArmError(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
            headers={
                "WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common"'
            },
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ArmError(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        )


def _check_conditions(request: Request, etag: str | None) -> None:
    """ARM's conditional writes: ``If-Match`` must equal the current etag (``*``: any existing);
    ``If-None-Match: *`` only creates (``<etag>``: anything but that version). ``etag`` is None
    when the resource does not exist."""
    wanted = request.headers.get("if-match")
    unwanted = request.headers.get("if-none-match")
    failed = False
    if wanted is not None:
        failed = etag is None or (wanted.strip() != "*" and wanted.strip() != etag)
    if unwanted is not None and etag is not None:
        failed = failed or unwanted.strip() in ("*", etag)
    if failed:
        raise ArmError(
            412, "PreconditionFailed", "The condition specified using HTTP conditional header(s) is not met."
        )


def _operation_in_progress(resource_id: str) -> ArmError:
    return ArmError(
        409,
        "AnotherOperationInProgress",
        f"Another operation on this or dependent resource is in progress. Resource {resource_id}. "
        "Retry the request after the operation completes.",
    )


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise ArmError(
            400, "InvalidRequestContent", "The request content was invalid and could not be deserialized."
        )
    return body


def _is_tags(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


_EQ_FILTER = re.compile(r"^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$", re.IGNORECASE)


def _parse_eq_filter(expression: str, field_name: str) -> str:
    match = _EQ_FILTER.match(expression)
    if match is None or match.group(1).lower() != field_name.lower():
        raise ArmError(
            400,
            "InvalidFilterInQueryString",
            f"The $filter '{expression}' is not supported; use {field_name} eq '<value>'.",
            target="$filter",
        )
    return match.group(2).replace("''", "'")


def _validate_peering(
    body: dict[str, Any], peering_type: str, cross_connection: _CrossConnection, name: str
) -> dict[str, Any]:
    """The writable peering properties of a PUT body, checked; raises ArmError on bad input."""
    properties = body.get("properties")
    if not isinstance(properties, dict):
        raise ArmError(
            400, "InvalidRequestFormat", "The peering needs a properties object.", target="properties"
        )
    given_type = properties.get("peeringType") or peering_type
    if given_type != peering_type:
        raise ArmError(
            400,
            "PeeringTypeDoesNotMatchName",
            f"A peering named {name} must have peeringType {peering_type}, not {given_type}.",
            target="properties.peeringType",
        )
    if peering_type == "AzurePublicPeering":
        raise ArmError(
            400,
            "AzurePublicPeeringNotSupported",
            "Azure public peering is retired; configure Microsoft peering instead.",
            target="properties.peeringType",
        )
    peer_asn = properties.get("peerASN")
    if not _is_int(peer_asn) or not 1 <= peer_asn <= 4_294_967_295:
        raise ArmError(
            400,
            "InvalidPeerAsn",
            f"peerASN must be between 1 and 4294967295, not {peer_asn}.",
            target="properties.peerASN",
        )
    vlan_id = properties.get("vlanId")
    if not _is_int(vlan_id) or not 1 <= vlan_id <= 4094:
        raise ArmError(
            400,
            "InvalidVlanId",
            f"vlanId must be between 1 and 4094, not {vlan_id}.",
            target="properties.vlanId",
        )
    for other in cross_connection.peerings.values():
        if other.name.lower() != name.lower() and other.properties.get("vlanId") == vlan_id:
            raise ArmError(
                400,
                "VlanIdInUse",
                f"VLAN {vlan_id} is already used by peering {other.name}.",
                target="properties.vlanId",
            )
    _check_prefix_pair(
        properties.get("primaryPeerAddressPrefix"),
        properties.get("secondaryPeerAddressPrefix"),
        4,
        "properties",
    )
    shared_key = properties.get("sharedKey")
    if shared_key is not None and (
        not isinstance(shared_key, str) or len(shared_key) > MAX_SHARED_KEY_LENGTH
    ):
        raise ArmError(
            400,
            "InvalidSharedKey",
            f"The shared key must be a string of at most {MAX_SHARED_KEY_LENGTH} characters.",
            target="properties.sharedKey",
        )
    state = properties.get("state")
    if state is not None and state not in ("Enabled", "Disabled"):
        raise ArmError(
            400,
            "InvalidPeeringState",
            f"state must be Enabled or Disabled, not {state}.",
            target="properties.state",
        )
    ipv6 = properties.get("ipv6PeeringConfig")
    if ipv6 is not None:
        if not isinstance(ipv6, dict):
            raise ArmError(
                400,
                "InvalidRequestFormat",
                "ipv6PeeringConfig must be an object.",
                target="properties.ipv6PeeringConfig",
            )
        _check_prefix_pair(
            ipv6.get("primaryPeerAddressPrefix"),
            ipv6.get("secondaryPeerAddressPrefix"),
            6,
            "properties.ipv6PeeringConfig",
        )
    config = properties.get("microsoftPeeringConfig")
    if peering_type == "MicrosoftPeering":
        _check_microsoft_config(config)
    writable = (
        "peerASN",
        "primaryPeerAddressPrefix",
        "secondaryPeerAddressPrefix",
        "sharedKey",
        "vlanId",
        "microsoftPeeringConfig",
        "gatewayManagerEtag",
        "ipv6PeeringConfig",
        "state",
    )
    kept = {k: json.loads(json.dumps(properties[k])) for k in writable if properties.get(k) is not None}
    if peering_type != "MicrosoftPeering":
        kept.pop("microsoftPeeringConfig", None)
    return kept


def _check_microsoft_config(config: Any) -> None:
    target = "properties.microsoftPeeringConfig"
    if not isinstance(config, dict):
        raise ArmError(
            400,
            "MicrosoftPeeringConfigRequired",
            "Microsoft peering needs a microsoftPeeringConfig.",
            target=target,
        )
    prefixes = config.get("advertisedPublicPrefixes")
    if not isinstance(prefixes, list) or not prefixes:
        raise ArmError(
            400,
            "AdvertisedPublicPrefixesRequired",
            "Microsoft peering needs at least one advertised public prefix.",
            target=f"{target}.advertisedPublicPrefixes",
        )
    for prefix in prefixes:
        try:
            ipaddress.ip_network(str(prefix), strict=True)
        except ValueError:
            raise ArmError(
                400,
                "InvalidAdvertisedPublicPrefix",
                f"'{prefix}' is not a valid prefix.",
                target=f"{target}.advertisedPublicPrefixes",
            ) from None
    registry = config.get("routingRegistryName")
    if registry is not None and str(registry).upper() not in ROUTING_REGISTRIES:
        raise ArmError(
            400,
            "InvalidRoutingRegistryName",
            f"routingRegistryName must be one of {', '.join(ROUTING_REGISTRIES)}, not {registry}.",
            target=f"{target}.routingRegistryName",
        )
    customer_asn = config.get("customerASN")
    if customer_asn is not None and (not _is_int(customer_asn) or customer_asn < 0):
        raise ArmError(
            400,
            "InvalidCustomerAsn",
            f"customerASN must be a positive number, not {customer_asn}.",
            target=f"{target}.customerASN",
        )


def _check_prefix_pair(primary: Any, secondary: Any, version: int, target: str) -> None:
    length = 30 if version == 4 else 126
    networks = []
    for side, value in (("primary", primary), ("secondary", secondary)):
        try:
            network = ipaddress.ip_network(str(value), strict=True) if value else None
        except ValueError:
            network = None
        if network is None or network.version != version or network.prefixlen != length:
            raise ArmError(
                400,
                "InvalidPeeringAddressPrefix",
                f"{side}PeerAddressPrefix must be an IPv{version} /{length} subnet, not {value}.",
                target=f"{target}.{side}PeerAddressPrefix",
            )
        networks.append(network)
    if networks[0].overlaps(networks[1]):
        raise ArmError(
            400,
            "PeeringAddressPrefixesOverlap",
            f"The primary and secondary subnets overlap ({primary}, {secondary}).",
            target=f"{target}.secondaryPeerAddressPrefix",
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _mac(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).hexdigest()[:12]
    return f"{digest[0:4]}.{digest[4:8]}.{digest[8:12]}"


def _advertised_networks(service_key: str, properties: dict[str, Any]) -> list[str]:
    """What the customer's router announces: Microsoft peering's public prefixes, or two private /16s."""
    config = properties.get("microsoftPeeringConfig")
    if isinstance(config, dict) and config.get("advertisedPublicPrefixes"):
        return [str(p) for p in config["advertisedPublicPrefixes"]]
    second_octet = int(hashlib.sha256(service_key.encode()).hexdigest()[:4], 16) % 200 + 20
    return [f"10.{second_octet}.0.0/16", f"10.{second_octet + 1}.0.0/16"]


def _up_down(uptime: timedelta) -> str:
    """BGP session uptime as routers print it: "1d14h" past a day, else "hh:mm:ss"."""
    seconds = int(uptime.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    if days:
        return f"{days}d{hours}h"
    minutes, seconds = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}"
