"""Errors of the Alibaba client.

Every error answer ``{RequestId, HostId, Code, Message, Recommend}`` becomes an ``AlibabaError``
that keeps the Code and the RequestId, so a reply can say exactly what Alibaba said and support
can find the request. The classes below say what an error means to the bot.
"""

from __future__ import annotations

import json

import httpx

from circuitbot.providers.http import ProviderHTTPError

from .models import ErrorBody

PROVIDER = "alibaba"

THROTTLING_CODES = frozenset({"Throttling", "Throttling.User", "Throttling.Api", "Throttling.Concurrent"})
NOT_FOUND_CODES = frozenset({"InvalidPhysicalConnectionId.NotFound", "InvalidVbrId.NotFound"})
SIGNATURE_CODES = frozenset(
    {"SignatureDoesNotMatch", "IncompleteSignature", "IllegalTimestamp", "SignatureNonceUsed"}
)


class AlibabaError(ProviderHTTPError):
    """Alibaba answered with an error (Code, Message and RequestId as it sent them)."""

    def __init__(
        self,
        *,
        status: int | None,
        message: str,
        code: str | None = None,
        request_id: str | None = None,
        recommend: str | None = None,
    ) -> None:
        self.recommend = recommend
        super().__init__(provider=PROVIDER, status=status, message=message, code=code, request_id=request_id)
        # The RequestId is what Alibaba's support asks for: it stays in every message shown.
        self.message = f"{message} (RequestId {request_id})" if request_id else message

    def __str__(self) -> str:
        head = " ".join(str(p) for p in (self.status, self.code) if p)
        return f"{self.provider}: {head}: {self.message}" if head else f"{self.provider}: {self.message}"


class NotFound(AlibabaError):
    """No physical connection (or VBR) has that id in the region."""


class Throttled(AlibabaError):
    """Throttling, Throttling.User or Throttling.Api, still so after the client's retries."""


class SignatureRejected(AlibabaError):
    """The credentials or the signature were refused: a setting to fix, not a request to retry."""


class AlibabaWriteUnconfirmed(AlibabaError):
    """A change's answer was lost every time it was sent (with its ClientToken): it may have landed."""


class AlibabaOperationTimeout(TimeoutError):
    """Enable or Terminate had not reached its end state when the client stopped waiting."""


def error_from_response(response: httpx.Response) -> AlibabaError:
    """The exception for an error answer, with Alibaba's Code, Message and RequestId."""
    status = response.status_code
    try:
        body = ErrorBody.model_validate(response.json())
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        body = ErrorBody()
    code = body.code
    message = body.message or response.reason_phrase or f"HTTP {status}"
    if code in THROTTLING_CODES:
        error_class: type[AlibabaError] = Throttled
    elif code in NOT_FOUND_CODES or (status == 404 and code is None):
        error_class = NotFound
    elif code in SIGNATURE_CODES or (code or "").startswith("InvalidAccessKeyId"):
        error_class = SignatureRejected
    else:
        error_class = AlibabaError
    return error_class(
        status=status,
        code=code,
        message=message,
        request_id=body.request_id or response.headers.get("x-acs-request-id"),
        recommend=body.recommend,
    )
