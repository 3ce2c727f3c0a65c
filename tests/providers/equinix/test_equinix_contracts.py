"""The Equinix wire models against the official examples, ecx-go's fixtures and the seed, unchanged.

Every Fabric v4 example (``data/equinix/fabricv4``, keyed by example name), every v3 fixture of
Equinix's Go client (``data/equinix/v3-ecx-go``), the OAuth2 token fixtures and every JSON
snippet of seed 003 must parse, and dumping it again must give back the same JSON: nothing
dropped, nothing added, unknown fields kept.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from circuitbot.providers.equinix import models_v3 as v3
from circuitbot.providers.equinix import models_v4 as v4
from circuitbot.providers.equinix.errors import parse_errors
from circuitbot.providers.equinix.wire import TokenError, TokenResponse
from support.paths import CONTRACT_DATA

DATA = CONTRACT_DATA / "equinix"
SEED = CONTRACT_DATA / "seeds" / "003_dbca0d589c2a810f.txt"

V4_MODELS: dict[str, Any] = {
    "connection_stats_response_200": v4.Statistics,
    "create_connection_request": v4.Connection,
    "create_connection_response_201": v4.Connection,
    "delete_connection_response_200": v4.Connection,
    "get_connection_response_200": v4.Connection,
    "get_metros_response_200": v4.MetroList,
    "get_ports_response_200": v4.PortList,
    "get_service_profiles_response_200": v4.ServiceProfileList,
    "port_stats_response_200": v4.Statistics,
    "search_prices_response_200": v4.PriceList,
    "validate_response_200": v4.ValidateResponse,
}
V4_ERRORS = ("create_connection_error_400", "delete_connection_error_400", "get_connection_error_404")
V4_REQUESTS = ("search_connections_request", "search_prices_request", "search_service_profiles_request")

V3_MODELS: dict[str, Any] = {
    "ecx_l2connection_delete_resp": v3.DeleteResponse,
    "ecx_l2connection_get_resp": v3.Connection,
    "ecx_l2connection_patch_resp": v3.DeleteResponse,
    "ecx_l2connection_post_resp": v3.CreateResponse,
    "ecx_l2connection_update_resp": v3.CreateResponse,
    "ecx_l2connections_get_resp": v3.ConnectionPage,
    "ecx_l2sellerprofile_get": v3.ProfilePage,
    "ecx_l2sellerprofile_get_p0": v3.ProfilePage,
    "ecx_l2sellerprofile_get_p1": v3.ProfilePage,
    "ecx_l2serviceprofile_delete_resp": v3.DeleteResponse,
    "ecx_l2serviceprofile_get_resp": v3.Profile,
    "ecx_l2serviceprofile_post_resp": v3.CreateResponse,
    "ecx_ports_get": list[v3.Port],
}


def round_trip(model: Any, payload: Any) -> Any:
    adapter = TypeAdapter(model)
    parsed = adapter.validate_python(payload)
    return adapter.dump_python(parsed, mode="json", by_alias=True, exclude_unset=True)


def load(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.mark.parametrize("stem", sorted(set(V4_MODELS) - set(V4_ERRORS)))
def test_every_v4_example_parses_and_round_trips(stem: str) -> None:
    examples = load(DATA / "fabricv4" / f"{stem}.json")
    assert examples
    for name, payload in examples.items():
        assert round_trip(V4_MODELS[stem], payload) == payload, name


@pytest.mark.parametrize("stem", [*V4_ERRORS, "validate_error_400"])
def test_every_v4_error_example_is_an_error_list(stem: str) -> None:
    for payload in load(DATA / "fabricv4" / f"{stem}.json").values():
        errors = parse_errors(payload)
        assert errors and all(re.fullmatch(r"EQ-\d{7}", e.code or "") for e in errors)
        assert all(e.message for e in errors)


@pytest.mark.parametrize("stem", V4_REQUESTS)
def test_every_v4_search_request_example_is_a_filter_body(stem: str) -> None:
    for name, payload in load(DATA / "fabricv4" / f"{stem}.json").items():
        assert "filter" in payload, name
        assert set(payload["filter"]) <= {"and", "or", "property", "operator", "values"}, name


def test_the_live_states_the_spec_lacks_are_named() -> None:
    assert {"PROVISIONED", "REPROVISIONING"} <= set(v4.ConnectionState)
    assert "PENDING DELETE" in set(v4.ProviderStatus)
    live = v4.Connection.model_validate(
        {"state": "REPROVISIONING", "operation": {"providerStatus": "PENDING DELETE"}}
    )
    assert live.state == "REPROVISIONING" and live.operation.provider_status == "PENDING DELETE"


@pytest.mark.parametrize("stem", sorted(V3_MODELS))
def test_every_v3_fixture_parses_and_round_trips(stem: str) -> None:
    payload = load(DATA / "v3-ecx-go" / f"{stem}.json")
    assert round_trip(V3_MODELS[stem], payload) == payload


def test_v3_errors_come_as_one_object_or_an_array() -> None:
    [one] = parse_errors(load(DATA / "v3-ecx-go" / "ecx_httpapi_error_generic.json"))
    assert (one.code, one.message, one.property) == (
        "IC-LAYER2-PROFILE-009",
        "Seller region required",
        "sellerRegion",
    )
    many = parse_errors(load(DATA / "v3-ecx-go" / "ecx_httpapi_multierror_generic.json"))
    assert [e.code for e in many] == ["IC-LAYER2-PROFILE-009", "IC-LAYER2-PROFILE-012"]


def test_token_fixtures_parse_in_both_error_casings() -> None:
    token = TokenResponse.model_validate(load(DATA / "oauth2" / "token_response.json"))
    assert token.access_token == "qwErtY8zyW1abcdefGHI" and token.lifetime_seconds == 3600
    camel = TokenError.model_validate(load(DATA / "oauth2" / "token_response_err.json"))
    assert (camel.error_code, camel.error_message) == ("S1006", "Login Failure, please try again.")
    snake = TokenError.model_validate({"error_code": "S1007", "error_message": "Invalid client"})
    assert (snake.error_code, snake.error_message) == ("S1007", "Invalid client")
    assert TokenResponse(access_token="t", token_timeout="soon").lifetime_seconds == 3600


# --- the seed's JSON snippets -----------------------------------------------------------------------


def seed_snippets() -> list[tuple[str, Any]]:
    """(endpoint heading, JSON) for every snippet of the seed that is JSON as printed."""
    text = SEED.read_text()
    decoder = json.JSONDecoder()
    found: list[tuple[str, Any]] = []
    heading, broken = "", False
    position = 0
    for match in re.finditer(r"^(?:(GET|DELETE) .*\(v3\)|[\[{])$", text, re.MULTILINE):
        if match.group(1):
            heading, broken = match.group(0), False
            continue
        if match.start() < position or broken:
            continue
        try:
            value, end = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:  # not JSON as printed (the port stats): none of its parts either
            broken = True
            continue
        found.append((heading, value))
        position = end
    return found


SEED_MODELS: dict[str, Any] = {
    "GET User Port (v3)": list[v3.Port],
    "GET Metros (v3)": list[v3.Metro],
    "GET Layer 2 Connection Price (v3)": v3.PriceResponse,
    "GET Layer 2 Service Profiles Services (v3)": v3.ProfilePage,
    "GET Layer 2 Service Profiles Services {uuid} (v3)": v3.Profile,
    "GET Layer 2 Validate Authorization Key (v3)": v3.Validation,
    "GET Layer 2 Buyer Connections (v3)": v3.ConnectionPage,
    "GET Layer 2 Connections {uuid} (v3)": v3.ConnectionPage,  # the seed's sample is a page
    "DELETE Layer 2 Connections {uuid} (v3)": v3.DeleteResponse,
}


def test_every_seed_snippet_parses_and_round_trips() -> None:
    snippets = seed_snippets()
    assert {heading for heading, _ in snippets} == set(SEED_MODELS)
    for heading, payload in snippets:
        assert round_trip(SEED_MODELS[heading], payload) == payload, heading


def test_the_seeds_port_stats_sample_parses_once_its_missing_bracket_is_restored() -> None:
    """The seed prints the stats answer without the ``]`` closing ``outboundStats``; the rest is kept."""
    text = SEED.read_text()
    start = text.index('{\n"capacity"')
    printed = text[start : text.index("The description", start)].rstrip()
    with pytest.raises(json.JSONDecodeError):
        json.loads(printed)
    last_item_end = printed.rindex("}", 0, len(printed) - 1) + 1
    payload = json.loads(printed[:last_item_end] + "]" + printed[last_item_end:])
    stats = v3.PortStats.model_validate(payload)
    assert stats.capacity == 1_000_000_000 and len(stats.outbound_stats or []) == 2
    assert round_trip(v3.PortStats, payload) == payload


def test_models_keep_unknown_fields() -> None:
    connection = v4.Connection.model_validate({"uuid": "u", "futureField": {"x": 1}})
    assert isinstance(connection, BaseModel) and connection.dump()["futureField"] == {"x": 1}
