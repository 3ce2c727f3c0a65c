"""HTTP client of the Azure ExpressRoute partner API (ARM).

Covers what a partner manages: expressRouteCrossConnections (the shadow of a customer's
circuit, named by its service key), their peerings and troubleshooting tables, the partner's
port pairs (expressRouteProviderPorts) and Azure's BGP service communities.

Two pitfalls of the real service shape this client:

* A cross-connection PUT must carry the whole resource as GET returned it, read-only fields
  included (``location``, ``expressRouteCircuit.id``, ``peeringLocation``,
  ``bandwidthInMbps``); otherwise ARM answers ``LocationRequired`` or "cannot be modified".
  PUT bodies are therefore built from the raw GET JSON with only the intended fields changed,
  never from a model.
* Writes are long-running: the answer carries ``Azure-AsyncOperation`` or ``Location`` and
  ``Retry-After``; the client follows them to the end through the Clock, then reads the
  resource back.
* Writes are conditional: ``if_match`` is compared with the etag just read before anything
  is sent, because the spec declares no If-Match and ARM may not enforce it, and is sent as
  ``If-Match`` as well. A write whose answer is lost is never sent again (the repeat would fail
  412 or 409 once the first was accepted): the resource is read to see whether the change is
  in place, and then followed to its end.
* The troubleshooting tables are POSTs that answer 200 with the table, or 202 with
  ``Location`` (the table is its final answer) or, as the spec examples show, with only
  ``Azure-AsyncOperation``: then the table is in the final operation status, where azure-core
  reads a POST's result.
"""

from __future__ import annotations

import asyncio
import copy
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from azure.core.credentials_async import AsyncTokenCredential

from circuitbot.clock import Clock, SystemClock
from circuitbot.providers.http import (
    NO_AMBIGUOUS_RETRY_EXTENSION,
    RetryPolicy,
    make_client,
    maybe_processed,
    parse_retry_after,
)

from . import models as m
from .errors import (
    PROVIDER,
    AzureCloudError,
    AzureOperationFailed,
    AzureOperationTimeout,
    AzureWriteUnconfirmed,
    NotFound,
    PreconditionFailed,
    error_from_response,
)

DEFAULT_BASE_URL = "https://management.azure.com"
DEFAULT_TOKEN_SCOPE = "https://management.azure.com/.default"
DEFAULT_POLL_SECONDS = 10.0  # the partner docs' Retry-After; used when an answer gives none
TOKEN_REFRESH_MARGIN = 300.0  # renew a token this many seconds before it expires

CROSS_CONNECTION_ID = re.compile(
    # resource group names do not end in a period, which also keeps out "." and ".."
    r"^/subscriptions/(?P<subscription>[-\w]+)/resourceGroups/(?P<group>[-\w.()]*[-\w()])"
    r"/providers/Microsoft\.Network/expressRouteCrossConnections/(?P<name>[-\w.]*\w)$",
    re.IGNORECASE,
)
"""The only ARM ids the client takes from a user: a cross-connection, nothing more in the path."""

ModelT = TypeVar("ModelT", bound=m.AzureModel)
ProviderPortQueryForm = Literal["filter", "query"]


@dataclass(frozen=True)
class Fetched(Generic[ModelT]):
    """A resource as fetched: the parsed model, the raw JSON (the base of any PUT) and its etag."""

    model: ModelT
    raw: dict[str, Any] = field(repr=False)  # a peering's raw JSON holds its BGP shared key
    etag: str | None

    @property
    def id(self) -> str:
        return str(self.raw.get("id") or "")


class _BearerAuth(httpx.Auth):
    """Adds an ARM bearer token, only for the configured ARM host.

    Polling URLs come from response headers; checking the host keeps the token from being
    sent anywhere else. A 401 gets one retry with a fresh token.
    """

    def __init__(self, client: AzurePartnerClient, host: str) -> None:
        self._client = client
        self._host = host

    async def async_auth_flow(self, request: httpx.Request) -> AsyncIterator[httpx.Request]:  # type: ignore[override]
        if request.url.host != self._host:
            yield request
            return
        token = await self._client._token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {await self._client._token(rejected=token)}"
            yield request


class AzurePartnerClient:
    """The partner side of ExpressRoute: cross-connections, peerings, port pairs, communities.

    ``subscription_ids`` are the partner's management subscriptions; lists cover all of them.
    ``credential`` is any azure.core AsyncTokenCredential; without one an
    ``azure.identity.aio.DefaultAzureCredential`` is created on first use (client secret,
    managed identity or workload identity through their standard environment variables).
    ``poll_interval`` fixes the wait between long-running-operation polls; by default the
    service's ``Retry-After`` decides.
    """

    def __init__(
        self,
        *,
        subscription_ids: Sequence[str],
        credential: AsyncTokenCredential | None = None,
        base_url: str = DEFAULT_BASE_URL,
        token_scope: str = DEFAULT_TOKEN_SCOPE,
        cross_connection_api_version: str = "2025-07-01",
        provider_ports_api_version: str = "2025-05-01",
        communities_api_version: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        poll_interval: float | None = None,
        operation_timeout: float = 3600.0,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        if not subscription_ids:
            raise ValueError("at least one partner subscription id is needed")
        self.subscription_ids = list(subscription_ids)
        self.base_url = base_url.rstrip("/")
        self.token_scope = token_scope
        self.cross_connection_api_version = cross_connection_api_version
        self.provider_ports_api_version = provider_ports_api_version
        self.communities_api_version = communities_api_version or cross_connection_api_version
        self.poll_interval = poll_interval
        self.operation_timeout = operation_timeout
        self._clock: Clock = clock or SystemClock()
        self._credential = credential
        self._owns_credential = credential is None
        self._access_token: str | None = None
        self._token_expires_on = 0.0
        self._token_lock = asyncio.Lock()
        self._key_to_id: dict[str, str] = {}
        self._name_filter_supported = True
        self._http = make_client(
            provider=PROVIDER,
            base_url=self.base_url,
            transport=transport,
            retry=retry,
            clock=self._clock,
            timeout=timeout,
            headers={"Accept": "application/json"},
            auth=_BearerAuth(self, urlsplit(self.base_url).hostname or ""),
            request_id_header="x-ms-client-request-id",
        )

    async def __aenter__(self) -> AzurePartnerClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
        if self._owns_credential and self._credential is not None:
            await self._credential.close()

    # --- cross-connections --------------------------------------------------------------------

    async def iter_cross_connections(
        self, subscription: str | None = None, filter: str | None = None
    ) -> AsyncIterator[m.ExpressRouteCrossConnection]:
        """Every cross-connection in one or all partner subscriptions, following nextLink."""
        async for item in self.iter_cross_connection_items(subscription, filter):
            yield m.ExpressRouteCrossConnection.model_validate(item)

    async def iter_cross_connection_items(
        self, subscription: str | None = None, filter: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """The same as the JSON objects ARM sent, unvalidated: for reading a few fields of many."""
        for subscription_id in self._subscriptions(subscription):
            params = {"api-version": self.cross_connection_api_version}
            if filter:
                params["$filter"] = filter
            url = f"/subscriptions/{subscription_id}/providers/Microsoft.Network/expressRouteCrossConnections"
            async for item in self._pages(url, params):
                if isinstance(item, dict):
                    self._remember(item.get("name"), item.get("id"))
                    yield item

    async def iter_cross_connection_items_in_group(
        self, subscription: str, resource_group: str
    ) -> AsyncIterator[dict[str, Any]]:
        """The JSON objects of one resource group's cross-connections, following nextLink: groups
        can be listed side by side, where one subscription listing is a single chain of pages."""
        params = {"api-version": self.cross_connection_api_version}
        url = (
            f"/subscriptions/{quote(subscription, safe='')}/resourceGroups/{quote(resource_group, safe='')}"
            "/providers/Microsoft.Network/expressRouteCrossConnections"
        )
        async for item in self._pages(url, params):
            if isinstance(item, dict):
                self._remember(item.get("name"), item.get("id"))
                yield item

    def known_id(self, service_key: str) -> str | None:
        """The ARM id a listing or lookup last showed for this service key, without asking Azure."""
        return self._key_to_id.get(service_key.strip().lower())

    async def list_cross_connections(
        self, subscription: str | None = None, filter: str | None = None
    ) -> list[m.ExpressRouteCrossConnection]:
        return [c async for c in self.iter_cross_connections(subscription, filter)]

    async def find_by_service_key(
        self, service_key: str, *, list_all: bool = True
    ) -> m.ExpressRouteCrossConnection | None:
        """The cross-connection whose name is the service key, in any partner subscription.

        Asks with ``$filter=name eq '<key>'`` first; lists everything when the filter is
        refused or finds nothing (not every api-version honours it), unless ``list_all`` is
        False (the caller has just listed everything). Names compare case-insensitively, as
        ARM names do.
        """
        wanted = service_key.strip().lower()
        if self._name_filter_supported:
            name_filter = f"name eq {_odata_string(service_key.strip())}"
            try:
                async for cross_connection in self.iter_cross_connections(filter=name_filter):
                    if (cross_connection.name or "").lower() == wanted:
                        return cross_connection
            except AzureCloudError as exc:
                if exc.status != 400:
                    raise
                self._name_filter_supported = False
        if not list_all:
            return None
        async for cross_connection in self.iter_cross_connections():
            if (cross_connection.name or "").lower() == wanted:
                return cross_connection
        return None

    async def resolve_cross_connection_id(self, id_or_key: str) -> str:
        """The ARM id of a cross-connection given its id or its service key.

        An id is taken only in the exact shape of a cross-connection id and only in one of the
        partner subscriptions: it becomes a URL the bearer token is sent to.
        """
        if _is_resource_id(id_or_key):
            return self._checked_id(id_or_key.strip())
        cached = self._key_to_id.get(id_or_key.strip().lower())
        if cached:
            return cached
        found = await self.find_by_service_key(id_or_key)
        if found is None or not found.id:
            raise NotFound(
                status=404,
                code="CrossConnectionNotFound",
                message=f"No cross-connection with service key {id_or_key} in the partner subscriptions.",
            )
        return found.id

    async def get_cross_connection(self, id_or_key: str) -> Fetched[m.ExpressRouteCrossConnection]:
        resource_id = await self.resolve_cross_connection_id(id_or_key)
        try:
            return await self._get_cross_connection_by_id(resource_id)
        except NotFound:
            key = id_or_key.strip().lower()
            if _is_resource_id(id_or_key) or self._key_to_id.pop(key, None) is None:
                raise
        # the cached id went stale (the resource moved or was recreated): look it up again
        return await self._get_cross_connection_by_id(await self.resolve_cross_connection_id(id_or_key))

    async def put_cross_connection(
        self,
        current: Fetched[m.ExpressRouteCrossConnection] | str,
        *,
        properties: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        if_match: str | None = None,
        wait: bool = True,
    ) -> Fetched[m.ExpressRouteCrossConnection]:
        """PUT the whole resource as read, with only ``properties``/``tags`` changed.

        ``current`` is a snapshot from ``get_cross_connection`` (or an id or key, read first).
        ``if_match`` must be the snapshot's etag (else ``PreconditionFailed`` before anything is
        sent) and goes out as ``If-Match``. With ``wait`` the operation is followed to the end
        and the resource read back; without it the first answer (provisioningState
        ``Updating``) is returned.
        """
        snapshot = current if isinstance(current, Fetched) else await self.get_cross_connection(current)
        _check_etag(snapshot, if_match)
        body = copy.deepcopy(snapshot.raw)
        if properties:
            body.setdefault("properties", {}).update(copy.deepcopy(dict(properties)))
        if tags is not None:
            body["tags"] = dict(tags)
        resource_id = snapshot.id
        try:
            response = await self._send(
                "PUT", resource_id, self.cross_connection_api_version, json=body, if_match=if_match
            )
        except (httpx.TransportError, AzureCloudError) as error:
            if not maybe_processed(error):
                raise

            def applied(found: Fetched[Any] | None) -> bool:
                return (
                    found is not None
                    and _contains(found.raw.get("properties"), dict(properties or {}))
                    and (tags is None or found.raw.get("tags") == dict(tags))
                )

            found = await self._confirm_write(
                error, "PUT", lambda: self._get_cross_connection_by_id(resource_id), applied, wait=wait
            )
            assert found is not None
            return found
        if wait:
            await self._wait_for_operation(response, final_via="azure-async-operation")
            return await self._get_cross_connection_by_id(resource_id)
        return _snapshot(m.ExpressRouteCrossConnection, response)

    async def set_provisioning_state(
        self,
        id_or_key: Fetched[m.ExpressRouteCrossConnection] | str,
        state: str,
        *,
        if_match: str | None = None,
        wait: bool = True,
    ) -> Fetched[m.ExpressRouteCrossConnection]:
        """Set ``serviceProviderProvisioningState`` (Provisioned once layer 2 is up, …).

        ``id_or_key`` is an id, a key, or a snapshot just read (then it is not read again)."""
        return await self.put_cross_connection(
            id_or_key, properties={"serviceProviderProvisioningState": state}, if_match=if_match, wait=wait
        )

    async def set_notes(
        self,
        id_or_key: Fetched[m.ExpressRouteCrossConnection] | str,
        notes: str,
        *,
        if_match: str | None = None,
        wait: bool = True,
    ) -> Fetched[m.ExpressRouteCrossConnection]:
        return await self.put_cross_connection(
            id_or_key, properties={"serviceProviderNotes": notes}, if_match=if_match, wait=wait
        )

    async def move_to_port_pair(
        self,
        id_or_key: Fetched[m.ExpressRouteCrossConnection] | str,
        port_pair: m.ExpressRouteProviderPort | str,
        *,
        if_match: str | None = None,
        wait: bool = True,
    ) -> Fetched[m.ExpressRouteCrossConnection]:
        """Place the circuit on another port pair (seed 000): PUT new primary/secondary ports.

        ``port_pair`` is a provider port as listed or its descriptor. Whether the target fits
        (same peering location, enough remaining bandwidth) is checked by the caller and by
        the service.
        """
        if isinstance(port_pair, str):
            found = await self.get_provider_port(port_pair)
            if found is None:
                raise NotFound(
                    status=204, code="PortPairNotFound", message=f"No port pair with descriptor {port_pair}."
                )
            port_pair = found
        ports = port_pair.properties
        if ports is None or not ports.primary_azure_port or not ports.secondary_azure_port:
            raise ValueError(
                f"port pair {port_pair.descriptor} does not name its primary and secondary ports"
            )
        return await self.put_cross_connection(
            id_or_key,
            properties={
                "primaryAzurePort": ports.primary_azure_port,
                "secondaryAzurePort": ports.secondary_azure_port,
            },
            if_match=if_match,
            wait=wait,
        )

    async def update_tags(
        self, id_or_key: str, tags: Mapping[str, str]
    ) -> Fetched[m.ExpressRouteCrossConnection]:
        """PATCH the tags (the only partial update ARM offers for cross-connections)."""
        resource_id = await self.resolve_cross_connection_id(id_or_key)
        response = await self._send(
            "PATCH", resource_id, self.cross_connection_api_version, json={"tags": dict(tags)}
        )
        return _snapshot(m.ExpressRouteCrossConnection, response)

    # --- peerings -----------------------------------------------------------------------------

    async def list_peerings(self, id_or_key: str) -> list[m.ExpressRouteCrossConnectionPeering]:
        resource_id = await self.resolve_cross_connection_id(id_or_key)
        params = {"api-version": self.cross_connection_api_version}
        return [
            m.ExpressRouteCrossConnectionPeering.model_validate(item)
            async for item in self._pages(f"{resource_id}/peerings", params)
        ]

    async def get_peering(
        self, id_or_key: str, peering_name: str
    ) -> Fetched[m.ExpressRouteCrossConnectionPeering]:
        return await self._read_peering(await self._peering_url(id_or_key, peering_name))

    async def put_peering(
        self,
        id_or_key: str,
        peering_name: str,
        properties: Mapping[str, Any],
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
        merge: bool = True,
        wait: bool = True,
    ) -> Fetched[m.ExpressRouteCrossConnectionPeering]:
        """Create or update a peering (by convention named after its type).

        With ``merge`` an existing peering is read and only ``properties`` change in it, as
        ``az network cross-connection peering update`` does; otherwise the body holds exactly
        ``properties``. ``if_match`` (update exactly this version) and ``if_none_match="*"``
        (create only) are checked against the peering as read, then sent along:
        ``PreconditionFailed`` when they do not hold.
        """
        url = await self._peering_url(id_or_key, peering_name)
        existing: Fetched[m.ExpressRouteCrossConnectionPeering] | None = None
        if merge or if_match or if_none_match:
            try:
                existing = await self._read_peering(url)
            except NotFound:
                existing = None
        _check_etag(existing, if_match, if_none_match)
        body: dict[str, Any] = {"name": peering_name, "properties": {}}
        if merge and existing is not None:
            body = copy.deepcopy(existing.raw)
        body.setdefault("properties", {}).update(copy.deepcopy(dict(properties)))
        if peering_name in set(m.PeeringType):
            body["properties"].setdefault("peeringType", peering_name)
        try:
            response = await self._send(
                "PUT",
                url,
                self.cross_connection_api_version,
                json=body,
                if_match=if_match,
                if_none_match=if_none_match,
            )
        except (httpx.TransportError, AzureCloudError) as error:
            if not maybe_processed(error):
                raise
            # the key need not be echoed; the fields written with it show the PUT landed
            intended = {k: v for k, v in properties.items() if k != "sharedKey"}

            def applied(found: Fetched[Any] | None) -> bool:
                return found is not None and _contains(found.raw.get("properties"), intended)

            found = await self._confirm_write(
                error, "PUT", lambda: self._read_peering(url), applied, wait=wait
            )
            assert found is not None
            return found
        if wait:
            await self._wait_for_operation(response, final_via="azure-async-operation")
            return await self._read_peering(url)
        return _snapshot(m.ExpressRouteCrossConnectionPeering, response)

    async def delete_peering(
        self, id_or_key: str, peering_name: str, *, if_match: str | None = None, wait: bool = True
    ) -> None:
        """Delete a peering; ``if_match`` (its etag as read) refuses it if it changed since."""
        url = await self._peering_url(id_or_key, peering_name)
        if if_match:
            try:
                current: Fetched[Any] | None = await self._read_peering(url)
            except NotFound:
                current = None
            _check_etag(current, if_match)
        try:
            response = await self._send("DELETE", url, self.cross_connection_api_version, if_match=if_match)
        except (httpx.TransportError, AzureCloudError) as error:
            if not maybe_processed(error):
                raise

            def applied(found: Fetched[Any] | None) -> bool:
                return found is None or _provisioning_state(found) == "deleting"

            await self._confirm_write(error, "DELETE", self._peering_or_none(url), applied, wait=wait)
            return
        if wait:
            await self._wait_for_operation(response, final_via="location")

    # --- troubleshooting tables ---------------------------------------------------------------

    async def list_arp_table(
        self, id_or_key: str, peering_name: str, device_path: str
    ) -> list[m.ExpressRouteCircuitArpTable]:
        items = await self._table(id_or_key, peering_name, "arpTables", device_path)
        return [m.ExpressRouteCircuitArpTable.model_validate(item) for item in items]

    async def list_routes_table(
        self, id_or_key: str, peering_name: str, device_path: str
    ) -> list[m.ExpressRouteCircuitRoutesTable]:
        items = await self._table(id_or_key, peering_name, "routeTables", device_path)
        return [m.ExpressRouteCircuitRoutesTable.model_validate(item) for item in items]

    async def list_routes_table_summary(
        self, id_or_key: str, peering_name: str, device_path: str
    ) -> list[m.ExpressRouteCrossConnectionRoutesTableSummary]:
        items = await self._table(id_or_key, peering_name, "routeTablesSummary", device_path)
        return [m.ExpressRouteCrossConnectionRoutesTableSummary.model_validate(item) for item in items]

    # --- provider ports (port pairs) ----------------------------------------------------------

    async def list_provider_ports(
        self,
        location: str | None = None,
        *,
        form: ProviderPortQueryForm = "filter",
        subscription: str | None = None,
    ) -> list[m.ExpressRouteProviderPort]:
        """The partner's port pairs, all or at one peering location.

        ``form="filter"`` asks as the spec does (``$filter=location eq '<loc>'``),
        ``form="query"`` as the partner docs do (``?location=<loc>``).
        """
        if form not in ("filter", "query"):
            raise ValueError(f"form must be 'filter' or 'query', not {form!r}")
        ports: list[m.ExpressRouteProviderPort] = []
        for subscription_id in self._subscriptions(subscription):
            params = {"api-version": self.provider_ports_api_version}
            if location is not None:
                if form == "filter":
                    params["$filter"] = f"location eq {_odata_string(location)}"
                else:
                    params["location"] = location
            url = _provider_ports_path(subscription_id)
            ports.extend(
                [m.ExpressRouteProviderPort.model_validate(item) async for item in self._pages(url, params)]
            )
        return ports

    async def get_provider_port(
        self, descriptor: str, *, subscription: str | None = None
    ) -> m.ExpressRouteProviderPort | None:
        """One port pair by descriptor, or None when no partner subscription has it.

        The service answers with the object (spec), a ``{"value": [...]}`` wrapper (partner
        docs; only an entry naming the descriptor counts) or 204 for an unknown descriptor.
        """
        wanted = descriptor.strip().lower()
        for subscription_id in self._subscriptions(subscription):
            url = f"{_provider_ports_path(subscription_id)}/{quote(descriptor.strip(), safe='')}"
            try:
                response = await self._send("GET", url, self.provider_ports_api_version)
            except NotFound:
                continue
            if response.status_code == 204 or not response.content:
                continue
            body = _json_object(response)
            if isinstance(body.get("value"), list):
                for item in body["value"]:
                    port = m.ExpressRouteProviderPort.model_validate(item)
                    if wanted in {(port.descriptor or "").lower(), (port.name or "").lower()}:
                        return port
                continue
            return m.ExpressRouteProviderPort.model_validate(body)
        return None

    # --- BGP service communities --------------------------------------------------------------

    async def list_bgp_service_communities(
        self, subscription: str | None = None
    ) -> list[m.BgpServiceCommunity]:
        """Azure's services and their BGP community values (the same in every subscription)."""
        subscription_id = subscription or self.subscription_ids[0]
        url = f"/subscriptions/{subscription_id}/providers/Microsoft.Network/bgpServiceCommunities"
        params = {"api-version": self.communities_api_version}
        return [m.BgpServiceCommunity.model_validate(item) async for item in self._pages(url, params)]

    # --- plumbing -----------------------------------------------------------------------------

    async def _token(self, *, rejected: str | None = None) -> str:
        """The current token, fetched once for all concurrent callers; ``rejected`` is a token
        ARM refused (401): a new one is fetched unless another caller already did."""
        async with self._token_lock:
            now = self._clock.now().timestamp()
            valid = self._access_token and now < self._token_expires_on - TOKEN_REFRESH_MARGIN
            if valid and self._access_token != rejected:
                return self._access_token  # type: ignore[return-value]
            if self._credential is None:
                from azure.identity.aio import DefaultAzureCredential

                self._credential = DefaultAzureCredential()
            access = await self._credential.get_token(self.token_scope)
            self._access_token = access.token
            self._token_expires_on = float(access.expires_on)
            return access.token

    def _checked_id(self, resource_id: str) -> str:
        match = CROSS_CONNECTION_ID.match(resource_id)
        ours = {s.lower() for s in self.subscription_ids}
        if match is None or match["subscription"].lower() not in ours:
            raise NotFound(
                status=None,
                code="CrossConnectionNotFound",
                message=f"{resource_id} is not the id of a cross-connection in the partner subscriptions.",
            )
        return resource_id

    def _subscriptions(self, subscription: str | None) -> list[str]:
        return [subscription] if subscription else self.subscription_ids

    def _remember(self, name: Any, resource_id: Any) -> None:
        if isinstance(name, str) and isinstance(resource_id, str) and name and resource_id:
            self._key_to_id[name.lower()] = resource_id

    async def _get_cross_connection_by_id(self, resource_id: str) -> Fetched[m.ExpressRouteCrossConnection]:
        response = await self._send("GET", resource_id, self.cross_connection_api_version)
        snapshot = _snapshot(m.ExpressRouteCrossConnection, response)
        self._remember(snapshot.model.name, snapshot.model.id)
        return snapshot

    async def _peering_url(self, id_or_key: str, peering_name: str) -> str:
        cross_connection_id = await self.resolve_cross_connection_id(id_or_key)
        return f"{cross_connection_id}/peerings/{quote(peering_name, safe='')}"

    async def _read_peering(self, url: str) -> Fetched[m.ExpressRouteCrossConnectionPeering]:
        response = await self._send("GET", url, self.cross_connection_api_version)
        return _snapshot(m.ExpressRouteCrossConnectionPeering, response)

    def _peering_or_none(self, url: str) -> Callable[[], Awaitable[Fetched[Any] | None]]:
        async def read() -> Fetched[Any] | None:
            try:
                return await self._read_peering(url)
            except NotFound:
                return None

        return read

    async def _confirm_write(
        self,
        error: Exception,
        method: str,
        read: Callable[[], Awaitable[Fetched[Any] | None]],
        applied: Callable[[Fetched[Any] | None], bool],
        *,
        wait: bool,
    ) -> Fetched[Any] | None:
        """After a write whose answer was lost: read the resource instead of writing again.

        When ``applied`` finds the change in place, the write was accepted: with ``wait`` the
        resource is then read until its provisioningState settles (None once it is gone).
        Otherwise ``AzureWriteUnconfirmed``.
        """
        try:
            found = await read()
        except NotFound:
            found = None
        if not applied(found):
            raise AzureWriteUnconfirmed(
                status=getattr(error, "status", None),
                code="WriteNotConfirmed",
                message=(
                    f"Azure's answer to the {method} was lost ({_describe(error)}) and the change is not "
                    "visible: it was not applied, or is still on its way. It was not sent again."
                ),
            ) from error
        if not wait:
            return found
        deadline = self._clock.monotonic() + self.operation_timeout
        while found is not None and _provisioning_state(found) in ("updating", "deleting"):
            if self._clock.monotonic() >= deadline:
                raise AzureOperationTimeout(
                    f"azure: operation still running after {self.operation_timeout:g}s ({found.id})"
                )
            await self._clock.sleep(self.poll_interval or DEFAULT_POLL_SECONDS)
            try:
                found = await read()
            except NotFound:
                found = None
        if found is not None and _provisioning_state(found) == "failed":
            raise AzureOperationFailed(
                status=None, code="OperationFailed", message=f"The {method} was applied but ended Failed."
            )
        return found

    async def _table(self, id_or_key: str, peering_name: str, table: str, device_path: str) -> list[Any]:
        if device_path not in set(m.DevicePath):
            raise ValueError(f"device path must be primary or secondary, not {device_path!r}")
        url = f"{await self._peering_url(id_or_key, peering_name)}/{table}/{device_path}"
        response = await self._send("POST", url, self.cross_connection_api_version)
        if response.status_code == 202:
            final = await self._wait_for_operation(response, final_via="location")
            result = _json_object(final) if final is not None and final.content else {}
            if isinstance(result.get("properties"), dict) and "value" not in result:
                result = result["properties"]  # ARM's async-operation resource keeps results there
            elif result.get("resourceLocation") and "value" not in result:
                result = _json_object(await self._send("GET", str(result["resourceLocation"])))
            if "value" not in result:
                raise AzureOperationFailed(
                    status=None,
                    code="NoResult",
                    message=f"The {table} operation finished without a result to read.",
                )
        else:
            result = _json_object(response)
        return [item async for item in self._follow(result)]

    async def _pages(self, url: str, params: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
        """Items of a list answer and of every page its nextLink leads to."""
        response = await self._send("GET", url, params=params)
        async for item in self._follow(_json_object(response) if response.content else {}):
            yield item

    async def _follow(self, body: dict[str, Any]) -> AsyncIterator[Any]:
        """The items of a page and of every page its nextLink leads to."""
        seen: set[str] = set()
        while True:
            for item in body.get("value") or []:
                yield item
            next_link = body.get("nextLink")
            if not next_link:
                return
            if next_link in seen:
                raise AzureCloudError(
                    status=None,
                    code="RepeatedNextLink",
                    message="ARM sent a nextLink it had sent before; stopped paging rather than loop.",
                )
            seen.add(next_link)
            # nextLink is absolute and carries its own query (api-version, skip token)
            response = await self._send("GET", next_link)
            body = _json_object(response) if response.content else {}

    async def _send(
        self,
        method: str,
        url: str,
        api_version: str | None = None,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> httpx.Response:
        query = dict(params or {})
        if api_version is not None:
            query["api-version"] = api_version
        headers = {}
        if if_match:
            headers["If-Match"] = if_match
        if if_none_match:
            headers["If-None-Match"] = if_none_match
        request = self._http.build_request(method, url, params=query or None, json=json, headers=headers)
        if method in _WRITES:
            # an accepted ARM write sent again fails (412, 409): find out instead (_confirm_write)
            request.extensions[NO_AMBIGUOUS_RETRY_EXTENSION] = True
        response = await self._http.send(request)
        await response.aread()
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    async def _wait_for_operation(
        self, response: httpx.Response, *, final_via: Literal["azure-async-operation", "location"]
    ) -> httpx.Response | None:
        """Follow a long-running operation to its end.

        ``Azure-AsyncOperation`` is polled until its status is terminal (Failed or Canceled
        raise ``AzureOperationFailed``). ``Location`` answers 202 until the operation ends,
        then 200 with the result or 204; for ``final_via="location"`` that last answer is
        returned, or, when there is no ``Location``, the final operation status (where
        azure-core reads a POST's result). An answer with neither header was already final.
        With ``final_via="azure-async-operation"`` the result is the resource: None is returned.
        """
        operation_url = response.headers.get("Azure-AsyncOperation")
        location_url = response.headers.get("Location")
        deadline = self._clock.monotonic() + self.operation_timeout
        last = response
        if operation_url:
            while True:
                await self._pause(last, deadline, operation_url)
                last = await self._send("GET", operation_url)
                result = m.AzureAsyncOperationResult.model_validate(
                    _json_object(last) if last.content else {}
                )
                status = (result.status or "").lower()
                if status == m.OperationStatus.SUCCEEDED.lower():
                    break
                if status in (m.OperationStatus.FAILED.lower(), m.OperationStatus.CANCELED.lower()):
                    error = result.error
                    raise AzureOperationFailed(
                        status=None,  # the status poll itself succeeded (200); the operation did not
                        code=(error.code if error else None) or f"Operation{result.status}",
                        message=(error.message if error else None) or f"The operation ended {result.status}.",
                        request_id=last.headers.get("x-ms-request-id"),
                    )
            if final_via == "azure-async-operation":
                return None
            if not location_url:
                return last
            last = await self._send("GET", location_url)
        elif not location_url:
            return None if response.status_code == 202 else response
        elif response.status_code not in (201, 202):
            return response
        else:
            await self._pause(last, deadline, location_url)
            last = await self._send("GET", location_url)
        while last.status_code == 202:
            await self._pause(last, deadline, location_url)
            last = await self._send("GET", location_url)
        return last

    async def _pause(self, last: httpx.Response, deadline: float, url: str) -> None:
        if self._clock.monotonic() >= deadline:
            raise AzureOperationTimeout(
                f"azure: operation still running after {self.operation_timeout:g}s ({urlsplit(url).path})"
            )
        if self.poll_interval is not None:
            delay = self.poll_interval
        else:
            asked = parse_retry_after(last.headers, self._clock)
            delay = DEFAULT_POLL_SECONDS if asked is None else asked
        await self._clock.sleep(delay)


_WRITES = frozenset({"PUT", "PATCH", "DELETE"})


def _check_etag(current: Fetched[Any] | None, if_match: str | None, if_none_match: str | None = None) -> None:
    """The conditions of a write, checked against the resource as just read (None: absent)."""
    if if_match and (current is None or (if_match != "*" and current.etag != if_match)):
        raise PreconditionFailed(
            status=None,
            code="PreconditionFailed",
            message=(
                "The resource changed since it was read (its etag no longer matches); nothing was written."
            ),
        )
    if if_none_match and current is not None and if_none_match in ("*", current.etag):
        raise PreconditionFailed(
            status=None,
            code="PreconditionFailed",
            message="The resource exists already; nothing was written.",
        )


def _contains(actual: Any, wanted: Any) -> bool:
    """Whether ``actual`` (as read) holds everything of ``wanted`` (as written); ARM adds fields
    of its own to objects, and may change the case of names."""
    if isinstance(wanted, Mapping):
        return isinstance(actual, Mapping) and all(_contains(actual.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(wanted)
            and all(_contains(a, w) for a, w in zip(actual, wanted, strict=True))
        )
    if isinstance(wanted, str) and isinstance(actual, str):
        return actual.lower() == wanted.lower()
    return actual == wanted


def _provisioning_state(snapshot: Fetched[Any]) -> str:
    properties = snapshot.raw.get("properties")
    return str((properties or {}).get("provisioningState") or "").lower()


def _describe(error: Exception) -> str:
    if isinstance(error, AzureCloudError):
        return f"HTTP {error.status}"
    return error.__class__.__name__


def _odata_string(value: str) -> str:
    """An OData string literal: quoted, with quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def _provider_ports_path(subscription_id: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Network/expressRouteProviderPorts"


def _is_resource_id(value: str) -> bool:
    return value.strip().lower().startswith("/subscriptions/")


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The JSON object an answer carries; anything else is ARM's error, not a crash of ours."""
    try:
        body = response.json()
    except ValueError:  # JSONDecodeError, or bytes that are not text
        raise AzureCloudError(
            status=response.status_code,
            code="MalformedResponse",
            message="ARM answered with a body that is not valid JSON.",
            request_id=response.headers.get("x-ms-request-id"),
        ) from None
    if not isinstance(body, dict):
        raise AzureCloudError(
            status=response.status_code, code="UnexpectedBody", message="Expected a JSON object from ARM."
        )
    return body


def _snapshot(model_class: type[ModelT], response: httpx.Response) -> Fetched[ModelT]:
    raw = _json_object(response) if response.content else {}
    etag = raw.get("etag") or response.headers.get("ETag")
    return Fetched(model=model_class.model_validate(raw), raw=raw, etag=etag)
