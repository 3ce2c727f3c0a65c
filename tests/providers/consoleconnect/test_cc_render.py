"""Console Connect replies: typed names never ping or break a code span, the shared key is never
shown, and every reply is valid Block Kit within Slack's limits."""

from __future__ import annotations

import json

from circuitbot.providers.consoleconnect import models as m
from circuitbot.providers.consoleconnect import render
from support.blockkit import assert_valid_block_kit

HOSTILE = "<!channel> hi <@U123> ```x``` <https://evil.example|click>"


def connection(name: str = HOSTILE, status: str = "ACTIVE") -> m.Connection:
    return m.Connection.model_validate(
        {
            "id": "507f1f77bcf86cd799439011",
            "type": "GROUP_LAYER2",
            "status": status,
            "name": name,
            "speed": {"value": 200, "name": "200 Mbps"},
            "subconnections": [{"id": "5893d943878d635dde318099", "status": status, "name": name}],
            "partner": {"peering": "PROVISIONED", "serviceKey": "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"},
            "errorReason": HOSTILE,
        }
    )


def shown(reply) -> str:  # type: ignore[no-untyped-def]
    assert_valid_block_kit(reply)
    return reply.text + json.dumps(reply.blocks, ensure_ascii=False)


def test_typed_names_never_ping_link_or_open_a_code_block() -> None:
    config = m.PeeringConfig.model_validate({"peerASN": 1, "syncStatus": HOSTILE})
    replies = [
        render.connections([connection()] * 12, filters="", page=1, command_text="cc list"),
        render.connection(connection(), {"PRIVATE": config}),
        render.peering("507f1f77bcf86cd799439011", "PRIVATE", config),
    ]
    for reply in replies:
        text = shown(reply)
        assert "<!channel>" not in text and "<@U123>" not in text and "<https://evil" not in text
        assert "```" not in text


def test_a_shared_key_the_api_sends_back_is_never_shown() -> None:
    config = m.PeeringConfig.model_validate(
        {"peerASN": 65010, "sharedKey": "Sup3rSecret", "syncStatus": "SYNCED"}
    )
    text = shown(render.peering("507f1f77bcf86cd799439011", "PRIVATE", config))
    assert "Sup3rSecret" not in text and "set (never shown)" in text
    assert "Sup3rSecret" not in repr(config)


def test_a_long_list_is_paged() -> None:
    reply = render.connections([connection("c")] * 25, filters="", page=2, command_text="cc list")
    text = shown(reply)
    assert "25 connections" in text and len(reply.blocks) <= 50
