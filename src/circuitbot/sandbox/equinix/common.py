"""What both generations' routes share: the error each answers in its own shape, the token
check, request bodies, paging parameters and the stats series."""

from __future__ import annotations

import json
import math
import uuid
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from circuitbot.sandbox.equinix.auth import TokenIssuer, Unauthorized

Generation = Literal["v3", "v4"]
Handler = Callable[[Request], Awaitable[Response]]

# v4 codes the spec's examples give; the others are the simulator's own, in the EQ-nnnnnnn pattern.
V4_CODES = {
    400: "EQ-2041022",  # "Invalid argument value passed." (validate example)
    401: "EQ-3000401",
    403: "EQ-3000403",
    404: "EQ-3045811",  # "uuid not found" (get connection example)
    405: "EQ-3000405",
    429: "EQ-3000429",
    500: "EQ-3000500",
    503: "EQ-3000503",
}
V3_CODES = {401: "IC-USR-401", 404: "IC-LAYER2-404", 429: "IC-429", 500: "IC-500", 503: "IC-503"}


@dataclass(frozen=True)
class Problem:
    message: str
    code: str | None = None
    property: str | None = None


class SimError(Exception):
    """An error answer: its status and problems, rendered in the generation's shape."""

    def __init__(self, status: int, *problems: Problem) -> None:
        super().__init__(problems[0].message if problems else str(status))
        self.status = status
        self.problems = problems


def v4_errors(status: int, problems: tuple[Problem, ...]) -> list[dict[str, Any]]:
    correlation = str(uuid.uuid4())
    out = []
    for p in problems:
        entry: dict[str, Any] = {
            "errorCode": p.code or V4_CODES.get(status, f"EQ-3000{status}"),
            "errorMessage": p.message,
            "correlationId": correlation,
        }
        if p.property:
            entry["additionalInfo"] = [{"property": p.property, "reason": p.message}]
        out.append(entry)
    return out


def v3_errors(status: int, problems: tuple[Problem, ...]) -> Any:
    """One object for one error, an array for several, as v3 does."""
    out = [
        {
            "errorCode": p.code or V3_CODES.get(status, f"IC-{status}"),
            "errorMessage": p.message,
            "moreInfo": "",
            "property": p.property or "",
        }
        for p in problems
    ]
    return out[0] if len(out) == 1 else out


def error_response(generation: Generation, error: SimError) -> Response:
    render = v4_errors if generation == "v4" else v3_errors
    return JSONResponse(render(error.status, error.problems), status_code=error.status)


def guarded(issuer: TokenIssuer, generation: Generation, handler: Handler) -> Handler:
    """``handler`` behind the bearer-token check, its SimErrors in the generation's shape."""

    async def endpoint(request: Request) -> Response:
        try:
            issuer.check(request)
        except Unauthorized:
            return error_response(generation, SimError(401, Problem("Invalid or expired access token.")))
        try:
            return await handler(request)
        except SimError as error:
            return error_response(generation, error)

    return endpoint


async def json_body(request: Request, want: type = dict) -> Any:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if not isinstance(body, want):
        raise SimError(400, Problem("The request body could not be read as JSON."))
    return body


def int_param(value: Any, name: str, default: int, *, low: int, high: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SimError(400, Problem(f"{name} must be a number", property=name)) from None
    if not low <= number <= high:
        raise SimError(400, Problem(f"{name} must be between {low} and {high}", property=name))
    return number


def parse_time(value: str | None, name: str) -> datetime:
    if not value:
        raise SimError(400, Problem(f"{name} is required", property=name))
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SimError(400, Problem(f"{name} must be an ISO-8601 date-time", property=name)) from None


def traffic_series(
    port: str, direction: str, start: datetime, end: datetime, points: int
) -> list[tuple[datetime, float, float]]:
    """A port's traffic over a window, in Mbps: a daily wave, the same for the same port and times."""
    if end <= start:
        raise SimError(400, Problem("the end of the window must be after its start", property="endDateTime"))
    step = (end - start) / points
    base = 50 + zlib.crc32(f"{port}:{direction}".encode()) % 400
    series = []
    for n in range(1, points + 1):
        at = start + step * n
        hour = at.hour + at.minute / 60
        mean = base * (1 + 0.6 * math.sin((hour - 8) / 24 * 2 * math.pi))
        series.append((at, round(mean * 1.3, 3), round(mean, 3)))
    return series
