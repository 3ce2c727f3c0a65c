"""The bearer token a provider client shares: one fetch, renewal before expiry, one 401 retry."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from circuitbot.clock import FakeClock
from circuitbot.providers.kit.tokens import TOKEN_REFRESH_MARGIN, BearerAuth, SharedToken

HOST = "api.provider.example"
LIFETIME = 3600.0


class SignIn:
    """A provider's sign-in: a new token each time, valid for ``LIFETIME`` seconds from now."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.fetches = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self) -> tuple[str, float]:
        self.fetches += 1
        token = f"token-{self.fetches}"
        await self.gate.wait()
        return token, self.clock.now().timestamp() + LIFETIME


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sign_in(clock: FakeClock) -> SignIn:
    return SignIn(clock)


def client(token: SharedToken, answer: httpx.MockTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"https://{HOST}", transport=answer, auth=BearerAuth(token, HOST))


async def test_concurrent_callers_share_one_fetch(clock: FakeClock, sign_in: SignIn) -> None:
    token = SharedToken(sign_in, clock=clock)
    sign_in.gate.clear()
    callers = [asyncio.ensure_future(token.get()) for _ in range(5)]
    await asyncio.sleep(0)
    sign_in.gate.set()
    assert await asyncio.gather(*callers) == ["token-1"] * 5
    assert sign_in.fetches == 1


async def test_a_token_is_renewed_a_margin_before_it_expires(clock: FakeClock, sign_in: SignIn) -> None:
    token = SharedToken(sign_in, clock=clock)
    assert await token.get() == "token-1"
    await clock.advance(LIFETIME - TOKEN_REFRESH_MARGIN - 1)
    assert await token.get() == "token-1"
    await clock.advance(1)  # the margin reached: renewed while the old token still works
    assert await token.get() == "token-2"
    assert sign_in.fetches == 2


async def test_a_401_gets_one_refresh_and_one_retry_with_the_new_token(
    clock: FakeClock, sign_in: SignIn
) -> None:
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["Authorization"])
        return httpx.Response(401 if len(sent) == 1 else 200, json={})

    async with client(SharedToken(sign_in, clock=clock), httpx.MockTransport(answer)) as http:
        response = await http.get("/things")
    assert response.status_code == 200
    assert sent == ["Bearer token-1", "Bearer token-2"]


async def test_a_second_401_is_returned_as_it_is(clock: FakeClock, sign_in: SignIn) -> None:
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["Authorization"])
        return httpx.Response(401, json={"error": "refused"})

    async with client(SharedToken(sign_in, clock=clock), httpx.MockTransport(answer)) as http:
        response = await http.get("/things")
    assert response.status_code == 401
    assert sent == ["Bearer token-1", "Bearer token-2"]
    assert sign_in.fetches == 2


async def test_requests_refused_together_renew_the_token_once(clock: FakeClock, sign_in: SignIn) -> None:
    refused: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)
        if request.headers["Authorization"] == "Bearer token-1":
            refused.append(request.url.path)
            return httpx.Response(401)
        return httpx.Response(200)

    async with client(SharedToken(sign_in, clock=clock), httpx.MockTransport(answer)) as http:
        answers = await asyncio.gather(http.get("/a"), http.get("/b"), http.get("/c"))
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert sorted(refused) == ["/a", "/b", "/c"]
    assert sign_in.fetches == 2  # the first token, and one renewal for all three refusals


async def test_the_token_goes_to_the_provider_host_only(clock: FakeClock, sign_in: SignIn) -> None:
    seen: dict[str, str | None] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        seen[request.url.host] = request.headers.get("Authorization")
        return httpx.Response(401)

    async with client(SharedToken(sign_in, clock=clock), httpx.MockTransport(answer)) as http:
        response = await http.get("https://elsewhere.example/operation")
    assert response.status_code == 401
    assert seen == {"elsewhere.example": None}
    assert sign_in.fetches == 0
