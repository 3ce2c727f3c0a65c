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
  status 400 (some gateways 429 or 503), sometimes with ``x-acs-retry-after`` in milliseconds:
  that wait is honoured, otherwise an exponential backoff with full jitter.
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
        """The JSON answer of ``action`` in ``region``; ``client_token`` marks a change."""
        query = {k: _wire(v) for k, v in (params or {}).items() if v is not None}
        query["RegionId"] = region
        if client_token is not None:
            query["ClientToken"] = client_token
        attempt = 0
        while True:
            attempt += 1
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
                await self._wait(attempt, None, action, type(exc).__name__)
                continue
            if response.is_success:
                return _json_object(response, action)
            error = error_from_response(response)
            if not self._retryable(error) or attempt >= self.max_attempts:
                raise error
            if not await self._wait(attempt, _retry_after(response), action, error.code or str(error.status)):
                raise error

    @staticmethod
    def _retryable(error: AlibabaError) -> bool:
        if isinstance(error, Throttled):
            return True
        return error.status in (429, 503) or error.code in ("ServiceUnavailable", "InternalError")

    async def _wait(self, attempt: int, asked: float | None, action: str, why: str) -> bool:
        """Wait before attempt ``attempt + 1``; False when the service asked for longer than
        ``max_delay`` (the caller gives up rather than be refused again)."""
        if asked is not None and asked > self.max_delay:
            return False
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        delay = asked if asked is not None else self._rng.uniform(0, ceiling)
        log.info("alibaba %s: %s, retrying in %.2fs (attempt %d)", action, why, delay, attempt)
        await self.clock.sleep(delay)
        return True

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
