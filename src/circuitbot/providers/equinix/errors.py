"""Errors of the Equinix client, from the error bodies of both generations and of the token API.

* v3 answers an error with one object or an array of ``{errorCode, errorMessage, property,
  moreInfo, errorMessageKey}`` (codes like ``IC-LAYER2-PROFILE-009``).
* v4 answers an ``ErrorList``: an array of ``{errorCode "EQ-nnnnnnn", errorMessage,
  correlationId, details, additionalInfo}``.
* The token API answers ``error_code``/``error_message`` (its spec) or ``errorCode``/
  ``errorMessage`` (Equinix's own Go client): both are read.

Every error answer becomes an ``EquinixError`` with the first error's code and message (the
others joined in) and the correlation id, so a chat reply says exactly what Equinix said.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from circuitbot.providers.http import ProviderHTTPError, request_id_of

from .models_v4 import ALREADY_DELETED
from .wire import TokenError

PROVIDER = "equinix"


@dataclass(frozen=True)
class ErrorEntry:
    code: str | None
    message: str | None
    property: str | None = None
    correlation_id: str | None = None


class EquinixError(ProviderHTTPError):
    """Equinix answered with an error status."""

    def __init__(
        self,
        *,
        status: int | None,
        message: str,
        code: str | None = None,
        request_id: str | None = None,
        errors: tuple[ErrorEntry, ...] = (),
    ) -> None:
        self.errors = errors
        super().__init__(provider=PROVIDER, status=status, message=message, code=code, request_id=request_id)

    @property
    def codes(self) -> set[str]:
        return {e.code for e in self.errors if e.code}


class NotFound(EquinixError):
    """No such connection, port or profile (404, or an answer that names none)."""


class AuthenticationFailed(EquinixError):
    """The token endpoint refused the client credentials, or a fresh token was refused too."""


class WriteUnconfirmed(EquinixError):
    """A create's answer was lost and the connection is not visible: it was not sent again."""


def parse_errors(body: Any) -> list[ErrorEntry]:
    """The errors of a v3 (object or array) or v4 (array) error body; [] when it is neither."""
    items = body if isinstance(body, list) else [body]
    found = []
    for item in items:
        if not isinstance(item, dict):
            continue
        code = item.get("errorCode") or item.get("error_code")
        message = item.get("errorMessage") or item.get("error_message") or item.get("developerMessage")
        if code is None and message is None:
            continue
        found.append(
            ErrorEntry(
                code=str(code) if code is not None else None,
                message=str(message) if message is not None else None,
                property=item.get("property"),
                correlation_id=item.get("correlationId"),
            )
        )
    return found


def error_from_response(response: httpx.Response) -> EquinixError:
    status = response.status_code
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        body = None
    errors = tuple(parse_errors(body))
    first = errors[0] if errors else None
    text = "; ".join(f"{e.message}{f' ({e.property})' if e.property else ''}" for e in errors if e.message)
    message = text or response.reason_phrase or f"HTTP {status}"
    request_id = next((e.correlation_id for e in errors if e.correlation_id), None) or request_id_of(response)
    codes = {e.code for e in errors}
    if status == 404 or "EQ-3045811" in codes:
        error_class: type[EquinixError] = NotFound
    elif status == 401:
        error_class = AuthenticationFailed
    else:
        error_class = EquinixError
    return error_class(
        status=status,
        code=first.code if first else None,
        message=message,
        request_id=request_id,
        errors=errors,
    )


def token_error(response: httpx.Response) -> AuthenticationFailed:
    """The token endpoint's refusal, in either casing, never echoing what was sent."""
    try:
        parsed = TokenError.model_validate(response.json())
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        parsed = TokenError()
    message = parsed.error_message or parsed.developer_message or parsed.error_title
    return AuthenticationFailed(
        status=response.status_code,
        code=parsed.error_code,
        message=f"sign-in refused: {message or response.reason_phrase or 'no reason given'}",
        request_id=request_id_of(response),
    )


def already_deleted(exc: BaseException) -> bool:
    """A delete refused because the connection is already gone (v4 ``EQ-3142509``): success."""
    return isinstance(exc, EquinixError) and ALREADY_DELETED in exc.codes
