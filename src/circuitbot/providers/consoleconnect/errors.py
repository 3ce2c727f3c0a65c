"""Errors of the Console Connect client, with a clear message from any error body.

The documentation shows no error shape, and what the API and its gateways send varies: a
JSON object with ``message`` or ``error`` (a string, or an object with its own message), a
list of ``errors``, validation details, plain text, an HTML page from a proxy, or nothing.
:func:`message_of` finds the words in any of them; a body that says nothing readable leaves
the HTTP status's phrase. Messages are cut to a length a chat reply can hold.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from circuitbot.providers.http import ProviderHTTPError, request_id_of

PROVIDER = "consoleconnect"
MAX_MESSAGE = 500
_MESSAGE_KEYS = ("message", "msg", "detail", "details", "description", "error_description", "reason", "title")
_CODE_KEYS = ("code", "errorCode", "error_code", "type")
_TAGS = re.compile(r"<[^>]+>")


class ConsoleConnectError(ProviderHTTPError):
    """Console Connect answered with an error status."""

    def __init__(
        self, *, status: int | None, message: str, code: str | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(provider=PROVIDER, status=status, message=message, code=code, request_id=request_id)


class NotFound(ConsoleConnectError):
    """No such connection, peering config or port (404)."""


class Unauthorized(ConsoleConnectError):
    """The API key was refused (401), or it may not act for the company (403)."""


class InvalidServiceKey(ConsoleConnectError):
    """The service key does not resolve to an Azure circuit that can be connected."""


class WriteUnconfirmed(ConsoleConnectError):
    """A write's answer was lost and a read does not show it: it may not have been applied, or
    may still be. It was not sent again (a repeated create would order a second connection)."""


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _words(value: Any, depth: int = 0) -> str | None:
    """The human words in a decoded body, looking into nested objects and lists."""
    if depth > 4 or value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list):
        found = [w for w in (_words(item, depth + 1) for item in value[:5]) if w]
        return "; ".join(found) or None
    if isinstance(value, dict):
        for key in _MESSAGE_KEYS:
            words = _words(value.get(key), depth + 1)
            if words:
                return words
        for key in ("error", "errors", "data"):
            words = _words(value.get(key), depth + 1)
            if words:
                return words
    return None


def _code(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    for key in _CODE_KEYS:
        code = value.get(key)
        if isinstance(code, str | int) and not isinstance(code, bool) and str(code).strip():
            return str(code).strip()
    inner = value.get("error")
    if isinstance(inner, str) and inner.strip() and len(inner) <= 40 and " " not in inner.strip():
        return inner.strip()
    return _code(inner) if isinstance(inner, dict) else None


def message_of(response: httpx.Response) -> tuple[str, str | None]:
    """The message and code an error answer carries, whatever its body's shape."""
    text = response.text if response.content else ""
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
        plain = _TAGS.sub(" ", text) if "<" in text else text
        words = _clip(plain) if plain.strip() else None
        return words or response.reason_phrase or f"HTTP {response.status_code}", None
    words = _words(body)
    return _clip(words) if words else (response.reason_phrase or f"HTTP {response.status_code}"), _code(body)


def error_from_response(response: httpx.Response) -> ConsoleConnectError:
    message, code = message_of(response)
    status = response.status_code
    error_class: type[ConsoleConnectError] = ConsoleConnectError
    if status == 404:
        error_class = NotFound
    elif status in (401, 403):
        error_class = Unauthorized
        hint = "the API key was refused" if status == 401 else "the API key may not act for this company"
        message = f"{message} ({hint}: check CIRCUITBOT_CONSOLECONNECT__API_KEY and __COMPANY)"
    request_id = response.headers.get("x-request-id") or request_id_of(response)
    return error_class(status=status, message=message, code=code, request_id=request_id)
