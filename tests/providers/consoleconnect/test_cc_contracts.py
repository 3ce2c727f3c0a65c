"""Console Connect's published samples and the seed's snippets parse unchanged; statuses compare
whatever their spelling; errors read as words from any body; settings come from the environment.

Every JSON file under ``data/consoleconnect`` and every request sample of seed 002 must parse,
and dumping it again must give back the same JSON: nothing dropped, nothing renamed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from circuitbot.providers.consoleconnect import models as m
from circuitbot.providers.consoleconnect.errors import (
    ConsoleConnectError,
    NotFound,
    Unauthorized,
    error_from_response,
    message_of,
)
from circuitbot.providers.consoleconnect.settings import ConsoleConnectSettings
from circuitbot.settings import Settings

DATA = Path(__file__).resolve().parents[2] / "contracts" / "data"
EXAMPLES = DATA / "consoleconnect"
SEED = DATA / "seeds" / "002_f4cc9c8cda26115b.txt"

MODELS: dict[str, type[BaseModel]] = {
    "azure_layer2_create_request.example.json": m.AzureLayer2CreateRequest,
    "auth_token_request.example.json": m.AuthTokenRequest,
    "auth_token_response.example.json": m.AuthTokenResponse,
    "layer2_connection_request.example.json": m.Layer2ConnectionRequest,
    "aws_dcp_layer2_request.thirdparty-example.json": m.AwsDcpLayer2Request,
}


def dumped(model: BaseModel) -> Any:
    """The model as JSON again, secrets in clear (only to compare with the sample)."""
    out = json.loads(model.model_dump_json(by_alias=True, exclude_unset=True))
    for name, value in model:
        if hasattr(value, "get_secret_value"):
            alias = type(model).model_fields[name].alias or name
            out[alias] = value.get_secret_value()
    return out


def test_every_example_file_has_a_model() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.json")) == sorted(MODELS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_example_parses_and_round_trips(name: str) -> None:
    raw = json.loads((EXAMPLES / name).read_text())
    model = MODELS[name].model_validate(raw)
    assert dumped(model) == raw


def test_the_create_sample_is_the_azure_order() -> None:
    order = m.AzureLayer2CreateRequest.model_validate_json((EXAMPLES / MODELS_CREATE).read_text())
    assert order.azure_service_key == "your_key_here"
    assert [p.port_id for p in order.src_port] == ["5893d943878d635dde318022"]
    assert (order.speed, order.payment_type) == (100, "payg")


MODELS_CREATE = "azure_layer2_create_request.example.json"


def test_the_portal_token_never_shows_in_a_repr() -> None:
    answer = m.AuthTokenResponse.model_validate_json(
        (EXAMPLES / "auth_token_response.example.json").read_text()
    )
    assert answer.username == "stella"
    assert "e4e0c6e2" not in repr(answer) and "e4e0c6e2" not in str(answer.model_dump())


# --- seed 002 ---------------------------------------------------------------------------------


def seed_samples() -> list[Any]:
    """The seed's request samples: the JSON after each "Request samples / application/json",
    with the page's list markers (``•``) taken out."""
    text = SEED.read_text()
    samples = []
    for match in re.finditer(r"Request samples\napplication/json\n(\{.*?\n\})", text, re.DOTALL):
        samples.append(json.loads(match.group(1).replace("•", "")))
    return samples


def test_the_seed_request_samples_parse_and_round_trip() -> None:
    create, verify = seed_samples()
    assert dumped(m.AzureLayer2CreateRequest.model_validate(create)) == create
    assert dumped(m.ServiceKeyRequest.model_validate(verify)) == verify
    assert verify == {"serviceKey": "example-service-key"}


def test_the_seed_tables_are_the_models_statuses() -> None:
    text = SEED.read_text()
    for status in m.PartnerPeeringStatus:
        assert f"\n{status.value} " in text
    for sync in m.SyncStatus:
        assert f"\n{sync.value} " in text
    for kind in m.PeeringType:
        assert f"\n{kind.value} " in text
    assert "{peeringType}(PUBLIC|PRIVATE|MICROSOFT)" in text
    assert "'GROUP_LAYER2'" in text and "'LAYER2'" in text


# --- answers and statuses ---------------------------------------------------------------------

CONNECTION = {
    "id": "507f1f77bcf86cd799439011",
    "type": "GROUP_LAYER2",
    "status": "PENDING_ACCEPTANCE",
    "name": "Azure ExpressRoute",
    "speed": {"value": 1000, "name": "1000 Mbps"},
    "subconnections": [
        {"id": "5893d943878d635dde318099", "type": "LAYER2", "status": "CREATING", "speed": 1000}
    ],
    "partner": {"peering": "NOT_PROVISIONED", "serviceKey": "k"},
    "vlan": {"id": 7, "service": 100, "customer": []},
    "cdrBillingType": "GB",
}


def test_a_connection_keeps_what_it_does_not_declare_and_reads_both_speed_shapes() -> None:
    connection = m.Connection.model_validate(CONNECTION)
    assert connection.speed_mbps == 1000 and connection.subconnections[0].speed_mbps == 1000
    assert connection.model_dump(by_alias=True, exclude_unset=True) == CONNECTION
    assert m.same_status(connection.partner_status, m.PartnerPeeringStatus.NOT_PROVISIONED)
    assert m.same_status(connection.status, m.ConnectionStatus.PENDING_ACCEPTANCE)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("NOT PROVISIONED", "NOT_PROVISIONED"),
        ("pending acceptance", "PENDING_ACCEPTANCE"),
        (" SYNCED", "synced"),
    ],
)
def test_spaces_underscores_and_case_are_one(a: str, b: str) -> None:
    assert m.status_key(a) == m.status_key(b)
    assert not m.same_status("PROVISIONED", "NOT PROVISIONED")


def test_the_partner_status_may_be_an_object() -> None:
    partner = m.Partner.model_validate({"peering": {"status": "PROVISIONING", "location": "x"}})
    assert partner.provisioning_status == "PROVISIONING"
    assert m.Partner.model_validate({"peering": None}).provisioning_status is None


def test_advertised_prefixes_may_come_as_comma_separated_text() -> None:
    config = m.PeeringConfig.model_validate({"advertisedPublicPrefixes": "1.2.3.0/24, 5.6.7.0/24"})
    assert config.advertised_public_prefixes == ["1.2.3.0/24", "5.6.7.0/24"]


# --- error messages from any body ---------------------------------------------------------------


def answer(status: int, content: bytes | str = b"", content_type: str = "application/json") -> httpx.Response:
    request = httpx.Request("GET", "https://api.consoleconnect.com/api/company/Acme/connections")
    body = content.encode() if isinstance(content, str) else content
    return httpx.Response(status, content=body, headers={"content-type": content_type}, request=request)


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        ('{"statusCode":400,"error":"Bad Request","message":"speed is too high"}', "speed is too high", None),
        ('{"code":"InvalidServiceKey","message":"bad key"}', "bad key", "InvalidServiceKey"),
        ('{"error":{"code":"E42","message":"nested words"}}', "nested words", "E42"),
        ('{"error":"invalid_token"}', "invalid_token", "invalid_token"),
        (
            '{"errors":[{"msg":"name is required"},{"msg":"speed is required"}]}',
            "name is required; speed is required",
            None,
        ),
        ('["first", "second"]', "first; second", None),
        ('"just a string"', "just a string", None),
        ("{}", "Bad Request", None),
        ("", "Bad Request", None),
        ("not json at all", "not json at all", None),
        ("<html><body><h1>502 Bad Gateway</h1></body></html>", "502 Bad Gateway", None),
    ],
)
def test_an_error_message_is_found_in_any_body(body: str, message: str, code: str | None) -> None:
    assert message_of(answer(400, body)) == (message, code)


def test_a_long_body_is_cut_to_a_readable_length() -> None:
    text, _ = message_of(answer(500, json.dumps({"message": "x" * 5000})))
    assert len(text) == 500 and text.endswith("…")


def test_error_classes_follow_the_status() -> None:
    assert isinstance(error_from_response(answer(404, '{"message":"no"}')), NotFound)
    refused = error_from_response(answer(401, '{"message":"Unauthorized"}'))
    assert isinstance(refused, Unauthorized) and "API key was refused" in refused.message
    other = error_from_response(answer(409, '{"message":"busy"}'))
    assert type(other) is ConsoleConnectError and str(other) == "consoleconnect: 409: busy"


# --- settings ---------------------------------------------------------------------------------


def test_settings_come_from_the_environment_and_keep_the_key_secret(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CIRCUITBOT_CONSOLECONNECT__API_KEY", "cc-key-canary-1234")
    monkeypatch.setenv("CIRCUITBOT_CONSOLECONNECT__COMPANY", "Acme")
    monkeypatch.setenv("CIRCUITBOT_CONSOLECONNECT__AUTH_HEADER", "portal-token")
    monkeypatch.setenv("CIRCUITBOT_CONSOLECONNECT__BASE_URL", "https://api.test.consoleconnect.com")
    cc = Settings(data_dir=tmp_path).provider_settings("consoleconnect")
    assert isinstance(cc, ConsoleConnectSettings) and cc.configured
    assert (cc.company, cc.auth_header, cc.base_url) == (
        "Acme",
        "portal-token",
        "https://api.test.consoleconnect.com",
    )
    assert "cc-key-canary-1234" not in repr(cc) and "cc-key-canary-1234" not in str(cc.model_dump())


def test_defaults_are_the_production_api_and_unconfigured() -> None:
    cc = ConsoleConnectSettings()
    assert (cc.base_url, cc.auth_header, cc.configured) == ("https://api.consoleconnect.com", "bearer", False)
    assert not ConsoleConnectSettings(api_key="k").configured
    with pytest.raises(ValueError):
        ConsoleConnectSettings(auth_header="basic")  # type: ignore[arg-type]
