"""One bearer token per provider client, shared by every request it sends.

A provider's sign-in (Azure's ``AsyncTokenCredential.get_token``, an OAuth2 client-credentials
POST) is wrapped as an async ``fetch()`` returning the token and when it expires (seconds
since the epoch). ``SharedToken`` fetches once for all concurrent callers and again a margin
before expiry; ``BearerAuth`` sends it, only to the provider's own host (polling URLs come
from response headers and must not receive it), and answers a 401 with one refresh and one
retry: a second 401 is returned as it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable

import httpx

from circuitbot.clock import Clock

TOKEN_REFRESH_MARGIN = 300.0  # renew a token this many seconds before it expires

TokenFetch = Callable[[], Awaitable[tuple[str, float]]]
"""Signs in afresh: the token and its expiry in seconds since the epoch."""


class SharedToken:
    """The current token, fetched once for all concurrent callers and renewed before it expires."""

    def __init__(
        self, fetch: TokenFetch, *, clock: Clock, refresh_margin: float = TOKEN_REFRESH_MARGIN
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._refresh_margin = refresh_margin
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self, *, rejected: str | None = None) -> str:
        """The current token; ``rejected`` is one the provider refused (401): a new one is
        fetched unless another caller already did."""
        async with self._lock:
            now = self._clock.now().timestamp()
            valid = bool(self._token) and now < self._expires_at - self._refresh_margin
            if valid and self._token != rejected:
                return self._token  # type: ignore[return-value]
            token, expires_at = await self._fetch()
            self._token, self._expires_at = token, float(expires_at)
            return token


class BearerAuth(httpx.Auth):
    """Adds the shared token as ``Authorization: Bearer``, only for requests to ``host``."""

    def __init__(self, token: SharedToken, host: str) -> None:
        self._token = token
        self._host = host

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if request.url.host != self._host:
            yield request
            return
        token = await self._token.get()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {await self._token.get(rejected=token)}"
            yield request
