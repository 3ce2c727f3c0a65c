"""The one HTTP client factory every provider client uses.

``make_client`` returns an ``httpx.AsyncClient`` whose transport retries what is safe to retry
(connection failures, throttling and gateway answers), waits through the injected Clock, tags
each request with a request id and logs one line per attempt. Headers and bodies are never
logged: they carry tokens, BGP keys and signatures.

An answer is read within bounds (``AnswerBounds``): a body larger than ``max_bytes`` is refused
(``AnswerTooLarge``), and a body that has not fully arrived ``seconds`` after its headers, as
measured on the Clock, fails with ``httpx.ReadTimeout`` (a server that stalls or trickles mid-body
would otherwise hold the caller forever: httpx's own read timeout restarts with every byte, and
in-process transports have none). Both are transport errors, so a write whose answer was cut off
is settled as any lost answer is, by reading the resource back.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import re
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from circuitbot import context, metrics
from circuitbot.clock import Clock, SystemClock

logger = logging.getLogger(__name__)

REQUEST_ID_EXTENSION = "circuitbot.request_id"
"""Key in ``httpx.Request.extensions`` holding the request id the transport assigned."""

NO_AMBIGUOUS_RETRY_EXTENSION = "circuitbot.no_ambiguous_retry"
"""Set to True in ``httpx.Request.extensions`` for a request that must not be sent again when the
server may already have acted on it (a dropped answer, a gateway error): the caller finds out
what happened instead, as a repeated approved write could be refused or applied twice."""

REDACTED = "REDACTED"

# Query parameter names that carry credentials in one provider or another (Alibaba signs in the
# query string; some APIs take tokens or keys there).
_SECRET_PARAM = re.compile(r"key|token|secret|signature|password|passwd|credential|auth|sig$", re.IGNORECASE)

# Sent but never processed: always safe to send again.
_NOT_SENT_ERRORS: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# The server may have acted on the request before the failure: only safe when repeating is harmless.
_MAYBE_SENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.ReadError,
    httpx.WriteError,
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.RemoteProtocolError,
)
# Gateway answers: the server behind the gateway may have acted on the request.
MAYBE_PROCESSED_STATUSES = frozenset({502, 504})


def maybe_processed(error: BaseException) -> bool:
    """Whether a request that failed with ``error`` may still have been acted on by the server."""
    if isinstance(error, _MAYBE_SENT_ERRORS):
        return True
    return isinstance(error, ProviderHTTPError) and error.status in MAYBE_PROCESSED_STATUSES


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before sending a request again.

    ``retry_statuses`` are retried for idempotent requests (idempotent method, or an
    idempotency header present); ``any_method_statuses`` are the subset that say the server did
    not act on the request at all (throttled, unavailable), so they are retried for every method.

    A conditional request (``If-Match``/``If-None-Match``) or one marked with
    ``NO_AMBIGUOUS_RETRY_EXTENSION`` is never idempotent here: once the server accepted it, the
    same request again fails its condition (412, 409), so the caller would be told a change that
    happened had failed. Such requests are retried only when they surely were not processed.

    A ``Retry-After`` longer than ``max_delay`` is not cut short: the answer is returned instead.
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: bool = True
    seed: int | None = None
    retry_statuses: frozenset[int] = frozenset({429, 502, 503, 504})
    any_method_statuses: frozenset[int] = frozenset({429, 503})
    idempotent_methods: frozenset[str] = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
    idempotency_headers: frozenset[str] = frozenset({"idempotency-key", "x-idempotency-key"})
    conditional_headers: frozenset[str] = frozenset({"if-match", "if-none-match"})

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        object.__setattr__(
            self, "idempotency_headers", frozenset(h.lower() for h in self.idempotency_headers)
        )

    def is_idempotent(self, request: httpx.Request) -> bool:
        if request.extensions.get(NO_AMBIGUOUS_RETRY_EXTENSION) or any(
            name in request.headers for name in self.conditional_headers
        ):
            return False
        if request.method.upper() in self.idempotent_methods:
            return True
        return any(name in request.headers for name in self.idempotency_headers)

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        """Seconds to wait before retry ``retry_number`` (1 for the first retry).

        Exponential, capped by ``max_delay``; with jitter the wait is drawn uniformly from
        [0, cap] ("full jitter") so that many clients do not retry in step.
        """
        ceiling = min(self.max_delay, self.base_delay * 2 ** (retry_number - 1))
        return rng.uniform(0, ceiling) if self.jitter else ceiling


class ProviderHTTPError(Exception):
    """A provider answered with an error, or could not be reached.

    Provider clients parse their own error bodies and raise this (or a subclass) with the
    provider's code and message, so every caller handles provider failures the same way.
    """

    def __init__(
        self,
        *,
        provider: str,
        status: int | None,
        message: str,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.provider = provider
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [f"{self.provider}:"]
        if self.status is not None:
            parts.append(str(self.status))
        if self.code:
            parts.append(self.code)
        text = " ".join(parts) + f": {self.message}"
        if self.request_id:
            text += f" (request id {self.request_id})"
        return text

    @classmethod
    def from_response(
        cls, response: httpx.Response, *, provider: str, message: str, code: str | None = None
    ) -> ProviderHTTPError:
        return cls(
            provider=provider,
            status=response.status_code,
            code=code,
            message=message,
            request_id=request_id_of(response),
        )


def request_id_of(response_or_request: httpx.Response | httpx.Request) -> str | None:
    """The request id the retrying transport gave this request, if it went through one."""
    request = (
        response_or_request.request
        if isinstance(response_or_request, httpx.Response)
        else response_or_request
    )
    value = request.extensions.get(REQUEST_ID_EXTENSION)
    return value if isinstance(value, str) else None


def redact_url(url: str | httpx.URL) -> str:
    """The URL with any password and secret-looking query values replaced, safe to log."""
    parts = urlsplit(str(url))
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{REDACTED}@{hostport}" if ":" in userinfo else f"{user}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(name, REDACTED if _SECRET_PARAM.search(name) else value) for name, value in pairs], safe="$,/:"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class _RedactHttpxUrls(logging.Filter):
    """httpx logs every request's full URL at INFO; secrets in query strings must not reach the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(redact_url(arg) if isinstance(arg, httpx.URL) else arg for arg in record.args)
        return True


def _redact_httpx_logs() -> None:
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactHttpxUrls) for f in httpx_logger.filters):
        httpx_logger.addFilter(_RedactHttpxUrls())


_redact_httpx_logs()


def parse_retry_after(headers: Mapping[str, str] | httpx.Headers, clock: Clock) -> float | None:
    """Seconds the server asked us to wait, from ``retry-after-ms`` or ``Retry-After``.

    ``Retry-After`` is either delay-seconds or an HTTP-date; a date in the past means now.
    """
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        raw = headers.get(name)
        if raw is not None:
            try:
                return max(0.0, float(raw) / 1000)
            except ValueError:
                pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - clock.now()).total_seconds())


@dataclass(frozen=True)
class AnswerBounds:
    """How much of an answer is read, and for how long: ``max_bytes`` of body at most (ARM's
    largest pages are well under a megabyte), arriving within ``seconds`` of its headers."""

    max_bytes: int = 32 * 1024 * 1024
    seconds: float = 30.0


class AnswerTooLarge(httpx.ReadError):
    """An answer's body is larger than ``AnswerBounds.max_bytes``; it was not read past that."""


class _BoundedStream(httpx.AsyncByteStream):
    """An answer's body, cut off past its size bound or its deadline on the clock."""

    def __init__(
        self, inner: httpx.AsyncByteStream, request: httpx.Request, bounds: AnswerBounds, clock: Clock
    ) -> None:
        self._inner = inner
        self._request = request
        self._bounds = bounds
        self._clock = clock

    async def __aiter__(self) -> AsyncIterator[bytes]:
        deadline = self._clock.monotonic() + self._bounds.seconds
        received = 0
        chunks = aiter(self._inner)
        while True:
            try:
                chunk = await self._next(chunks, deadline)
            except StopAsyncIteration:
                return
            received += len(chunk)
            if received > self._bounds.max_bytes:
                raise AnswerTooLarge(
                    f"the answer is larger than {self._bounds.max_bytes} bytes", request=self._request
                )
            yield chunk

    async def _next(self, chunks: AsyncIterator[bytes], deadline: float) -> bytes:
        reading = asyncio.ensure_future(anext(chunks))
        waiting = asyncio.ensure_future(self._clock.sleep(deadline - self._clock.monotonic()))
        try:
            await asyncio.wait({reading, waiting}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
            if not reading.done():
                reading.cancel()
        if reading.cancelled() or not reading.done():
            message = f"the answer did not arrive within {self._bounds.seconds:g} s"
            raise httpx.ReadTimeout(message, request=self._request)
        return reading.result()

    async def aclose(self) -> None:
        await self._inner.aclose()


def _declared_length(response: httpx.Response) -> int | None:
    try:
        return int(response.headers["content-length"])
    except (KeyError, ValueError):
        return None


class RetryingTransport(httpx.AsyncBaseTransport):
    """Wraps another transport; retries, assigns request ids and logs each attempt."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        provider: str,
        policy: RetryPolicy | None = None,
        clock: Clock | None = None,
        request_id_header: str = "x-request-id",
        bounds: AnswerBounds | None = None,
    ) -> None:
        self._inner = inner
        self.provider = provider
        self.policy = policy or RetryPolicy()
        self.bounds = bounds or AnswerBounds()
        self._clock: Clock = clock or SystemClock()
        self._rng = random.Random(self.policy.seed)
        self._request_id_header = request_id_header

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # Buffer the body so every attempt sends the same bytes (streams can be read once).
        await request.aread()
        request_id = request.headers.get(self._request_id_header)
        if not request_id:
            request_id = str(uuid.uuid4())
            request.headers[self._request_id_header] = request_id
        request.extensions[REQUEST_ID_EXTENSION] = request_id

        policy = self.policy
        idempotent = policy.is_idempotent(request)
        attempt = 0
        while True:
            attempt += 1
            started = self._clock.monotonic()
            try:
                response = await self._inner.handle_async_request(request)
            except httpx.TransportError as exc:
                elapsed = self._clock.monotonic() - started
                retryable = isinstance(exc, _NOT_SENT_ERRORS) or (
                    idempotent and isinstance(exc, _MAYBE_SENT_ERRORS)
                )
                if not retryable or attempt >= policy.max_attempts:
                    self._attempted(
                        logging.WARNING, request, request_id, attempt, elapsed, outcome=type(exc).__name__
                    )
                    raise
                delay = policy.backoff(attempt, self._rng)
                self._attempted(
                    logging.INFO,
                    request,
                    request_id,
                    attempt,
                    elapsed,
                    outcome=type(exc).__name__,
                    delay=delay,
                )
                await self._clock.sleep(delay)
                continue

            elapsed = self._clock.monotonic() - started
            status = response.status_code
            retryable = status in policy.retry_statuses and (
                idempotent or status in policy.any_method_statuses
            )
            wait = self._retry_delay(response, attempt) if retryable else None
            if wait is None or attempt >= policy.max_attempts:
                level = logging.DEBUG if status < 400 else logging.INFO
                self._attempted(level, request, request_id, attempt, elapsed, outcome=str(status))
                return await self._bounded(response, request)
            self._attempted(
                logging.INFO, request, request_id, attempt, elapsed, outcome=str(status), delay=wait
            )
            await response.aclose()
            await self._clock.sleep(wait)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def _bounded(self, response: httpx.Response, request: httpx.Request) -> httpx.Response:
        """The answer with its body read within ``bounds``; one that says it is too large, refused."""
        declared = _declared_length(response)
        if declared is not None and declared > self.bounds.max_bytes:
            await response.aclose()
            raise AnswerTooLarge(
                f"the answer is {declared} bytes, more than {self.bounds.max_bytes}", request=request
            )
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream), "an async transport answers with an async stream"
        response.stream = _BoundedStream(stream, request, self.bounds, self._clock)
        return response

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before the next attempt; None when the server asked for longer than
        ``max_delay`` (retrying earlier would only be refused again)."""
        asked = parse_retry_after(response.headers, self._clock)
        if asked is not None:
            return asked if asked <= self.policy.max_delay else None
        return self.policy.backoff(attempt, self._rng)

    def _attempted(
        self,
        level: int,
        request: httpx.Request,
        request_id: str,
        attempt: int,
        elapsed: float,
        *,
        outcome: str,
        delay: float | None = None,
    ) -> None:
        """One attempt ended: counted with its latency (``circuitbot_provider_call_seconds``), and
        logged at ``level``."""
        metrics.provider_calls.labels(self.provider, context.operation.get(), outcome).observe(elapsed)
        if not logger.isEnabledFor(level):
            return
        url = redact_url(request.url)
        retry = f" retrying in {delay:.2f}s" if delay is not None else ""
        logger.log(
            level,
            "%s %s %s -> %s in %.3fs (attempt %d, request id %s)%s",
            self.provider,
            request.method,
            url,
            outcome,
            elapsed,
            attempt,
            request_id,
            retry,
            extra={
                "provider": self.provider,
                "http_method": request.method,
                "url": url,
                "outcome": outcome,
                "elapsed": elapsed,
                "attempt": attempt,
                "request_id": request_id,
            },
        )


def make_client(
    *,
    provider: str,
    base_url: str,
    transport: httpx.AsyncBaseTransport | None = None,
    retry: RetryPolicy | None = None,
    clock: Clock | None = None,
    timeout: float = 30.0,
    headers: dict[str, str] | None = None,
    auth: httpx.Auth | None = None,
    event_hooks: Mapping[str, Iterable[Any]] | None = None,
    request_id_header: str = "x-request-id",
    bounds: AnswerBounds | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient for one provider, retrying through ``RetryingTransport``.

    ``transport`` is the real network by default; pass a simulator's ``transport()`` to run the
    same client in-process. ``RetryPolicy(max_attempts=1)`` turns retries off. ``bounds``
    (default: 32 MiB of body, read within ``timeout`` seconds of its headers) limits each answer.
    """
    inner = transport if transport is not None else httpx.AsyncHTTPTransport()
    retrying = RetryingTransport(
        inner,
        provider=provider,
        policy=retry,
        clock=clock,
        request_id_header=request_id_header,
        bounds=bounds or AnswerBounds(seconds=timeout),
    )
    hooks = {name: list(funcs) for name, funcs in (event_hooks or {}).items()}
    return httpx.AsyncClient(
        base_url=base_url,
        transport=retrying,
        timeout=timeout,
        headers=headers,
        auth=auth,
        event_hooks=hooks,
    )
