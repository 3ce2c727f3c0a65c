"""Alibaba's RPC-style calls: one signed POST to ``/`` per action, JSON back.

Every call carries ``Format=JSON`` (the service defaults to XML) and the region's ``RegionId``,
and is signed with V3 (ACS3-HMAC-SHA256, the default) or V1 (HMAC-SHA1); an STS security token
is sent with either (``x-acs-security-token`` / ``SecurityToken``).

Pitfalls this module handles:

* **A signature is single-use.** Each attempt needs a fresh nonce and timestamp (a repeat of the
  same nonce is refused with ``SignatureNonceUsed``), so retries are made here, signing again,
  never by the shared transport below (its status retries are turned off; it only retries
  connections that were never made).
* **Throttling is a 400.** ``Throttling``, ``Throttling.User`` and ``Throttling.Api`` come with
  status 400 (some gateways 429), sometimes with ``x-acs-retry-after`` in milliseconds: that
  wait is honoured by every call of the client (they share one AccessKey, hence one quota),
  which then paces its requests that far apart; throttling is waited out for a budget of time
  rather than a number of attempts, as a throttled request was not processed.
* **Changes are retried only by their ClientToken.** Every mutating call carries one; a
  change whose answer was lost is sent again with the same token (Alibaba then does it once),
  and raised as unconfirmed if every answer was lost.
* The endpoint is ``vpc.aliyuncs.com`` for the central regions and ``vpc.<region>.aliyuncs.com``
  elsewhere, unless one is configured; the ``host`` header is signed, so it is set explicitly.
"""

from __future__ import annotations

import hashlib
import logging
import random
import uuid
from collections.abc import Mapping
from typing import Any, Literal

import httpx
from pydantic import SecretStr

from circuitbot.clock import Clock, SystemClock
from circuitbot.providers.http import RetryPolicy, make_client, maybe_processed

from . import signing
from .errors import AlibabaError, AlibabaWriteUnconfirmed, Throttled, error_from_response
from .models import API_VERSION

log = logging.getLogger(__name__)

# Regions the SDK's endpoint map sends to the central endpoint; others have their own.
CENTRAL_REGIONS = frozenset(
    {"cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-hongkong", "ap-southeast-1", "us-east-1", "us-west-1"}
)
CENTRAL_HOST = "vpc.aliyuncs.com"
SignatureVersion = Literal["v3", "v1"]


def endpoint_for(region: str, configured: str | None = None) -> str:
    """The base URL of the VPC API for ``region``: the configured one, or the SDK's rule."""
    if configured:
        return configured if "://" in configured else f"https://{configured}"
    host = CENTRAL_HOST if region in CENTRAL_REGIONS else f"vpc.{region}.aliyuncs.com"
    return f"https://{host}"


def timestamp(clock: Clock) -> str:
    return clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")


class Credentials:
    """An AccessKey pair (and STS token), kept as secrets: never in a repr, log or message."""

    def __init__(
        self, access_key_id: str, access_key_secret: SecretStr | str, security_token: SecretStr | str | None
    ) -> None:
        self.access_key_id = access_key_id
        self._secret = _secret(access_key_secret)
        self._token = _secret(security_token) if security_token else None

    def __repr__(self) -> str:
        return f"Credentials(access_key_id={self.access_key_id!r})"

    @property
    def secret(self) -> str:
        return self._secret.get_secret_value()

    @property
    def token(self) -> str | None:
        return self._token.get_secret_value() if self._token else None


def _secret(value: SecretStr | str) -> SecretStr:
    return value if isinstance(value, SecretStr) else SecretStr(value)


class Rpc:
    """Signed RPC calls to the VPC API, with throttling retries and ClientToken-safe resends."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        signature_version: SignatureVersion = "v3",
        endpoint: str | None = None,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_attempts: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 30.0,
        throttle_budget: float = 120.0,
        timeout: float = 30.0,
        seed: int | None = None,
    ) -> None:
        self.credentials = credentials
        self.signature_version = signature_version
        self.endpoint = endpoint
        self.clock = clock or SystemClock()
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.throttle_budget = throttle_budget
        self._not_before = 0.0  # monotonic: while throttled, the next free slot for a request
        self._spacing = 0.0  # seconds between slots: the last wait a throttling answer asked for
        self._rng = random.Random(seed)
        self.calls = 0  # requests sent, retries included (the bench reads it)
        # Status retries off: a resent request would repeat its nonce. Connections never made
        # are still retried there (nothing reached the server).
        policy = RetryPolicy(retry_statuses=frozenset(), any_method_statuses=frozenset())
        self._http = make_client(
            provider="alibaba",
            base_url="",
            transport=transport,
            retry=policy,
            clock=self.clock,
            timeout=timeout,
            request_id_header="x-circuitbot-request-id",
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(
        self,
        action: str,
        region: str,
        params: Mapping[str, Any] | None = None,
        *,
        client_token: str | None = None,
    ) -> dict[str, Any]:
        """The JSON answer of ``action`` in ``region``; ``client_token`` marks a change.

        Throttling is waited out for at most ``throttle_budget`` seconds in all (a throttled
        request was not processed); other failures get ``max_attempts`` attempts.
        """
        query = {k: _wire(v) for k, v in (params or {}).items() if v is not None}
        query["RegionId"] = region
        if client_token is not None:
            query["ClientToken"] = client_token
        attempt, throttled_for, slotted = 0, 0.0, False
        while True:
            attempt += 1
            if not slotted:
                await self._gate()
            slotted = False
            try:
                response = await self._send(action, region, query)
            except httpx.TransportError as exc:
                if not maybe_processed(exc) or attempt >= self.max_attempts:
                    if client_token is not None and maybe_processed(exc):
                        raise AlibabaWriteUnconfirmed(
                            status=None,
                            code="AnswerLost",
                            message=f"{action} was sent but its answer was lost ({type(exc).__name__}); "
                            "it may have been applied.",
                        ) from exc
                    raise
                await self._sleep(self._backoff(attempt), action, type(exc).__name__)
                continue
            if response.is_success:
                return _json_object(response, action)
            error = error_from_response(response)
            if isinstance(error, Throttled) or error.status == 429:
                attempt -= 1  # throttling spends the time budget, not the attempts
                wait = self._throttled(_retry_after(response))
                if wait is None or throttled_for + wait > self.throttle_budget:
                    raise error
                throttled_for += wait
                await self._sleep(wait, action, error.code or "throttled")
                slotted = True  # its wait was its place in the queue
                continue
            if not self._retryable(error) or attempt >= self.max_attempts:
                raise error
            asked = _retry_after(response)
            if asked is not None and asked > self.max_delay:
                raise error
            await self._sleep(asked if asked is not None else self._backoff(attempt), action, str(error.code))

    @staticmethod
    def _retryable(error: AlibabaError) -> bool:
        return error.status == 503 or error.code in ("ServiceUnavailable", "InternalError")

    def _backoff(self, attempt: int) -> float:
        """Exponential with full jitter, capped by ``max_delay``."""
        return self._rng.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))

    def _throttled(self, asked: float | None) -> float | None:
        """How long to wait after a throttling answer (None: longer than ``max_delay``, give up).

        Every call of the client shares the AccessKey's quota, so once throttled the client
        paces itself: each request (a retry, or a new call through ``_gate``) takes the next
        slot, ``asked`` seconds after the previous one, rather than all coming back at once.
        """
        if asked is None:
            asked = self.base_delay
        if asked > self.max_delay:
            return None
        now = self.clock.monotonic()
        self._spacing = asked
        slot = max(self._not_before, now + asked)
        self._not_before = slot + asked
        return slot - now

    async def _gate(self) -> None:
        """While the client paces itself, wait for the next slot."""
        now = self.clock.monotonic()
        if self._not_before <= now:
            return
        slot = self._not_before
        self._not_before = slot + self._spacing
        await self.clock.sleep(slot - now)

    async def _sleep(self, delay: float, action: str, why: str) -> None:
        log.info("alibaba %s: %s, retrying in %.2fs", action, why, delay)
        await self.clock.sleep(delay)

    async def _send(self, action: str, region: str, query: dict[str, str]) -> httpx.Response:
        base = endpoint_for(region, self.endpoint)
        host = httpx.URL(base).netloc.decode()
        self.calls += 1
        if self.signature_version == "v1":
            signed = self._v1_query(action, query)
            return await self._http.post(f"{base}/", params=signed, headers={"host": host})
        headers = self._v3_headers(action, query, host)
        return await self._http.post(f"{base}/", params=query, headers=headers)

    def _v1_query(self, action: str, query: dict[str, str]) -> dict[str, str]:
        params = {
            **query,
            "Action": action,
            "Version": API_VERSION,
            "Format": "JSON",
            "AccessKeyId": self.credentials.access_key_id,
            "SignatureMethod": signing.V1_METHOD,
            "SignatureVersion": signing.V1_VERSION,
            "SignatureNonce": uuid.uuid4().hex,
            "Timestamp": timestamp(self.clock),
        }
        if self.credentials.token:
            params["SecurityToken"] = self.credentials.token
        params["Signature"] = signing.v1_signature(self.credentials.secret, "POST", params)
        return params

    def _v3_headers(self, action: str, query: dict[str, str], host: str) -> dict[str, str]:
        query["Format"] = "JSON"
        headers = {
            "host": host,
            "x-acs-action": action,
            "x-acs-version": API_VERSION,
            "x-acs-date": timestamp(self.clock),
            "x-acs-signature-nonce": uuid.uuid4().hex,
            "x-acs-content-sha256": hashlib.sha256(b"").hexdigest(),
        }
        if self.credentials.token:
            headers["x-acs-security-token"] = self.credentials.token
        parts = signing.v3_parts("POST", query, headers)
        signature = signing.v3_signature(self.credentials.secret, parts.string_to_sign)
        headers["Authorization"] = signing.v3_authorization(
            self.credentials.access_key_id, parts.signed_headers, signature
        )
        return headers


def _json_object(response: httpx.Response, action: str) -> dict[str, Any]:
    """The answer's JSON object; anything else (HTML from a proxy, a cut-off body) is an error."""
    try:
        body = response.json()
    except ValueError:  # invalid JSON or not UTF-8
        body = None
    if not isinstance(body, dict):
        raise AlibabaError(
            status=response.status_code,
            code="InvalidResponse",
            message=f"the answer to {action} is not a JSON object "
            f"({response.headers.get('content-type') or 'no content type'})",
            request_id=response.headers.get("x-acs-request-id"),
        )
    return body


def _wire(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _retry_after(response: httpx.Response) -> float | None:
    """``x-acs-retry-after`` (milliseconds, as the SDKs read it), else ``Retry-After`` (seconds)."""
    raw = response.headers.get("x-acs-retry-after")
    if raw is not None:
        try:
            value = float(raw.strip())
        except ValueError:
            value = 0.0
        if value > 0:
            return value / 1000
    raw = response.headers.get("retry-after")
    if raw is not None:
        try:
            return max(0.0, float(raw.strip()))
        except ValueError:
            return None
    return None
