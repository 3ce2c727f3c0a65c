"""Alibaba Cloud request signatures for RPC-style APIs: V3 (ACS3-HMAC-SHA256) and V1 (HMAC-SHA1).

One module, used by the client to sign and by the sandbox to verify, so the two can only agree
if both follow the published algorithm; the published worked examples (tests) pin it down.

Pitfalls, each checked by a test vector:

* Percent-encoding is RFC 3986 with only ``A-Z a-z 0-9 - _ . ~`` left as they are: a space is
  ``%20`` (not ``+``), ``*`` is ``%2A`` and ``~`` stays. Python's ``quote(safe="-_.~")`` does
  exactly this for UTF-8 text.
* V1 signs ``METHOD&%2F&<the canonical query, percent-encoded once more>`` with the key
  ``AccessKeySecret + "&"``; without the ``&`` the signature is another one (the negative vector).
* V3 signs the hex SHA-256 of the canonical request (method, ``/``, the sorted query, the
  ``host``, ``x-acs-*`` and ``content-type`` headers lower-cased and sorted, the signed header
  names, the body's hex SHA-256) with the secret itself, and sends it in ``Authorization``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

V1_METHOD = "HMAC-SHA1"
V1_VERSION = "1.0"
V3_ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def percent_encode(value: str) -> str:
    """RFC 3986 percent-encoding of UTF-8 text, as Alibaba's signatures need it."""
    return quote(value, safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    """``k=v`` pairs sorted by name (byte order) and percent-encoded, joined by ``&``."""
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


# --- V1 (HMAC-SHA1, parameters in the query string) -------------------------------------------


def v1_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """``METHOD&%2F&<canonical query, encoded again>``, over every parameter but ``Signature``."""
    signed = {k: v for k, v in params.items() if k != "Signature"}
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical_query(signed))}"


def v1_signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    """Base64 of HMAC-SHA1 keyed with ``secret + "&"``."""
    digest = hmac.new(
        (secret + "&").encode(), v1_string_to_sign(method, params).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


# --- V3 (ACS3-HMAC-SHA256, Authorization header) ----------------------------------------------


def _signed_header_names(headers: Mapping[str, str]) -> list[str]:
    names = {name.lower() for name in headers}
    return sorted(n for n in names if n == "host" or n == "content-type" or n.startswith("x-acs-"))


@dataclass(frozen=True)
class V3Parts:
    """The intermediate strings of a V3 signature (what a verifier and the tests compare)."""

    canonical_request: str
    hashed_canonical_request: str
    string_to_sign: str
    signed_headers: str


def v3_parts(
    method: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    *,
    path: str = "/",
    signed_headers: list[str] | None = None,
) -> V3Parts:
    """The canonical request of a V3 signature and what is signed of it.

    ``signed_headers`` (a verifier passes the names the request says it signed) defaults to the
    ``host``, ``content-type`` and ``x-acs-*`` headers present.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    names = signed_headers if signed_headers is not None else _signed_header_names(headers)
    canonical_headers = "".join(f"{n}:{lowered.get(n, '').strip()}\n" for n in names)
    payload_hash = lowered.get("x-acs-content-sha256", EMPTY_SHA256)
    signed = ";".join(names)
    canonical_request = "\n".join(
        [method.upper(), path or "/", canonical_query(query), canonical_headers, signed, payload_hash]
    )
    hashed = hashlib.sha256(canonical_request.encode()).hexdigest()
    return V3Parts(canonical_request, hashed, f"{V3_ALGORITHM}\n{hashed}", signed)


def v3_signature(secret: str, string_to_sign: str) -> str:
    """Hex HMAC-SHA256 keyed with the secret itself (no ``&`` in V3)."""
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def v3_authorization(access_key_id: str, signed_headers: str, signature: str) -> str:
    return f"{V3_ALGORITHM} Credential={access_key_id},SignedHeaders={signed_headers},Signature={signature}"


@dataclass(frozen=True)
class V3Authorization:
    credential: str
    signed_headers: list[str]
    signature: str


def parse_v3_authorization(value: str) -> V3Authorization | None:
    """The parts of an ``ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…`` header."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != V3_ALGORITHM:
        return None
    parts: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, val = item.strip().partition("=")
        if sep:
            parts[name] = val
    if not {"Credential", "SignedHeaders", "Signature"} <= parts.keys():
        return None
    return V3Authorization(
        parts["Credential"], [h for h in parts["SignedHeaders"].split(";") if h], parts["Signature"]
    )


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two signatures."""
    return hmac.compare_digest(a.encode(), b.encode())
