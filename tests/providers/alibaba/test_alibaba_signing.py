"""The signers against Alibaba's published worked examples (``data/alibaba/signature_test_vectors.json``):
V1 (HMAC-SHA1) with its intermediate strings, the negative vector (the key without its ``&``),
and V3 (ACS3-HMAC-SHA256) with its canonical request, hash and Authorization header."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from circuitbot.providers.alibaba import signing
from support.paths import CONTRACT_DATA

VECTORS: dict[str, Any] = json.loads((CONTRACT_DATA / "alibaba" / "signature_test_vectors.json").read_text())
V1 = VECTORS["rpc_v1_hmac_sha1"]
V3 = VECTORS["v3_acs3_hmac_sha256"]


def test_v1_canonical_query_and_string_to_sign_match_the_published_example() -> None:
    assert signing.canonical_query(V1["params"]) == V1["canonicalized_query_string"]
    assert signing.v1_string_to_sign(V1["http_method"], V1["params"]) == V1["string_to_sign"]


def test_v1_signature_matches_the_published_example_with_the_ampersand_on_the_key() -> None:
    signature = signing.v1_signature(V1["access_key_secret"], V1["http_method"], V1["params"])
    assert signature == V1["signature"]
    assert signing.percent_encode(signature) == V1["signature_url_encoded"]
    assert V1["hmac_key_used"] == V1["access_key_secret"] + "&"


def test_the_negative_vector_is_what_a_key_without_its_ampersand_gives_and_is_not_ours() -> None:
    string = signing.v1_string_to_sign(V1["http_method"], V1["params"])
    wrong = base64.b64encode(
        hmac.new(V1["access_key_secret"].encode(), string.encode(), hashlib.sha1).digest()
    ).decode()
    assert wrong == V1["negative_check_signature_if_key_lacks_ampersand"]
    assert signing.v1_signature(V1["access_key_secret"], V1["http_method"], V1["params"]) != wrong


def test_v1_ignores_a_signature_already_in_the_parameters() -> None:
    params = {**V1["params"], "Signature": "anything"}
    assert signing.v1_string_to_sign("GET", params) == V1["string_to_sign"]


def _query(text: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in text.split("&"))


def test_v3_canonical_request_hash_and_signature_match_the_published_example() -> None:
    parts = signing.v3_parts(V3["http_method"], _query(V3["canonical_query_string"]), V3["headers"])
    assert parts.canonical_request == V3["canonical_request"]
    assert parts.hashed_canonical_request == V3["hashed_canonical_request"]
    assert parts.string_to_sign == V3["string_to_sign"]
    assert parts.signed_headers == V3["signed_headers"]
    signature = signing.v3_signature(V3["access_key_secret"], parts.string_to_sign)
    assert signature == V3["signature"]
    assert (
        signing.v3_authorization(V3["access_key_id"], parts.signed_headers, signature) == V3["authorization"]
    )


def test_v3_authorization_parses_back_into_its_parts() -> None:
    parsed = signing.parse_v3_authorization(V3["authorization"])
    assert parsed is not None
    assert parsed.credential == V3["access_key_id"]
    assert ";".join(parsed.signed_headers) == V3["signed_headers"]
    assert parsed.signature == V3["signature"]
    assert signing.parse_v3_authorization("Bearer abc") is None
    assert signing.parse_v3_authorization("ACS3-HMAC-SHA256 Credential=x") is None


def test_v3_signs_whatever_header_case_it_is_given() -> None:
    upper = {name.upper(): value for name, value in V3["headers"].items()}
    parts = signing.v3_parts("POST", _query(V3["canonical_query_string"]), upper)
    assert parts.hashed_canonical_request == V3["hashed_canonical_request"]


@pytest.mark.parametrize(
    ("text", "encoded"),
    [("a b", "a%20b"), ("a*b", "a%2Ab"), ("a~b", "a~b"), ("x/y:z", "x%2Fy%3Az"), ("东", "%E4%B8%9C")],
)
def test_percent_encoding_is_rfc_3986_as_alibaba_signs_it(text: str, encoded: str) -> None:
    assert signing.percent_encode(text) == encoded
