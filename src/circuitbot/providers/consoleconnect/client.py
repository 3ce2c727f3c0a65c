"""HTTP client of the Console Connect API, for Azure Direct Connect Partner connections.

What the company (its username is in every path) orders and reads:

* ``POST …/directConnectPartner/AZURE/layer2/serviceKey``: what an Azure service key resolves to;
* ``PUT …/directConnectPartner/AZURE/layer2/create``: a GROUP_LAYER2 connection of two LAYER2
  sub-connections (Azure requires redundancy), CREATING until it is ACTIVE;
* ``GET/POST/DELETE …/AZURE/layer2/{id}/peering/{PUBLIC|PRIVATE|MICROSOFT}``: peering configs,
  refused before the connection is ACTIVE; ``syncStatus`` PENDING → SYNCING → SYNCED;
* ``GET /api/company/{username}/connections[/{id}]``, ``DELETE /api/v2/company/{username}/
  connections/{id}`` and ``GET /api/company/{username}/ports``.

Pitfalls:

* **Verbs.** Console Connect creates with PUT and updates with POST. httpx's retrying transport
  treats PUT as safe to repeat, which a create is not: a second PUT after a lost answer would
  order a second connection. Creates and peering updates are therefore marked never to be
  sent again once they may have been processed; a lost answer is settled by reading back
  (``kit.confirm``): the connection of that service key, the peering config with those values.
* **Auth.** ``Authorization: Bearer <api key>``, or the deprecated ``portal-token: <token>``
  header; sent only to the API's own host. A 401 is not retried: an API key does not expire.
* **Paging.** Lists answer ``{"results": [...]}``; how they page is not documented. The client
  asks ``limit``/``offset``; once the first page gives the ``total`` the other pages are read
  side by side, otherwise it follows a ``next`` link (only on the API's own host) or reads on
  while a page comes back full, so an API that ignores the parameters still lists once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from circuitbot.clock import Clock, SystemClock
from circuitbot.providers.http import NO_AMBIGUOUS_RETRY_EXTENSION, RetryPolicy, make_client, maybe_processed
from circuitbot.providers.kit.confirm import Outcome, confirm_write

from . import models as m
from .errors import PROVIDER, ConsoleConnectError, NotFound, WriteUnconfirmed, error_from_response

DEFAULT_BASE_URL = "https://api.consoleconnect.com"
DEFAULT_PAGE_SIZE = 100
MAX_PAGES = 1000  # a listing that pages on past this is broken, not large
DELETED_OR_DELETING = (m.ConnectionStatus.DELETING, m.ConnectionStatus.DELETED)
PAGES_AT_ONCE = 8  # pages read side by side once the total is known


class ApiKeyAuth(httpx.Auth):
    """The API key in the configured header, only for requests to the API's own host."""

    def __init__(self, api_key: str, host: str, header: str = "bearer") -> None:
        self._key = api_key
        self._host = host
        self._header = header

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if request.url.host == self._host:
            if self._header == "portal-token":
                request.headers["portal-token"] = self._key
            else:
                request.headers["Authorization"] = f"Bearer {self._key}"
        yield request


def peering_type(value: str) -> str:
    """PUBLIC, PRIVATE or MICROSOFT, as the path takes it."""
    word = value.strip().upper()
    if word not in set(m.PeeringType):
        raise ValueError(f"the peering type is PUBLIC, PRIVATE or MICROSOFT, not {value!r}")
    return word


class ConsoleConnectClient:
    """The company's Azure connections at Console Connect."""

    def __init__(
        self,
        *,
        api_key: str,
        company: str,
        base_url: str = DEFAULT_BASE_URL,
        auth_header: str = "bearer",
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        if not api_key or not company:
            raise ValueError("Console Connect needs an API key and the company's username")
        self.company = company
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.clock = clock or SystemClock()
        self._http = make_client(
            provider=PROVIDER,
            base_url=self.base_url,
            transport=transport,
            retry=retry,
            clock=self.clock,
            timeout=timeout,
            auth=ApiKeyAuth(api_key, httpx.URL(self.base_url).host, auth_header),
            headers={"Accept": "application/json"},
        )

    async def __aenter__(self) -> ConsoleConnectClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- paths --------------------------------------------------------------------------------

    @property
    def _company_path(self) -> str:
        return f"/api/company/{quote(self.company, safe='')}"

    def _azure_path(self, tail: str) -> str:
        return f"{self._company_path}/connections/directConnectPartner/{m.PARTNER}/layer2/{tail}"

    def _connection_path(self, connection_id: str) -> str:
        return f"{self._company_path}/connections/{quote(connection_id.strip(), safe='')}"

    def _peering_path(self, connection_id: str, kind: str) -> str:
        return self._azure_path(f"{quote(connection_id.strip(), safe='')}/peering/{peering_type(kind)}")

    # --- reads --------------------------------------------------------------------------------

    async def iter_connection_items(self) -> AsyncIterator[dict[str, Any]]:
        """Every connection of the company as sent (JSON objects), all pages."""
        async for item in self._pages(f"{self._company_path}/connections"):
            yield item

    async def list_connections(self) -> list[m.Connection]:
        return [m.Connection.model_validate(item) async for item in self.iter_connection_items()]

    async def get_connection_item(self, connection_id: str) -> dict[str, Any]:
        return _object(await self._send("GET", self._connection_path(connection_id)))

    async def get_connection(self, connection_id: str) -> m.Connection:
        return m.Connection.model_validate(await self.get_connection_item(connection_id))

    async def find_by_service_key(self, service_key: str) -> m.Connection | None:
        """The company's live connection for an Azure service key (deleted ones aside)."""
        wanted = service_key.strip().lower()
        for connection in await self.list_connections():
            if (connection.service_key or "").lower() == wanted and not _gone(connection):
                return connection
        return None

    async def list_ports(self) -> list[m.Port]:
        """The company's ports, which a connection's source ports are chosen from."""
        return [m.Port.model_validate(item) async for item in self._pages(f"{self._company_path}/ports")]

    async def verify_service_key(self, service_key: str) -> m.ServiceKeyInfo:
        body = m.ServiceKeyRequest(service_key=service_key.strip()).model_dump(by_alias=True)
        answer = await self._send("POST", self._azure_path("serviceKey"), json=body)
        return m.ServiceKeyInfo.model_validate(_object(answer))

    async def get_peering_item(self, connection_id: str, kind: str) -> dict[str, Any]:
        return _object(await self._send("GET", self._peering_path(connection_id, kind)))

    async def get_peering(self, connection_id: str, kind: str) -> m.PeeringConfig | None:
        """The peering config of that type, or None when the connection has none."""
        try:
            return m.PeeringConfig.model_validate(await self.get_peering_item(connection_id, kind))
        except NotFound:
            await self.get_connection_item(connection_id)  # NotFound of the connection itself
            return None

    # --- writes -------------------------------------------------------------------------------

    async def create_azure_connection(self, request: m.AzureLayer2CreateRequest) -> m.Connection:
        """PUT the create; a lost answer is settled by finding the key's connection, never resent."""
        body = request.model_dump(by_alias=True, exclude_none=True)

        async def read() -> m.Connection | None:
            return await self.find_by_service_key(request.azure_service_key)

        answer = await self._write("PUT", self._azure_path("create"), body, read, lambda c: c is not None)
        if isinstance(answer, m.Connection):
            return answer
        if isinstance(answer, dict) and answer.get("id"):
            return m.Connection.model_validate(answer)
        found = await read()  # an answer without the connection: read it back
        if found is None:
            raise WriteUnconfirmed(
                status=None, message="The create was answered but no connection is listed."
            )
        return found

    async def update_peering(
        self, connection_id: str, kind: str, config: m.PeeringConfigRequest
    ) -> m.PeeringConfig | None:
        """POST the config; a lost answer is settled by reading the config back."""
        body = config.model_dump(by_alias=True, exclude_none=True)
        if config.shared_key is not None:
            body["sharedKey"] = config.shared_key.get_secret_value()
        wanted = {k: v for k, v in body.items() if k != "sharedKey"}  # the key need not be echoed

        async def read() -> m.PeeringConfig | None:
            return await self.get_peering(connection_id, kind)

        def applied(found: m.PeeringConfig | None) -> bool:
            if found is None:
                return False
            now = found.model_dump(by_alias=True, exclude_none=True)
            return all(now.get(k) == v for k, v in wanted.items())

        answer = await self._write("POST", self._peering_path(connection_id, kind), body, read, applied)
        if isinstance(answer, m.PeeringConfig):
            return answer
        if isinstance(answer, dict) and answer:
            return m.PeeringConfig.model_validate(answer)
        return await read()

    async def delete_peering(self, connection_id: str, kind: str) -> None:
        """DELETE the config; a lost answer is settled by finding it gone (a repeated DELETE
        would be answered 404 though the first one landed)."""

        async def read() -> m.PeeringConfig | None:
            return await self.get_peering(connection_id, kind)

        await self._write("DELETE", self._peering_path(connection_id, kind), None, read, lambda c: c is None)

    async def delete_connection(self, connection_id: str) -> m.Connection | None:
        """DELETE the connection (on the API's v2 path); its answer, when it sends one. A lost
        answer is settled by reading it DELETING or DELETED (a repeat would be refused)."""
        company, connection = quote(self.company, safe=""), quote(connection_id.strip(), safe="")
        path = f"/api/v2/company/{company}/connections/{connection}"

        async def read() -> m.Connection | None:
            return await self.get_connection(connection_id)

        def applied(found: m.Connection | None) -> bool:
            return found is not None and any(m.same_status(found.status, s) for s in DELETED_OR_DELETING)

        answer = await self._write("DELETE", path, None, read, applied)
        if isinstance(answer, m.Connection):
            return answer
        return m.Connection.model_validate(answer) if isinstance(answer, dict) and answer.get("id") else None

    # --- plumbing -----------------------------------------------------------------------------

    async def _write(
        self, method: str, path: str, body: Mapping[str, Any] | None, read: Any, applied: Any
    ) -> Any:
        """Send a write once; when its answer is lost, read back whether it landed."""
        try:
            return await self._send(
                method, path, json=dict(body) if body is not None else None, no_retry=True
            )
        except (httpx.TransportError, ConsoleConnectError) as exc:
            if not maybe_processed(exc):
                raise
            confirmation = await confirm_write(read, applied, clock=self.clock)
            if confirmation.outcome is Outcome.NOT_VISIBLE:
                raise WriteUnconfirmed(
                    status=getattr(exc, "status", None),
                    message=(
                        f"The answer to {method} was lost ({type(exc).__name__}) "
                        "and the change is not visible yet."
                    ),
                ) from None
            return confirmation.found

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        no_retry: bool = False,
    ) -> Any:
        extensions = {NO_AMBIGUOUS_RETRY_EXTENSION: True} if no_retry else None
        request = self._http.build_request(method, path, json=json, params=params, extensions=extensions)
        response = await self._http.send(request)
        if response.status_code >= 400:
            raise error_from_response(response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ConsoleConnectError(
                status=response.status_code, code="MalformedAnswer", message="The answer is not valid JSON."
            ) from None

    async def _pages(self, path: str) -> AsyncIterator[dict[str, Any]]:
        """Every item of a listing. Once the first page says the ``total``, the other pages are
        read side by side (offsets are known), in order; otherwise one after the other."""
        first = await self._page(path, 0)
        items, total = _items(first), first.get("total")
        for item in items:
            yield item
        if not items or _next(first):
            async for item in self._pages_in_turn(path, first, len(items)):
                yield item
            return
        if not isinstance(total, int) or isinstance(total, bool):
            if len(items) >= self.page_size:
                async for item in self._pages_in_turn(path, first, len(items)):
                    yield item
            return
        offsets = list(range(len(items), total, len(items)))
        if len(offsets) >= MAX_PAGES:
            raise ConsoleConnectError(status=None, message=f"{path} pages on past {MAX_PAGES} pages.")
        at_once = asyncio.Semaphore(PAGES_AT_ONCE)

        async def page(offset: int) -> list[dict[str, Any]]:
            async with at_once:
                return _items(await self._page(path, offset))

        for chunk in await asyncio.gather(*(page(offset) for offset in offsets)):
            for item in chunk:
                yield item

    async def _pages_in_turn(
        self, path: str, page: dict[str, Any], offset: int
    ) -> AsyncIterator[dict[str, Any]]:
        """The pages after ``page``, following its ``next`` or reading on while pages come full."""
        for _ in range(MAX_PAGES):
            link = _next(page)
            if link is not None:
                link = link[len(self.base_url) :] if link.startswith(self.base_url) else link
                if not link.startswith("/"):
                    return  # another host would receive the API key
                page = _object(await self._send("GET", link))
            elif len(_items(page)) >= self.page_size:
                page = await self._page(path, offset)
            else:
                return
            items = _items(page)
            if not items:
                return
            for item in items:
                yield item
            offset += len(items)
        raise ConsoleConnectError(status=None, message=f"{path} pages on past {MAX_PAGES} pages.")

    async def _page(self, path: str, offset: int) -> dict[str, Any]:
        return _object(await self._send("GET", path, params={"limit": self.page_size, "offset": offset}))


def _items(page: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in page.get("results") or [] if isinstance(item, dict)]


def _next(page: dict[str, Any]) -> str | None:
    link = page.get("next")
    return link if isinstance(link, str) and link else None


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConsoleConnectError(
            status=None,
            code="UnexpectedAnswer",
            message=f"Expected a JSON object, got {type(value).__name__}.",
        )
    return value


def _gone(connection: m.Connection) -> bool:
    return m.status_key(connection.status) in {
        m.status_key(s) for s in (m.ConnectionStatus.DELETED, m.ConnectionStatus.CANCELLED)
    }
