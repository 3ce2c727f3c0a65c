"""app_manifest.yml must be a manifest Slack accepts, with what circuitbot needs."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import jsonschema
import pytest
import yaml
from slack_sdk.web.async_client import AsyncWebClient

from circuitbot.slack.scopes import BOT_SCOPES, METHOD_SCOPES
from support.paths import CONTRACT_DATA, REPOSITORY

MANIFEST_PATH = REPOSITORY / "app_manifest.yml"
SCHEMA_PATH = CONTRACT_DATA / "slack" / "manifest.schema.1.0.0.json"

SOURCE = REPOSITORY / "src" / "circuitbot"
WEB_API_METHODS = {  # slack_sdk's method names (chat_postMessage) -> Slack's (chat.postMessage)
    name: name.replace("_", ".")
    for name in dir(AsyncWebClient)
    if not name.startswith("_") and "_" in name and name not in {"api_call", "base_url"}
}


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


@pytest.fixture
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST_PATH.read_text())


def errors(validator: jsonschema.Draft7Validator, document: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_manifest_validates_against_slack_schema(validator, manifest) -> None:
    assert errors(validator, manifest) == []


def test_manifest_is_v1(manifest) -> None:
    assert manifest["_metadata"]["major_version"] == 1


def test_display_information(manifest) -> None:
    info = manifest["display_information"]
    assert info["name"] == "circuitbot"
    assert info["description"]
    assert len(info["long_description"]) >= 175
    # the schema spells this constraint as "regex", which validators ignore, so check it here
    assert re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", info["background_color"])


def test_slash_command_and_bot_user(manifest) -> None:
    features = manifest["features"]
    assert features["bot_user"]["display_name"] == "circuitbot"
    [command] = features["slash_commands"]
    assert command["command"] == "/circuit"
    assert command["description"]
    assert command["usage_hint"]
    assert "url" not in command, "Socket Mode needs no request URL"


def called_web_api_methods() -> set[str]:
    """Slack's names of the Web API methods the bot's code calls (the fake Slack's excluded)."""
    called = set()
    for path in SOURCE.rglob("*.py"):
        if "testing" in path.relative_to(SOURCE).parts:
            continue
        for name in re.findall(r"\.([a-z]+_[A-Za-z_]+)\(", path.read_text()):
            if name in WEB_API_METHODS:
                called.add(WEB_API_METHODS[name])
    return called


def test_every_web_api_method_the_code_calls_has_its_scopes_listed() -> None:
    called = called_web_api_methods()
    assert "chat.postMessage" in called and "conversations.replies" in called  # the scan sees calls
    assert called == set(METHOD_SCOPES), "list each method's scopes in circuitbot/slack/scopes.py"


def test_scopes_and_settings(manifest) -> None:
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
    assert settings["org_deploy_enabled"] is False


def test_http_mode_request_url_is_documented() -> None:
    assert "https://<host>/slack/events" in MANIFEST_PATH.read_text()


def break_command_slash(m: dict[str, Any]) -> None:
    m["features"]["slash_commands"][0]["command"] = "circuit"


def break_long_description(m: dict[str, Any]) -> None:
    m["display_information"]["long_description"] = "too short"


def break_name_length(m: dict[str, Any]) -> None:
    m["display_information"]["name"] = "c" * 36


def break_unknown_setting(m: dict[str, Any]) -> None:
    m["settings"]["sockets_mode_enabled"] = True


def break_interactivity(m: dict[str, Any]) -> None:
    del m["settings"]["interactivity"]["is_enabled"]


@pytest.mark.parametrize(
    ("breakage", "where"),
    [
        (break_command_slash, "features/slash_commands/0/command"),
        (break_long_description, "display_information/long_description"),
        (break_name_length, "display_information/name"),
        (break_unknown_setting, "settings"),
        (break_interactivity, "settings/interactivity"),
    ],
)
def test_schema_rejects_broken_manifests(validator, manifest, breakage, where) -> None:
    broken = copy.deepcopy(manifest)
    breakage(broken)
    found = errors(validator, broken)
    assert len(found) == 1, found
    assert found[0].startswith(f"{where}:")


def test_the_usage_hint_and_description_name_only_what_exists(manifest) -> None:
    from circuitbot.bootstrap import build_registry
    from circuitbot.providers import catalog

    registry = build_registry()
    neutral = {op.verb for op in registry if op.provider is None}
    words = neutral | {word for spec in catalog.PROVIDERS for word in (spec.name, *spec.aliases)}
    [command] = manifest["features"]["slash_commands"]
    for part in command["usage_hint"].split(" | "):
        for word in part.split()[0].split("|"):
            assert word in words, f"the usage hint names {word!r}, which is no verb or provider"
    titles = {spec.name: spec.title for spec in catalog.PROVIDERS}
    for name in ("Azure", "Equinix", "Console Connect", "Alibaba"):
        assert name in command["description"] and any(name in title for title in titles.values())
