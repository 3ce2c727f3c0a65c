"""HTTP client of the Azure ExpressRoute partner API (ARM).

Covers what a partner manages: expressRouteCrossConnections (the shadow of a customer's
circuit, named by its service key), their peerings and troubleshooting tables, the partner's
port pairs (expressRouteProviderPorts) and Azure's BGP service communities.

The ARM mechanics (token, paging, long-running operations and the results of POSTs such
as the troubleshooting tables, conditional writes whose answer may be lost) are in ``arm``,
with the pitfalls they handle; the reads of the port pairs and communities are in ``ports``.
The pitfall of the resources here:

* A cross-connection PUT must carry the whole resource as GET returned it, read-only fields
  included (``location``, ``expressRouteCircuit.id``, ``peeringLocation``,
  ``bandwidthInMbps``); otherwise ARM answers ``LocationRequired`` or "cannot be modified".
  PUT bodies are therefore built from the raw GET JSON with only the intended fields changed,
  never from a model.
"""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx
from azure.core.credentials_async import AsyncTokenCredential

from circuitbot.clock import Clock, SystemClock
from circuitbot.providers.http import RetryPolicy

from . import models as m
from . import ports
from .arm import Arm, Fetched, absent_as_none, check_etag, contains, fetched, odata_string
from .errors import AzureCloudError, NotFound
from .ports import ProviderPortQueryForm

DEFAULT_BASE_URL = "https://management.azure.com"
DEFAULT_TOKEN_SCOPE = "https://management.azure.com/.default"

CROSS_CONNECTION_ID = re.compile(
    # resource group names do not end in a period, which also keeps out "." and ".."
    r"^/subscriptions/(?P<subscription>[-\w]+)/resourceGroups/(?P<group>[-\w.()]*[-\w()])"
    r"/providers/Microsoft\.Network/expressRouteCrossConnections/(?P<name>[-\w.]*\w)$",
    re.IGNORECASE,
)
"""The only ARM ids the client takes from a user: a cross-connection, nothing more in the path."""


class AzurePartnerClient:
    """The partner side of ExpressRoute: cross-connections, peerings, port pairs, communities.

    ``subscription_ids`` are the partner's management subscriptions; lists cover all of them.
    ``credential`` is any azure.core AsyncTokenCredential; without one an
    ``azure.identity.aio.DefaultAzureCredential`` is created on first use (client secret,
    managed identity or workload identity through their standard environment variables).
    ``poll_interval`` fixes the wait between long-running-operation polls; by default the
    service's ``Retry-After`` decides. ARM itself is reached through ``arm``.
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
        self._key_to_id: dict[str, str] = {}
        self._name_filter_supported = True
        self.arm = Arm(
            base_url=self.base_url,
            token_scope=token_scope,
            credential=credential,
            clock=clock or SystemClock(),
            transport=transport,
            poll_interval=poll_interval,
            operation_timeout=operation_timeout,
            retry=retry,
            timeout=timeout,
        )

    async def __aenter__(self) -> AzurePartnerClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.arm.aclose()

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
            async for item in self._listed(url, params):
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
        async for item in self._listed(url, params):
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
            name_filter = f"name eq {odata_string(service_key.strip())}"
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
        check_etag(snapshot, if_match)
        body = copy.deepcopy(snapshot.raw)
        if properties:
            body.setdefault("properties", {}).update(copy.deepcopy(dict(properties)))
        if tags is not None:
            body["tags"] = dict(tags)
        resource_id = snapshot.id

        def applied(found: Fetched[Any] | None) -> bool:
            return (
                found is not None
                and contains(found.raw.get("properties"), dict(properties or {}))
                and (tags is None or found.raw.get("tags") == dict(tags))
            )

        return await self.arm.put(
            resource_id,
            self.cross_connection_api_version,
            body,
            model=m.ExpressRouteCrossConnection,
            read=lambda: self._get_cross_connection_by_id(resource_id),
            applied=applied,
            if_match=if_match,
            wait=wait,
        )

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
        response = await self.arm.send(
            "PATCH", resource_id, self.cross_connection_api_version, json={"tags": dict(tags)}
        )
        return fetched(m.ExpressRouteCrossConnection, response)

    # --- peerings -----------------------------------------------------------------------------

    async def list_peerings(self, id_or_key: str) -> list[m.ExpressRouteCrossConnectionPeering]:
        resource_id = await self.resolve_cross_connection_id(id_or_key)
        params = {"api-version": self.cross_connection_api_version}
        return [
            m.ExpressRouteCrossConnectionPeering.model_validate(item)
            async for item in self.arm.pages(f"{resource_id}/peerings", params)
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
            existing = await absent_as_none(lambda: self._read_peering(url))()
        check_etag(existing, if_match, if_none_match)
        body: dict[str, Any] = {"name": peering_name, "properties": {}}
        if merge and existing is not None:
            body = copy.deepcopy(existing.raw)
        body.setdefault("properties", {}).update(copy.deepcopy(dict(properties)))
        if peering_name in set(m.PeeringType):
            body["properties"].setdefault("peeringType", peering_name)
        # the key need not be echoed; the fields written with it show a lost PUT landed
        intended = {k: v for k, v in properties.items() if k != "sharedKey"}

        def applied(found: Fetched[Any] | None) -> bool:
            return found is not None and contains(found.raw.get("properties"), intended)

        return await self.arm.put(
            url,
            self.cross_connection_api_version,
            body,
            model=m.ExpressRouteCrossConnectionPeering,
            read=lambda: self._read_peering(url),
            applied=applied,
            if_match=if_match,
            if_none_match=if_none_match,
            wait=wait,
        )

    async def delete_peering(
        self, id_or_key: str, peering_name: str, *, if_match: str | None = None, wait: bool = True
    ) -> None:
        """Delete a peering; ``if_match`` (its etag as read) refuses it if it changed since."""
        url = await self._peering_url(id_or_key, peering_name)
        if if_match:
            check_etag(await absent_as_none(lambda: self._read_peering(url))(), if_match)
        await self.arm.delete(
            url,
            self.cross_connection_api_version,
            read=lambda: self._read_peering(url),
            if_match=if_match,
            wait=wait,
        )

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

    # --- provider ports (port pairs) and BGP service communities: reads, in ``ports`` ----------

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
        subscriptions = self._subscriptions(subscription)
        return await ports.list_provider_ports(
            self.arm, subscriptions, self.provider_ports_api_version, location, form
        )

    async def get_provider_port(
        self, descriptor: str, *, subscription: str | None = None
    ) -> m.ExpressRouteProviderPort | None:
        """One port pair by descriptor, or None when no partner subscription has it."""
        subscriptions = self._subscriptions(subscription)
        return await ports.get_provider_port(
            self.arm, subscriptions, self.provider_ports_api_version, descriptor
        )

    async def list_bgp_service_communities(
        self, subscription: str | None = None
    ) -> list[m.BgpServiceCommunity]:
        """Azure's services and their BGP community values (the same in every subscription)."""
        subscription_id = subscription or self.subscription_ids[0]
        return await ports.list_bgp_service_communities(
            self.arm, subscription_id, self.communities_api_version
        )

    # --- plumbing -----------------------------------------------------------------------------

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

    async def _listed(self, url: str, params: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
        """The cross-connections of a listing, each remembered by its service key."""
        async for item in self.arm.pages(url, params):
            if isinstance(item, dict):
                self._remember(item.get("name"), item.get("id"))
                yield item

    def _remember(self, name: Any, resource_id: Any) -> None:
        if isinstance(name, str) and isinstance(resource_id, str) and name and resource_id:
            self._key_to_id[name.lower()] = resource_id

    async def _get_cross_connection_by_id(self, resource_id: str) -> Fetched[m.ExpressRouteCrossConnection]:
        response = await self.arm.send("GET", resource_id, self.cross_connection_api_version)
        snapshot = fetched(m.ExpressRouteCrossConnection, response)
        self._remember(snapshot.model.name, snapshot.model.id)
        return snapshot

    async def _peering_url(self, id_or_key: str, peering_name: str) -> str:
        cross_connection_id = await self.resolve_cross_connection_id(id_or_key)
        return f"{cross_connection_id}/peerings/{quote(peering_name, safe='')}"

    async def _read_peering(self, url: str) -> Fetched[m.ExpressRouteCrossConnectionPeering]:
        response = await self.arm.send("GET", url, self.cross_connection_api_version)
        return fetched(m.ExpressRouteCrossConnectionPeering, response)

    async def _table(self, id_or_key: str, peering_name: str, table: str, device_path: str) -> list[Any]:
        if device_path not in set(m.DevicePath):
            raise ValueError(f"device path must be primary or secondary, not {device_path!r}")
        url = f"{await self._peering_url(id_or_key, peering_name)}/{table}/{device_path}"
        return await self.arm.post_for_list(url, self.cross_connection_api_version, what=table)


def _is_resource_id(value: str) -> bool:
    return value.strip().lower().startswith("/subscriptions/")
