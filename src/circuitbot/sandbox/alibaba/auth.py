"""How the sandbox checks a request's signature, the way Alibaba's gateway does.

A request signed with V3 carries ``Authorization: ACS3-HMAC-SHA256 …`` and its ``x-acs-*``
headers; one signed with V1 carries ``Signature`` and the common parameters in the query (or a
form body). Either way the sandbox looks the AccessKeyId up among the pairs it was started with,
recomputes the signature with ``providers.alibaba.signing`` and answers as Alibaba does:

* an unknown AccessKeyId: ``InvalidAccessKeyId.NotFound`` (404);
* a signature that does not match: ``SignatureDoesNotMatch`` (403);
* a timestamp more than ``tolerance`` away from the clock: ``IllegalTimestamp`` (400);
* a nonce already used within the tolerance: ``SignatureNonceUsed`` (400);
* a key issued with an STS token, without that token: ``InvalidSecurityToken.MismatchWithAccessKey``.

A nonce is remembered only once its request's signature matched, so a forged request cannot
burn the nonce of a real one.
"""

from __future__ import annotations

import collections
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from circuitbot.clock import Clock
from circuitbot.providers.alibaba import signing

# The pair the sandbox always accepts (documented in the README): not a secret of any account.
DEFAULT_ACCESS_KEY_ID = "LTAIsandboxDefaultKey"
DEFAULT_ACCESS_KEY_SECRET = "sandbox-default-secret"
TOLERANCE = timedelta(minutes=15)
SIGNED_HEADERS_REQUIRED = ("host", "x-acs-action", "x-acs-date", "x-acs-signature-nonce")


class RpcError(Exception):
    """An error answer: HTTP status, Alibaba's Code and Message."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class Signed:
    """A request whose signature held: who sent it, the action and its parameters."""

    access_key_id: str
    action: str
    version: str | None
    params: dict[str, str]


def parse_access_key(value: str) -> tuple[str, str]:
    """``ID:SECRET`` (as ``--access-key`` takes it) as a pair."""
    key_id, sep, secret = value.partition(":")
    if not sep or not key_id.strip() or not secret:
        raise ValueError("an access key is given as ID:SECRET")
    return key_id.strip(), secret


class Verifier:
    def __init__(
        self,
        clock: Clock,
        access_keys: Mapping[str, str],
        security_tokens: Mapping[str, str] | None = None,
        tolerance: timedelta = TOLERANCE,
    ) -> None:
        self.clock = clock
        self.access_keys = dict(access_keys)
        self.security_tokens = dict(security_tokens or {})
        self.tolerance = tolerance
        self._nonces: set[str] = set()
        self._nonce_order: collections.deque[tuple[datetime, str]] = collections.deque()

    def verify(
        self,
        method: str,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        body: bytes,
        form: Mapping[str, str],
    ) -> Signed:
        """The checked request, or the RpcError Alibaba would answer."""
        authorization = headers.get("authorization")
        if authorization:
            return self._v3(method, headers, query, body, form, authorization)
        if "Signature" in query or "Signature" in form:
            return self._v1(method, {**form, **query})
        raise RpcError(
            400, "MissingParameter", "The input parameter Signature that is mandatory is not supplied."
        )

    # --- V3 ---------------------------------------------------------------------------------------

    def _v3(
        self,
        method: str,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        body: bytes,
        form: Mapping[str, str],
        authorization: str,
    ) -> Signed:
        parsed = signing.parse_v3_authorization(authorization)
        if parsed is None or not all(h in parsed.signed_headers for h in SIGNED_HEADERS_REQUIRED):
            raise RpcError(
                400, "IncompleteSignature", "The request signature does not conform to Aliyun standards."
            )
        self._check_time(headers.get("x-acs-date", ""))
        secret = self._secret(parsed.credential)
        sha = headers.get("x-acs-content-sha256", "")
        if sha != hashlib.sha256(body).hexdigest():
            raise RpcError(400, "IncompleteSignature", "x-acs-content-sha256 is not the SHA-256 of the body.")
        parts = signing.v3_parts(method, query, headers, signed_headers=parsed.signed_headers)
        if not signing.same(signing.v3_signature(secret, parts.string_to_sign), parsed.signature):
            raise _mismatch(parts.string_to_sign)
        self._check_token(parsed.credential, headers.get("x-acs-security-token"))
        self._use_nonce(headers.get("x-acs-signature-nonce", ""))
        return Signed(
            parsed.credential,
            headers.get("x-acs-action", ""),
            headers.get("x-acs-version"),
            {**form, **query},
        )

    # --- V1 ---------------------------------------------------------------------------------------

    def _v1(self, method: str, params: Mapping[str, str]) -> Signed:
        for name in ("AccessKeyId", "SignatureNonce", "Timestamp", "Action"):
            if not params.get(name):
                raise RpcError(
                    400, "MissingParameter", f"The input parameter {name} that is mandatory is not supplied."
                )
        if (
            params.get("SignatureMethod") != signing.V1_METHOD
            or params.get("SignatureVersion") != signing.V1_VERSION
        ):
            raise RpcError(
                400, "IncompleteSignature", "SignatureMethod must be HMAC-SHA1 and SignatureVersion 1.0."
            )
        self._check_time(params["Timestamp"])
        secret = self._secret(params["AccessKeyId"])
        expected = signing.v1_signature(secret, method, params)
        if not signing.same(expected, params.get("Signature", "")):
            raise _mismatch(signing.v1_string_to_sign(method, params))
        self._check_token(params["AccessKeyId"], params.get("SecurityToken"))
        self._use_nonce(params["SignatureNonce"])
        common = {"Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp",
                  "AccessKeyId", "Action", "Version", "SecurityToken"}  # fmt: skip
        rest = {k: v for k, v in params.items() if k not in common}
        return Signed(params["AccessKeyId"], params["Action"], params.get("Version"), rest)

    # --- shared -----------------------------------------------------------------------------------

    def _secret(self, access_key_id: str) -> str:
        secret = self.access_keys.get(access_key_id)
        if secret is None:
            raise RpcError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        return secret

    def _check_time(self, value: str) -> None:
        try:
            when = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=self.clock.now().tzinfo)
        except ValueError:
            raise RpcError(
                400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."
            ) from None
        if abs(self.clock.now() - when) > self.tolerance:
            raise RpcError(
                400, "IllegalTimestamp", "The input parameter Timestamp that is expired or not yet valid."
            )

    def _check_token(self, access_key_id: str, token: str | None) -> None:
        wanted = self.security_tokens.get(access_key_id)
        if wanted is not None and not signing.same(wanted, token or ""):
            raise RpcError(
                400,
                "InvalidSecurityToken.MismatchWithAccessKey",
                "The security token does not match the access key.",
            )

    def _use_nonce(self, nonce: str) -> None:
        now = self.clock.now()
        while self._nonce_order and now - self._nonce_order[0][0] > self.tolerance:
            self._nonces.discard(self._nonce_order.popleft()[1])
        if not nonce:
            raise RpcError(
                400,
                "MissingParameter",
                "The input parameter SignatureNonce that is mandatory is not supplied.",
            )
        if nonce in self._nonces:
            raise RpcError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        self._nonces.add(nonce)
        self._nonce_order.append((now, nonce))


def _mismatch(string_to_sign: str) -> RpcError:
    # Alibaba echoes the string it signed, so a caller can compare; it holds no secret.
    return RpcError(
        403,
        "SignatureDoesNotMatch",
        f"Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}",
    )
