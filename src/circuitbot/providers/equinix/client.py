"""The Equinix Fabric buyer client: one account, on Fabric v4 (the default) or the v3 API.

``EquinixClient`` signs in with OAuth2 client credentials (``api``) and answers every command
with the same views (``views``) whichever generation the account speaks; ``gen3`` and ``gen4``
hold each generation's paths, paging and pitfalls. Connection ids are UUIDs, compared in
lower case.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
from pydantic import SecretStr, ValidationError

from circuitbot.clock import Clock
from circuitbot.providers.http import RetryPolicy

from .api import Api, unexpected
from .errors import NotFound
from .gen3 import V3
from .gen4 import V4
from .settings import ApiVersion
from .views import (
    ConnectionFilter,
    ConnectionView,
    MetroView,
    Order,
    Ordered,
    PortStats,
    PortView,
    PriceQuote,
    ProfileView,
    Validation,
)


@contextmanager
def shaped() -> Iterator[None]:
    """An answer in a shape the wire models cannot read is Equinix's error, not a crash."""
    try:
        yield
    except (ValidationError, TypeError, AttributeError, KeyError) as exc:
        raise unexpected(None, f"an answer of an unexpected shape ({type(exc).__name__})") from None


class EquinixClient:
    def __init__(
        self,
        *,
        client_id: SecretStr,
        client_secret: SecretStr,
        base_url: str = "https://api.equinix.com",
        api_version: ApiVersion = "v4",
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.api = Api(
            base_url=base_url,
            client_id=client_id,
            client_secret=client_secret,
            clock=clock,
            transport=transport,
            retry=retry,
            timeout=timeout,
        )
        self.api_version: ApiVersion = api_version
        self.v3 = V3(self.api)
        self.v4 = V4(self.api)
        self.gen: V3 | V4 = self.v4 if api_version == "v4" else self.v3

    async def __aenter__(self) -> EquinixClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.api.aclose()

    async def ports(self) -> list[PortView]:
        with shaped():
            return await self.gen.ports()

    async def port(self, uuid: str) -> PortView:
        with shaped():
            return await self.gen.port(uuid)

    async def metros(self) -> list[MetroView]:
        with shaped():
            return await self.gen.metros()

    async def prices(self, port: str, metro: str, speeds: Sequence[int] = ()) -> PriceQuote:
        with shaped():
            return await self.gen.prices(port, metro, speeds)

    async def profiles(self, metros: Sequence[str] = ()) -> list[ProfileView]:
        with shaped():
            return await self.gen.profiles(metros)

    async def profile(self, uuid: str) -> ProfileView:
        with shaped():
            return await self.gen.profile(uuid)

    async def validate(self, key: str, metro: str, profile: str, region: str | None = None) -> Validation:
        with shaped():
            return await self.gen.validate(key, metro, profile, region)

    async def connections(self, filters: ConnectionFilter | None = None) -> list[ConnectionView]:
        with shaped():
            return await self.gen.connections(filters)

    def connection_items(self, filters: ConnectionFilter | None = None) -> AsyncIterator[dict[str, Any]]:
        return self.gen.connection_items(filters)

    async def connection(self, uuid: str) -> ConnectionView:
        """One connection; NotFound (code ``ConnectionNotFound``, whatever code the generation
        gave) when Equinix has none with that id."""
        try:
            with shaped():
                return await self.gen.connection(uuid.strip().lower())
        except NotFound as exc:
            raise NotFound(
                status=exc.status,
                code="ConnectionNotFound",
                message=f"No connection {uuid.strip()}: {exc.message}",
                request_id=exc.request_id,
                errors=exc.errors,
            ) from exc

    async def find_connection(self, uuid: str) -> ConnectionView | None:
        """The connection, or None when Equinix has none with that id."""
        try:
            return await self.connection(uuid)
        except NotFound:
            return None

    async def port_stats(self, port: str, start: str, end: str) -> PortStats:
        with shaped():
            return await self.gen.port_stats(port, start, end)

    async def create(self, order: Order) -> Ordered:
        with shaped():
            return await self.gen.create(order)

    async def delete(self, uuid: str) -> None:
        with shaped():
            await self.gen.delete(uuid.strip().lower())
