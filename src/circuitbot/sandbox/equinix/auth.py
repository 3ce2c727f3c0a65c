"""The simulator's OAuth2 token endpoint and its bearer-token check.

``POST /oauth2/v1/token`` takes a JSON body ``{grant_type: "client_credentials", client_id,
client_secret}`` and answers ``{access_token, token_timeout: "<seconds>", token_type: "Bearer"}``
for the credentials the simulator was started with: the documented default pair
(``DEFAULT_CLIENT_ID``/``DEFAULT_CLIENT_SECRET``) and any added through the constructor.
Anything else is refused with HTTP 400 and the spec's snake_case error body. Tokens expire
``token_seconds`` after they were issued, on the simulator's clock; a request with an unknown
or expired token answers 401.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from circuitbot.clock import Clock

DEFAULT_CLIENT_ID = "circuitbot-sandbox"
DEFAULT_CLIENT_SECRET = "circuitbot-sandbox-secret"
DEFAULT_TOKEN_SECONDS = 3600


def parse_client_credentials(text: str) -> tuple[str, str]:
    """``ID:SECRET`` (as ``--client-credentials`` takes it) → (id, secret); the secret may hold
    colons, the id may not."""
    client_id, colon, client_secret = text.partition(":")
    if not colon or not client_id.strip() or not client_secret:
        raise ValueError("client credentials are written ID:SECRET")
    return client_id.strip(), client_secret


class Unauthorized(Exception):
    """The request carries no token, or one the simulator did not issue or that expired."""


class TokenIssuer:
    def __init__(
        self,
        clock: Clock,
        credentials: Iterable[tuple[str, str]] = (),
        *,
        token_seconds: int = DEFAULT_TOKEN_SECONDS,
    ) -> None:
        self.clock = clock
        self.credentials = {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET, **dict(credentials)}
        self.token_seconds = token_seconds
        self.tokens: dict[str, float] = {}  # token -> expiry (clock timestamp)
        self.issued = 0

    def new_token(self) -> str:
        return secrets.token_urlsafe(24)

    def add(self, client_id: str, client_secret: str) -> None:
        self.credentials[client_id] = client_secret

    def expire_all(self) -> None:
        """Every token issued so far stops working (as a revoked or timed-out token does)."""
        self.tokens.clear()

    async def token(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return _refused("S1001", "Invalid request", "The request body must be a JSON object.")
        if body.get("grant_type", "password") != "client_credentials":
            return _refused("S1002", "Unsupported grant type", "Only client_credentials is supported.")
        client_id, client_secret = body.get("client_id"), body.get("client_secret")
        known = self.credentials.get(client_id) if isinstance(client_id, str) else None
        if (
            known is None
            or not isinstance(client_secret, str)
            or not secrets.compare_digest(known, client_secret)
        ):
            return _refused("S1006", "Login Failure", "Login Failure, please try again.")
        token = self.new_token()
        self.tokens[token] = self.clock.now().timestamp() + self.token_seconds
        self.issued += 1
        return JSONResponse(
            {"access_token": token, "token_timeout": str(self.token_seconds), "token_type": "Bearer"}
        )

    def check(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        expires = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if expires is None or self.clock.now().timestamp() >= expires:
            self.tokens.pop(token.strip(), None)
            raise Unauthorized()


def _refused(code: str, title: str, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "error_domain": "apps-sandbox",
            "error_title": title,
            "error_code": code,
            "developer_message": message,
            "error_message": message,
        },
        status_code=400,
    )
