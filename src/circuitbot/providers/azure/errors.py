"""Errors of the Azure partner client.

Every ARM error answer becomes an ``AzureCloudError`` carrying the CloudError's code and
message, so a chat reply can say exactly what Azure said.
"""

from __future__ import annotations

import json

import httpx

from circuitbot.providers.http import ProviderHTTPError, request_id_of

from .models import CloudError

PROVIDER = "azure"


class AzureCloudError(ProviderHTTPError):
    """ARM answered with an error status (a CloudError body when it sent one)."""

    def __init__(
        self,
        *,
        status: int | None,
        message: str,
        code: str | None = None,
        request_id: str | None = None,
        target: str | None = None,
    ) -> None:
        self.target = target
        super().__init__(provider=PROVIDER, status=status, message=message, code=code, request_id=request_id)


class NotFound(AzureCloudError):
    """The resource does not exist (404, 204 where the docs use it, or no cross-connection has the key)."""


class PreconditionFailed(AzureCloudError):
    """If-Match did not match: the resource changed since it was read."""


class AzureOperationFailed(AzureCloudError):
    """A long-running operation ended Failed or Canceled."""


class AzureWriteUnconfirmed(AzureCloudError):
    """A write's answer was lost (dropped connection, gateway error) and the change is not visible.

    It may not have been applied, or may still be; it was not sent again, since a repeated ARM
    write fails (412, 409) once the first was accepted.
    """


class AzureOperationTimeout(TimeoutError):
    """A long-running operation was still running when the client stopped waiting."""


def error_from_response(response: httpx.Response) -> AzureCloudError:
    """The exception for an error answer, with the CloudError code and message when present."""
    status = response.status_code
    code: str | None = None
    message: str | None = None
    target: str | None = None
    try:
        cloud_error = CloudError.model_validate(response.json())
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        cloud_error = None
    if cloud_error is not None and cloud_error.error is not None:
        code = cloud_error.error.code
        message = cloud_error.error.message
        target = cloud_error.error.target
    message = message or response.reason_phrase or f"HTTP {status}"
    request_id = response.headers.get("x-ms-request-id") or request_id_of(response)
    if status == 412:
        error_class: type[AzureCloudError] = PreconditionFailed
        code = code or "PreconditionFailed"
        message = (
            f"{message} The resource changed since it was read (its etag no longer matches); "
            "read it again and retry."
        )
    elif status == 404:
        error_class = NotFound
    else:
        error_class = AzureCloudError
    return error_class(status=status, code=code, message=message, request_id=request_id, target=target)
