"""The HTTP side of the Equinix client: sign-in, bearer token, error answers.

Sign-in is OAuth2 client credentials: ``POST /oauth2/v1/token`` with a JSON body
``{grant_type, client_id, client_secret}``. The token (``token_timeout`` a string of seconds)
is shared by every request through the kit's ``SharedToken``: fetched once, renewed
``TOKEN_REFRESH_MARGIN`` before it expires, and once more when Equinix refuses it (401, one
refresh and one retry; a second 401 is the answer). The token request itself carries no bearer
token, and the client id and secret never reach a log line: the transport logs no bodies.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr, ValidationError

from circuitbot.clock import Clock, SystemClock
from circuitbot.providers.http import NO_AMBIGUOUS_RETRY_EXTENSION, RetryPolicy, make_client
from circuitbot.providers.kit.tokens import BearerAuth, SharedToken

from .errors import PROVIDER, AuthenticationFailed, EquinixError, error_from_response, token_error
from .wire import TokenRequest, TokenResponse

TOKEN_PATH = "/oauth2/v1/token"
# Equinix documents no rate limit; Equinix's own clients retry 429 and 5xx like this.
DEFAULT_RETRY = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=30.0)


class Api:
    """One Equinix endpoint (``base_url``), signed in with one pair of client credentials."""

    def __init__(
        self,
        *,
        base_url: str,
        client_id: SecretStr,
        client_secret: SecretStr,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.clock = clock or SystemClock()
        self._client_id = client_id
        self._client_secret = client_secret
        self.token = SharedToken(self._sign_in, clock=self.clock)
        self.http = make_client(
            provider=PROVIDER,
            base_url=self.base_url,
            transport=transport,
            retry=retry or DEFAULT_RETRY,
            clock=self.clock,
            timeout=timeout,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            auth=BearerAuth(self.token, httpx.URL(self.base_url).host),
        )
        self.sign_ins = 0  # tokens fetched: how often the client signed in

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _sign_in(self) -> tuple[str, float]:
        body = TokenRequest(
            client_id=self._client_id.get_secret_value(),
            client_secret=self._client_secret.get_secret_value(),
        ).model_dump()
        # no bearer token on the sign-in itself (a plain Auth() adds nothing)
        response = await self.http.post(TOKEN_PATH, json=body, auth=httpx.Auth())
        if response.status_code >= 400:
            raise token_error(response)
        try:
            token = TokenResponse.model_validate(response.json())
        except (ValueError, ValidationError):
            raise AuthenticationFailed(
                status=response.status_code, message="the token answer carries no access_token"
            ) from None
        self.sign_ins += 1
        return token.access_token, self.clock.now().timestamp() + token.lifetime_seconds

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        once: bool = False,
    ) -> httpx.Response:
        """The answer to one request; an error answer raised as an ``EquinixError``.

        ``once`` marks a write that must not be sent again when its answer may be lost (a
        create: Equinix takes no idempotency key, so a repeat would order twice).
        """
        extensions = {NO_AMBIGUOUS_RETRY_EXTENSION: True} if once else None
        response = await self.http.request(method, path, params=params, json=json, extensions=extensions)
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    async def get_json(self, path: str, params: Any = None) -> Any:
        return decoded(await self.send("GET", path, params=params))

    async def post_json(self, path: str, body: Any) -> Any:
        return decoded(await self.send("POST", path, json=body))


def decoded(response: httpx.Response) -> Any:
    """The answer's JSON; an answer that is not JSON (an HTML error page, a cut-off body) is
    Equinix's error, said plainly."""
    try:
        return response.json()
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both are
        raise unexpected(response.status_code, "an answer that is not JSON") from None


def unexpected(status: int | None, what: str) -> EquinixError:
    return EquinixError(status=status, code="UnexpectedAnswer", message=f"Equinix sent {what}.")


def identified(raw: Any, what: str) -> dict[str, Any]:
    """One resource as Equinix sent it; an answer that is not one (no uuid) is an error."""
    if not isinstance(raw, dict) or not isinstance(raw.get("uuid"), str) or not raw["uuid"]:
        raise unexpected(None, f"a {what} without its uuid")
    return raw
