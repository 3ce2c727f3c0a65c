"""Hostile but signed requests over HTTP: malformed payloads get a 200 or 400 and one log line,
never a traceback; a huge command is refused before it is parsed and blocks nobody."""

from __future__ import annotations

import asyncio
import logging
import shlex
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from slack_bolt.async_app import AsyncApp
from slack_support import CHANNEL, USER, body_json, command_body, dispatch, post_signed

from circuitbot.chat import modals
from circuitbot.chat.grammar import MAX_LINE_CHARS
from circuitbot.slack.server import MAX_BODY_BYTES
from circuitbot.testing.fake_slack import FakeSlack
from circuitbot.testing.payloads import (
    block_action_payload,
    form_body,
    view_submission_payload,
)

URL = "http://127.0.0.1:9/response"


def click(**changes: Any) -> dict[str, Any]:
    payload = block_action_payload("test_click", "x", USER, CHANNEL, "1.2", URL, "t")
    payload.update(changes)
    return payload


def without(payload: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != key}


def submission(private_metadata: str) -> dict[str, Any]:
    return view_submission_payload(modals.CALLBACK_ID, {"port": {"value": "a"}}, USER, private_metadata)


def command_without_user_id() -> str:
    fields = [("command", "/circuit"), ("text", "help"), ("team_id", "T0SANDBOX"), ("channel_id", CHANNEL)]
    return "&".join(f"{k}={quote(v)}" for k, v in fields)


MALFORMED = {
    "payload is not JSON": "payload=" + quote("{not json"),
    "payload is a JSON list": "payload=" + quote("[1, 2]"),
    "block_actions without user": form_body(without(click(), "user")),
    "block_actions whose actions is an object": form_body(click(actions={"action_id": "test_click"})),
    "block_actions whose actions is a string": form_body(click(actions="test_click")),
    "view_submission whose metadata is a list": form_body(submission("[1, 2]")),
    "view_submission whose metadata is a string": form_body(submission('"op"')),
    "slash command without user_id": command_without_user_id(),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_signed_payload_gets_one_log_line_not_a_traceback(
    body: str, http: httpx.AsyncClient, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        response = await post_signed(http, body)

    assert response.status_code in (200, 400)
    logged = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(logged) == 1, [r.getMessage() for r in logged]
    assert logged[0].exc_info is None and logged[0].levelno == logging.WARNING
    assert [c.method for c in fake_slack.calls if c.method != "auth.test"] == []


async def test_unsigned_garbage_is_refused_as_unsigned(
    http: httpx.AsyncClient, fake_slack: FakeSlack
) -> None:
    response = await post_signed(http, "payload=" + quote("{not json"), secret="guessed")

    assert response.status_code == 401
    assert fake_slack.calls == []


# ---------------------------------------------------------------------- huge commands


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of every line the command parser tokenized."""
    lengths: list[int] = []
    split = shlex.split

    def spy(text: str, *args: Any, **kwargs: Any) -> list[str]:
        lengths.append(len(text))
        return split(text, *args, **kwargs)

    monkeypatch.setattr(shlex, "split", spy)
    return lengths


async def test_overlong_command_is_refused_before_it_is_parsed(
    bolt_app: AsyncApp, fake_slack: FakeSlack, parsed: list[int]
) -> None:
    response = await dispatch(bolt_app, command_body(fake_slack, "test move " + "ü" * MAX_LINE_CHARS))

    assert response.status == 200
    answer = body_json(response)
    assert answer["response_type"] == "ephemeral"
    assert f"the limit is {MAX_LINE_CHARS:,}" in answer["text"]
    assert parsed == []
    assert fake_slack.calls_to("views.open") == []


async def test_huge_command_is_refused_and_health_is_answered_meanwhile(
    http: httpx.AsyncClient, fake_slack: FakeSlack, parsed: list[int]
) -> None:
    near_limit = command_body(fake_slack, "help " + "x" * (MAX_BODY_BYTES - 1000))
    over_limit = command_body(fake_slack, "help " + "x" * MAX_BODY_BYTES)

    near, over, health = await asyncio.gather(
        post_signed(http, near_limit), post_signed(http, over_limit), http.get("/healthz")
    )

    assert (health.status_code, health.text) == (200, "ok")
    assert over.status_code == 413
    assert near.status_code == 200 and "the limit is 4,000" in near.json()["text"]
    assert parsed == []  # neither reached the parser
