"""An httpx transport that records each request it passes on, for tests of provider clients."""

from __future__ import annotations

from collections.abc import Callable

import httpx


class Recorder(httpx.AsyncBaseTransport):
    """Passes requests to ``inner`` and keeps each one (method, URL, headers, body) to read."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []
        # runs just before a request goes out: a test's chance to change the world in between
        self.before: Callable[[httpx.Request], None] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.before is not None:
            self.before(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def sent(self, method: str, path_part: str = "") -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and path_part in r.url.path]
