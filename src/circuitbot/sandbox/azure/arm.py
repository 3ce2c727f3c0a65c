"""The Azure Resource Manager layer any ARM-like simulator stands on, free of any one resource type.

A simulator that subclasses ``ArmSimulator``, names its ``namespace`` and wraps its handlers in
``self._arm`` gets what every ARM API does the same way:

* any subscription id is served (resource ids carry the one in the request path) and any bearer
  token is accepted, but a request without one gets ARM's 401 ``AuthenticationFailed``; a request
  without ``api-version`` gets 400 ``MissingApiVersionParameter``;
* errors answer in the CloudError shape, ``{"error": {"code", "message", "target"?, "details"}}``
  with an ``x-ms-request-id``, from an ``ArmError`` raised anywhere in a handler;
* etags from ``_new_etag`` (every write takes a new one) and conditional writes through
  ``_check_conditions``: ``If-Match`` with another etag answers 412, and so does
  ``If-None-Match: *`` on a resource that exists. The ExpressRoute spec declares neither header,
  so real ARM may ignore them: ``conditional_headers=False`` makes the simulator ignore them too;
* long-running operations: ``_start`` schedules one on the simulator's clock, ``_lro_headers``
  gives the ``Azure-AsyncOperation`` / ``Location`` / ``Retry-After`` headers pointing at
  ``operation_routes``, which serve the operation status documents and final results. Nothing runs
  in the background: due operations are completed whenever a request arrives;
* paging with ``nextLink`` (``_page``; a skip token is an offset) and ``$filter=<field> eq '<v>'``;
* subscription throttling per principal (``throttle``, see ``throttle.py``): reads, writes and
  deletes each take a token; every answer carries ``x-ms-ratelimit-remaining-subscription-*``
  and an empty bucket answers 429 with ``Retry-After``.
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeGuard, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from circuitbot.clock import Clock
from circuitbot.sandbox.azure.throttle import ArmThrottle, Verdict, kind_of
from circuitbot.sandbox.base import Simulator
from circuitbot.sandbox.faults import FaultConfig
from circuitbot.sandbox.world import World

# Items per list page. The docs in the seeds and the REST specs do not say how many items ARM puts
# on a page of these lists (only that they page with nextLink); 100 is a guess of the usual ARM
# order of magnitude. Tests of paging set a small ``page_size`` of their own.
DEFAULT_PAGE_SIZE = 100

_T = TypeVar("_T")
Handler = Callable[[Request], Awaitable[Response]]


class ArmError(Exception):
    """Answer with a CloudError."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        target: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.headers = headers or {}


@dataclass
class Operation:
    id: str
    region: str
    done_at: datetime
    succeed: Callable[[], Any]  # applies the final state; returns the Location result (None: 204)
    fail: Callable[[], None]  # applies the state a failed operation leaves behind
    failure: tuple[str, str] | None = None  # (code, message) when the operation is to end Failed
    finished: bool = False
    result: Any = None


class ArmSimulator(Simulator):
    """A simulator speaking ARM: auth, CloudError, etags, long-running operations and paging."""

    namespace: ClassVar[str]
    """The resource provider's path, e.g. ``/providers/Microsoft.Network``; operations live under it."""

    def __init__(
        self,
        world: World,
        clock: Clock,
        faults: FaultConfig | None = None,
        *,
        retry_after_seconds: int,
        page_size: int,
        conditional_headers: bool,
    ) -> None:
        super().__init__(world, clock, faults)
        self.throttle = ArmThrottle(clock)  # ``throttle.limits = None`` turns it off
        self.conditional_headers = conditional_headers
        self.retry_after_seconds = retry_after_seconds
        if page_size < 1:
            raise ValueError("page_size is at least 1")
        self.page_size = page_size  # may be reassigned; a skip token is an offset, valid across sizes
        self._counter = itertools.count(1)  # numbers etags and operations alike
        self._operations: dict[str, Operation] = {}
        self._failures: list[tuple[str, str]] = []

    def error_body(self, status: int, code: str, message: str) -> tuple[Any, dict[str, str]]:
        return {"error": {"code": code, "message": message}}, {"x-ms-request-id": str(uuid.uuid4())}

    def fail_next_operations(
        self, count: int = 1, *, code: str = "InternalServerError", message: str = ""
    ) -> None:
        """The next ``count`` long-running operations end Failed instead of Succeeded."""
        text = message or "An error occurred while processing the operation."
        self._failures.extend([(code, text)] * count)

    def operation_routes(self) -> list[Route]:
        locations = f"/subscriptions/{{subscriptionId}}{self.namespace}/locations/{{location}}"
        return [
            Route(
                f"{locations}/operations/{{operationId}}", self._arm(self._operation_status), methods=["GET"]
            ),
            Route(
                f"{locations}/operationResults/{{operationId}}",
                self._arm(self._operation_result),
                methods=["GET"],
            ),
        ]

    # --- request plumbing ---------------------------------------------------------------------

    def _arm(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            verdict: Verdict | None = None
            try:
                _authenticate(request)
                if not request.query_params.get("api-version"):
                    raise ArmError(
                        400,
                        "MissingApiVersionParameter",
                        "The api-version query parameter (?api-version=) is required for all requests.",
                    )
                verdict = self._throttle(request)
                self._settle()
                response = await handler(request)
            except ArmError as error:
                response = _cloud_error(error)
            if verdict is not None:
                response.headers[self.throttle.remaining_header(request.method)] = str(verdict.remaining)
            return response

        return endpoint

    def _throttle(self, request: Request) -> Verdict | None:
        """ARM's subscription limits (``throttle``): a 429 once the principal's bucket is empty."""
        subscription_id = request.path_params.get("subscriptionId")
        if subscription_id is None:
            return None
        verdict = self.throttle.take(subscription_id, request.headers["authorization"], request.method)
        if verdict is not None and not verdict.allowed:
            kind = kind_of(request.method)
            raise ArmError(
                429,
                "SubscriptionRequestsThrottled",
                f"Number of '{kind.removesuffix('s')}' requests for subscription '{subscription_id}' "
                "exceeded the limit. Please try again after the time given in Retry-After.",
                headers={**verdict.headers, self.throttle.remaining_header(request.method): "0"},
            )
        return verdict

    def _check_conditions(self, request: Request, etag: str | None) -> None:
        if self.conditional_headers:
            check_conditions(request, etag)

    def _new_etag(self) -> str:
        return f'W/"{uuid.uuid5(uuid.NAMESPACE_URL, f"{self.provider}-sim-etag-{next(self._counter)}")}"'

    def _page(
        self, request: Request, items: Sequence[_T], render: Callable[[_T], dict[str, Any]]
    ) -> Response:
        """One page of ``items``, only its own items rendered (a sweep reads every page)."""
        raw_skip = request.query_params.get("$skiptoken", "0")
        if not raw_skip.isdigit():
            raise ArmError(400, "InvalidSkipToken", f"The skip token '{raw_skip}' is not valid.")
        skip = int(raw_skip)
        body: dict[str, Any] = {"value": [render(item) for item in items[skip : skip + self.page_size]]}
        if skip + self.page_size < len(items):
            body["nextLink"] = str(
                request.url.include_query_params(**{"$skiptoken": str(skip + self.page_size)})
            )
        return json_response(body)

    # --- long-running operations --------------------------------------------------------------

    def _settle(self) -> None:
        """Complete every operation whose time has come, oldest first."""
        now = self.clock.now()
        due = sorted(
            (op for op in self._operations.values() if not op.finished and op.done_at <= now),
            key=lambda op: op.done_at,
        )
        for operation in due:
            operation.finished = True
            if operation.failure is None:
                operation.result = operation.succeed()
            else:
                operation.fail()

    def _start(
        self,
        region: str,
        seconds: float,
        succeed: Callable[[], Any],
        fail: Callable[[], None] = lambda: None,
    ) -> Operation:
        seed = f"{self.provider}-sim-operation-{next(self._counter)}"
        operation = Operation(
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, seed)),
            region=region,
            done_at=self.clock.now() + timedelta(seconds=seconds),
            succeed=succeed,
            fail=fail,
            failure=self._failures.pop(0) if self._failures else None,
        )
        self._operations[operation.id] = operation
        return operation

    def _lro_headers(
        self,
        request: Request,
        subscription_id: str,
        operation: Operation,
        *,
        location: bool,
        async_operation: bool = True,
    ) -> dict[str, str]:
        root = str(request.base_url).rstrip("/")
        base = f"{root}/subscriptions/{subscription_id}{self.namespace}/locations/{operation.region}"
        api_version = request.query_params["api-version"]
        headers = {"Retry-After": str(self.retry_after_seconds), "x-ms-request-id": operation.id}
        if async_operation:
            headers["Azure-AsyncOperation"] = f"{base}/operations/{operation.id}?api-version={api_version}"
        if location:
            headers["Location"] = f"{base}/operationResults/{operation.id}?api-version={api_version}"
        return headers

    def _operation(self, request: Request) -> Operation:
        operation = self._operations.get(request.path_params["operationId"])
        if operation is None or operation.region.lower() != request.path_params["location"].lower():
            raise ArmError(404, "NotFound", f"Operation {request.path_params['operationId']} not found.")
        return operation

    async def _operation_status(self, request: Request) -> Response:
        operation = self._operation(request)
        if not operation.finished:
            return json_response(
                {"status": "InProgress"}, headers={"Retry-After": str(self.retry_after_seconds)}
            )
        if operation.failure is not None:
            code, message = operation.failure
            return json_response({"status": "Failed", "error": {"code": code, "message": message}})
        # a POST's result (a table) rides on its final status, where azure-core reads it
        result = operation.result if isinstance(operation.result, dict) else {}
        return json_response({**result, "status": "Succeeded"})

    async def _operation_result(self, request: Request) -> Response:
        operation = self._operation(request)
        if not operation.finished:
            return Response(
                status_code=202,
                headers={
                    "Location": str(request.url),
                    "Retry-After": str(self.retry_after_seconds),
                    "x-ms-request-id": str(uuid.uuid4()),
                },
            )
        if operation.failure is not None:
            code, message = operation.failure
            raise ArmError(500 if code == "InternalServerError" else 400, code, message)
        if operation.result is None:
            return no_content()
        return json_response(operation.result)


# --- answers ------------------------------------------------------------------------------------


def json_response(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        body, status_code=status, headers={"x-ms-request-id": str(uuid.uuid4()), **(headers or {})}
    )


def no_content() -> Response:
    return Response(status_code=204, headers={"x-ms-request-id": str(uuid.uuid4())})


def _cloud_error(error: ArmError) -> JSONResponse:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.target:
        body["target"] = error.target
    body["details"] = []
    return JSONResponse(
        {"error": body},
        status_code=error.status,
        headers={"x-ms-request-id": str(uuid.uuid4()), **error.headers},
    )


def operation_in_progress(resource_id: str) -> ArmError:
    return ArmError(
        409,
        "AnotherOperationInProgress",
        f"Another operation on this or dependent resource is in progress. Resource {resource_id}. "
        "Retry the request after the operation completes.",
    )


# --- requests -----------------------------------------------------------------------------------


def _authenticate(request: Request) -> None:
    header = request.headers.get("authorization")
    if not header:
        raise ArmError(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
            headers={
                "WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common"'
            },
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ArmError(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        )


def check_conditions(request: Request, etag: str | None) -> None:
    """ARM's conditional writes: ``If-Match`` must equal the current etag (``*``: any existing);
    ``If-None-Match: *`` only creates (``<etag>``: anything but that version). ``etag`` is None
    when the resource does not exist."""
    wanted = request.headers.get("if-match")
    unwanted = request.headers.get("if-none-match")
    failed = False
    if wanted is not None:
        failed = etag is None or (wanted.strip() != "*" and wanted.strip() != etag)
    if unwanted is not None and etag is not None:
        failed = failed or unwanted.strip() in ("*", etag)
    if failed:
        raise ArmError(
            412, "PreconditionFailed", "The condition specified using HTTP conditional header(s) is not met."
        )


async def json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise ArmError(
            400, "InvalidRequestContent", "The request content was invalid and could not be deserialized."
        )
    return body


_EQ_FILTER = re.compile(r"^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$", re.IGNORECASE)


def parse_eq_filter(expression: str, field_name: str) -> str:
    match = _EQ_FILTER.match(expression)
    if match is None or match.group(1).lower() != field_name.lower():
        raise ArmError(
            400,
            "InvalidFilterInQueryString",
            f"The $filter '{expression}' is not supported; use {field_name} eq '<value>'.",
            target="$filter",
        )
    return match.group(2).replace("''", "'")


def is_tags(value: Any) -> TypeGuard[dict[str, str]]:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def region_key(name: str) -> str:
    """ARM compares locations without case or spaces ("East US 2 EUAP" is "eastus2euap")."""
    return name.replace(" ", "").lower()
