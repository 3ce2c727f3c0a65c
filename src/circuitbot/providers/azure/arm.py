"""How the Azure client talks to ARM, whatever the resource.

``Arm`` holds the connection: the bearer token (``providers.kit.tokens``), requests sent
through ``providers.http`` with ARM's errors raised, list pages followed through ``nextLink``,
long-running operations followed to their end through the Clock, and writes that stay safe when
their answer is lost. ``Fetched`` is a resource as read, the base of any write.

Pitfalls of the real service handled here:

* Writes are long-running: the answer carries ``Azure-AsyncOperation`` or ``Location`` and
  ``Retry-After``; the client follows them to the end through the Clock, then reads the
  resource back.
* Writes are conditional: ``if_match`` is compared with the etag just read before anything
  is sent, because the spec declares no If-Match and ARM may not enforce it, and is sent as
  ``If-Match`` as well. A write whose answer is lost is never sent again (the repeat would fail
  412 or 409 once the first was accepted): the resource is read to see whether the change is
  in place (``providers.kit.confirm``), and then followed to its end.
* The troubleshooting tables are POSTs that answer 200 with the table, or 202 with
  ``Location`` (the table is its final answer) or, as the spec examples show, with only
  ``Azure-AsyncOperation``: then the table is in the final operation status, where azure-core
  reads a POST's result.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit

import httpx
from azure.core.credentials_async import AsyncTokenCredential

from circuitbot.clock import Clock
from circuitbot.providers.http import (
    NO_AMBIGUOUS_RETRY_EXTENSION,
    RetryPolicy,
    make_client,
    maybe_processed,
    parse_retry_after,
)
from circuitbot.providers.kit.confirm import Outcome, confirm_write
from circuitbot.providers.kit.tokens import BearerAuth, SharedToken

from . import models as m
from .errors import (
    PROVIDER,
    AzureCloudError,
    AzureOperationFailed,
    AzureOperationTimeout,
    AzureWriteUnconfirmed,
    NotFound,
    PreconditionFailed,
    error_from_response,
)

DEFAULT_POLL_SECONDS = 10.0  # the partner docs' Retry-After; used when an answer gives none

ModelT = TypeVar("ModelT", bound=m.AzureModel)
FinalVia = Literal["azure-async-operation", "location"]

_WRITES = frozenset({"PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Fetched(Generic[ModelT]):
    """A resource as fetched: the parsed model, the raw JSON (the base of any PUT) and its etag."""

    model: ModelT
    raw: dict[str, Any] = field(repr=False)  # a peering's raw JSON holds its BGP shared key
    etag: str | None

    @property
    def id(self) -> str:
        return str(self.raw.get("id") or "")


class Arm:
    """One ARM endpoint: its token, its HTTP client and the rules of its long-running writes.

    ``credential`` is any azure.core AsyncTokenCredential; without one an
    ``azure.identity.aio.DefaultAzureCredential`` is created on first use. ``poll_interval``
    fixes the wait between long-running-operation polls; by default the service's
    ``Retry-After`` decides.
    """

    def __init__(
        self,
        *,
        base_url: str,
        token_scope: str,
        credential: AsyncTokenCredential | None,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
        poll_interval: float | None = None,
        operation_timeout: float = 3600.0,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.credential = credential
        self._owns_credential = credential is None
        self._token_scope = token_scope
        self.clock = clock
        self.poll_interval = poll_interval
        self.operation_timeout = operation_timeout
        token = SharedToken(self._fetch_token, clock=clock)
        self._http = make_client(
            provider=PROVIDER,
            base_url=base_url,
            transport=transport,
            retry=retry,
            clock=clock,
            timeout=timeout,
            headers={"Accept": "application/json"},
            # polling URLs come from response headers: the token goes to the ARM host only
            auth=BearerAuth(token, urlsplit(base_url).hostname or ""),
            request_id_header="x-ms-client-request-id",
        )

    async def aclose(self) -> None:
        await self._http.aclose()
        if self._owns_credential and self.credential is not None:
            await self.credential.close()

    async def _fetch_token(self) -> tuple[str, float]:
        if self.credential is None:
            from azure.identity.aio import DefaultAzureCredential

            self.credential = DefaultAzureCredential()
        access = await self.credential.get_token(self._token_scope)
        return access.token, float(access.expires_on)

    async def send(
        self,
        method: str,
        url: str,
        api_version: str | None = None,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> httpx.Response:
        """One request, its answer read; an error answer raised as ARM's error."""
        query = dict(params or {})
        if api_version is not None:
            query["api-version"] = api_version
        headers = {}
        if if_match:
            headers["If-Match"] = if_match
        if if_none_match:
            headers["If-None-Match"] = if_none_match
        request = self._http.build_request(method, url, params=query or None, json=json, headers=headers)
        if method in _WRITES:
            # an accepted ARM write sent again fails (412, 409): find out instead (confirm_write)
            request.extensions[NO_AMBIGUOUS_RETRY_EXTENSION] = True
        response = await self._http.send(request)
        await response.aread()
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    async def pages(self, url: str, params: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
        """Items of a list answer and of every page its nextLink leads to."""
        response = await self.send("GET", url, params=params)
        async for item in self.follow(json_object(response) if response.content else {}):
            yield item

    async def follow(self, body: dict[str, Any]) -> AsyncIterator[Any]:
        """The items of a page and of every page its nextLink leads to."""
        seen: set[str] = set()
        while True:
            for item in body.get("value") or []:
                yield item
            next_link = body.get("nextLink")
            if not next_link:
                return
            if next_link in seen:
                raise AzureCloudError(
                    status=None,
                    code="RepeatedNextLink",
                    message="ARM sent a nextLink it had sent before; stopped paging rather than loop.",
                )
            seen.add(next_link)
            # nextLink is absolute and carries its own query (api-version, skip token)
            response = await self.send("GET", next_link)
            body = json_object(response) if response.content else {}

    async def post_for_list(self, url: str, api_version: str, *, what: str) -> list[Any]:
        """The items a POST answers with, wherever its long-running operation left them, and of
        every page their nextLink leads to; ``what`` names the list when there is none."""
        response = await self.send("POST", url, api_version)
        if response.status_code == 202:
            final = await self.wait_for_operation(response, final_via="location")
            result = json_object(final) if final is not None and final.content else {}
            if isinstance(result.get("properties"), dict) and "value" not in result:
                result = result["properties"]  # ARM's async-operation resource keeps results there
            elif result.get("resourceLocation") and "value" not in result:
                result = json_object(await self.send("GET", str(result["resourceLocation"])))
            if "value" not in result:
                raise AzureOperationFailed(
                    status=None,
                    code="NoResult",
                    message=f"The {what} operation finished without a result to read.",
                )
        else:
            result = json_object(response)
        return [item async for item in self.follow(result)]

    async def put(
        self,
        url: str,
        api_version: str,
        body: dict[str, Any],
        *,
        model: type[ModelT],
        read: Callable[[], Awaitable[Fetched[ModelT]]],
        applied: Callable[[Fetched[Any] | None], bool],
        if_match: str | None = None,
        if_none_match: str | None = None,
        wait: bool,
    ) -> Fetched[ModelT]:
        """PUT ``body``; with ``wait`` followed to its end and ``read`` back, otherwise the first
        answer. A lost answer is not sent again: ``read`` shows whether ``applied`` holds."""
        try:
            response = await self.send(
                "PUT", url, api_version, json=body, if_match=if_match, if_none_match=if_none_match
            )
        except (httpx.TransportError, AzureCloudError) as error:
            if not maybe_processed(error):
                raise
            found = await self.confirm_write(error, "PUT", read, applied, wait=wait)
            assert found is not None  # applied() holds only for a resource that is there
            return found
        if wait:
            await self.wait_for_operation(response, final_via="azure-async-operation")
            return await read()
        return fetched(model, response)

    async def delete(
        self,
        url: str,
        api_version: str,
        *,
        read: Callable[[], Awaitable[Fetched[Any]]],
        if_match: str | None = None,
        wait: bool,
    ) -> None:
        """DELETE, with ``wait`` followed to its end; a lost answer is confirmed by ``read``."""
        try:
            response = await self.send("DELETE", url, api_version, if_match=if_match)
        except (httpx.TransportError, AzureCloudError) as error:
            if not maybe_processed(error):
                raise

            def applied(found: Fetched[Any] | None) -> bool:
                return found is None or provisioning_state(found) == "deleting"

            await self.confirm_write(error, "DELETE", read, applied, wait=wait)
            return
        if wait:
            await self.wait_for_operation(response, final_via="location")

    async def confirm_write(
        self,
        error: Exception,
        method: str,
        read: Callable[[], Awaitable[Fetched[Any]]],
        applied: Callable[[Fetched[Any] | None], bool],
        *,
        wait: bool,
    ) -> Fetched[Any] | None:
        """After a write whose answer was lost: read the resource instead of writing again.

        When ``applied`` finds the change in place, the write was accepted: with ``wait`` the
        resource is then read until its provisioningState settles (None once it is gone).
        Otherwise ``AzureWriteUnconfirmed``.
        """
        confirmation = await confirm_write(
            absent_as_none(read),
            applied,
            settling=_still_running if wait else None,
            clock=self.clock,
            poll_interval=self.poll_interval or DEFAULT_POLL_SECONDS,
            settle_within=self.operation_timeout,
        )
        found = confirmation.found
        if confirmation.outcome is Outcome.NOT_VISIBLE:
            raise AzureWriteUnconfirmed(
                status=getattr(error, "status", None),
                code="WriteNotConfirmed",
                message=(
                    f"Azure's answer to the {method} was lost ({_describe(error)}) and the change is not "
                    "visible: it was not applied, or is still on its way. It was not sent again."
                ),
            ) from error
        if confirmation.outcome is Outcome.STILL_SETTLING:
            assert found is not None  # only a resource that is there can still be settling
            raise AzureOperationTimeout(
                f"azure: operation still running after {self.operation_timeout:g}s ({found.id})"
            )
        if wait and found is not None and provisioning_state(found) == "failed":
            raise AzureOperationFailed(
                status=None, code="OperationFailed", message=f"The {method} was applied but ended Failed."
            )
        return found

    async def wait_for_operation(
        self, response: httpx.Response, *, final_via: FinalVia
    ) -> httpx.Response | None:
        """Follow a long-running operation to its end.

        ``Azure-AsyncOperation`` is polled until its status is terminal (Failed or Canceled
        raise ``AzureOperationFailed``). ``Location`` answers 202 until the operation ends,
        then 200 with the result or 204; for ``final_via="location"`` that last answer is
        returned, or, when there is no ``Location``, the final operation status (where
        azure-core reads a POST's result). An answer with neither header was already final.
        With ``final_via="azure-async-operation"`` the result is the resource: None is returned.
        """
        operation_url = response.headers.get("Azure-AsyncOperation")
        location_url = response.headers.get("Location")
        deadline = self.clock.monotonic() + self.operation_timeout
        last = response
        if operation_url:
            last = await self._poll_operation_status(last, operation_url, deadline)
            if final_via == "azure-async-operation":
                return None
            if not location_url:
                return last
            last = await self.send("GET", location_url)
        elif not location_url:
            return None if response.status_code == 202 else response
        elif response.status_code not in (201, 202):
            return response
        else:
            await self._pause(last, deadline, location_url)
            last = await self.send("GET", location_url)
        while last.status_code == 202:
            await self._pause(last, deadline, location_url)
            last = await self.send("GET", location_url)
        return last

    async def _poll_operation_status(
        self, last: httpx.Response, operation_url: str, deadline: float
    ) -> httpx.Response:
        """The ``Azure-AsyncOperation`` status polled until it succeeds: its last answer."""
        while True:
            await self._pause(last, deadline, operation_url)
            last = await self.send("GET", operation_url)
            result = m.AzureAsyncOperationResult.model_validate(json_object(last) if last.content else {})
            status = (result.status or "").lower()
            if status == m.OperationStatus.SUCCEEDED.lower():
                return last
            if status in (m.OperationStatus.FAILED.lower(), m.OperationStatus.CANCELED.lower()):
                error = result.error
                raise AzureOperationFailed(
                    status=None,  # the status poll itself succeeded (200); the operation did not
                    code=(error.code if error else None) or f"Operation{result.status}",
                    message=(error.message if error else None) or f"The operation ended {result.status}.",
                    request_id=last.headers.get("x-ms-request-id"),
                )

    async def _pause(self, last: httpx.Response, deadline: float, url: str) -> None:
        if self.clock.monotonic() >= deadline:
            raise AzureOperationTimeout(
                f"azure: operation still running after {self.operation_timeout:g}s ({urlsplit(url).path})"
            )
        if self.poll_interval is not None:
            delay = self.poll_interval
        else:
            asked = parse_retry_after(last.headers, self.clock)
            delay = DEFAULT_POLL_SECONDS if asked is None else asked
        await self.clock.sleep(delay)


def check_etag(current: Fetched[Any] | None, if_match: str | None, if_none_match: str | None = None) -> None:
    """The conditions of a write, checked against the resource as just read (None: absent)."""
    if if_match and (current is None or (if_match != "*" and current.etag != if_match)):
        raise PreconditionFailed(
            status=None,
            code="PreconditionFailed",
            message=(
                "The resource changed since it was read (its etag no longer matches); nothing was written."
            ),
        )
    if if_none_match and current is not None and if_none_match in ("*", current.etag):
        raise PreconditionFailed(
            status=None,
            code="PreconditionFailed",
            message="The resource exists already; nothing was written.",
        )


def contains(actual: Any, wanted: Any) -> bool:
    """Whether ``actual`` (as read) holds everything of ``wanted`` (as written); ARM adds fields
    of its own to objects, and may change the case of names."""
    if isinstance(wanted, Mapping):
        return isinstance(actual, Mapping) and all(contains(actual.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(wanted)
            and all(contains(a, w) for a, w in zip(actual, wanted, strict=True))
        )
    if isinstance(wanted, str) and isinstance(actual, str):
        return actual.lower() == wanted.lower()
    return actual == wanted


def provisioning_state(resource: Fetched[Any]) -> str:
    properties = resource.raw.get("properties")
    return str((properties or {}).get("provisioningState") or "").lower()


def _still_running(resource: Fetched[Any]) -> bool:
    return provisioning_state(resource) in ("updating", "deleting")


def absent_as_none(
    read: Callable[[], Awaitable[Fetched[ModelT]]],
) -> Callable[[], Awaitable[Fetched[ModelT] | None]]:
    """``read``, answering None where it raises ``NotFound``."""

    async def read_or_none() -> Fetched[ModelT] | None:
        try:
            return await read()
        except NotFound:
            return None

    return read_or_none


def _describe(error: Exception) -> str:
    if isinstance(error, AzureCloudError):
        return f"HTTP {error.status}"
    return error.__class__.__name__


def odata_string(value: str) -> str:
    """An OData string literal (for ``$filter``): quoted, with quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The JSON object an answer carries; anything else is ARM's error, not a crash of ours."""
    try:
        body = response.json()
    except ValueError:  # JSONDecodeError, or bytes that are not text
        raise AzureCloudError(
            status=response.status_code,
            code="MalformedResponse",
            message="ARM answered with a body that is not valid JSON.",
            request_id=response.headers.get("x-ms-request-id"),
        ) from None
    if not isinstance(body, dict):
        raise AzureCloudError(
            status=response.status_code, code="UnexpectedBody", message="Expected a JSON object from ARM."
        )
    return body


def fetched(model_class: type[ModelT], response: httpx.Response) -> Fetched[ModelT]:
    """The resource an answer carries, with its etag (from the body, else the ETag header)."""
    raw = json_object(response) if response.content else {}
    etag = raw.get("etag") or response.headers.get("ETag")
    return Fetched(model=model_class.model_validate(raw), raw=raw, etag=etag)
