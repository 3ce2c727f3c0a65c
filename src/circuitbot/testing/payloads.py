"""What Slack sends to the bot: signed slash commands, block actions and view submissions.

The builders are shaped on the captured payloads in ``tests/contracts/data/slack/payloads/``, and
``signed_request_headers`` signs them with slack_sdk's own signer, so Bolt verifies them as it
would a real request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from circuitbot.testing.workspace import APP_ID, BOT_ID, TEAM_DOMAIN, TEAM_ID


def signed_request_headers(
    signing_secret: str,
    body: str,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """Headers Slack puts on a request to the bot, signed with slack_sdk's own signer.

    ``timestamp`` defaults to the wall clock, because Bolt rejects requests more than five
    minutes away from its own ``time.time()``.
    """
    ts = int(time.time()) if timestamp is None else timestamp
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=str(ts), body=body)
    assert signature is not None  # slack_sdk answers None only when given no timestamp or body
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": str(ts),
        "x-slack-signature": signature,
    }


def form_body(payload: Mapping[str, Any]) -> str:
    """An interactive payload as Slack posts it over HTTP: ``payload=<url-encoded JSON>``."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


def slash_command_body(
    text: str,
    user_id: str,
    channel_id: str,
    response_url: str,
    trigger_id: str,
    command: str = "/circuit",
    team_id: str = TEAM_ID,
    *,
    team_domain: str = TEAM_DOMAIN,
    channel_name: str | None = None,
    user_name: str | None = None,
    api_app_id: str = APP_ID,
    enterprise_id: str | None = None,
    enterprise_name: str | None = None,
    is_enterprise_install: bool = False,
    token: str = "verification_token",
) -> str:
    """The form-urlencoded body of a slash command, fields in the order Slack sends them."""
    fields: list[tuple[str, str]] = [
        ("token", token),
        ("team_id", team_id),
        ("team_domain", team_domain),
    ]
    if enterprise_id is not None:
        fields += [("enterprise_id", enterprise_id), ("enterprise_name", enterprise_name or "")]
    fields += [
        ("channel_id", channel_id),
        ("channel_name", channel_name or channel_id.lower()),
        ("user_id", user_id),
        ("user_name", user_name or user_id.lower()),
        ("command", command),
        ("text", text),
        ("api_app_id", api_app_id),
        ("is_enterprise_install", "true" if is_enterprise_install else "false"),
        ("response_url", response_url),
        ("trigger_id", trigger_id),
    ]
    return urlencode(fields)


def _team(team_id: str, team_domain: str, enterprise_id: str | None, enterprise_name: str | None) -> dict:
    team: dict[str, Any] = {"id": team_id, "domain": team_domain}
    if enterprise_id is not None:
        team |= {"enterprise_id": enterprise_id, "enterprise_name": enterprise_name or ""}
    return team


def _enterprise(enterprise_id: str | None, enterprise_name: str | None) -> dict[str, str] | None:
    return None if enterprise_id is None else {"id": enterprise_id, "name": enterprise_name or ""}


def _user(user_id: str, user_name: str | None, team_id: str) -> dict[str, str]:
    name = user_name or user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def block_action_payload(
    action_id: str,
    value: str,
    user_id: str,
    channel_id: str,
    message_ts: str,
    response_url: str,
    trigger_id: str,
    block_id: str = "circuitbot",
    *,
    action_type: str = "button",
    text: str = "Button",
    message: Mapping[str, Any] | None = None,
    state_values: Mapping[str, Any] | None = None,
    is_ephemeral: bool = False,
    action_ts: str | None = None,
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    channel_name: str | None = None,
    user_name: str | None = None,
    api_app_id: str = APP_ID,
    enterprise_id: str | None = None,
    enterprise_name: str | None = None,
    token: str = "verification_token",
) -> dict[str, Any]:
    """A ``block_actions`` payload for a click on a button (or a choice in a static/external select).

    ``message`` is the message holding the button; Slack sends it for non-ephemeral messages.
    """
    action: dict[str, Any] = {"type": action_type, "action_id": action_id, "block_id": block_id}
    label = {"type": "plain_text", "text": text, "emoji": True}
    if action_type == "button":
        action |= {"text": label, "value": value}
    else:
        action["selected_option"] = {"text": label, "value": value}
    action["action_ts"] = action_ts or f"{time.time():.6f}"
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": token,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        },
        "trigger_id": trigger_id,
        "team": _team(team_id, team_domain, enterprise_id, enterprise_name),
        "enterprise": _enterprise(enterprise_id, enterprise_name),
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name or channel_id.lower()},
    }
    if message is not None:
        payload["message"] = dict(message)
    payload["state"] = {"values": dict(state_values or {})}
    payload["response_url"] = response_url
    payload["actions"] = [action]
    return payload


def block_action_body(
    action_id: str,
    value: str,
    user_id: str,
    channel_id: str,
    message_ts: str,
    response_url: str,
    trigger_id: str,
    block_id: str = "circuitbot",
    **options: Any,
) -> str:
    """``block_action_payload`` encoded as Slack posts it (``payload=<url-encoded JSON>``)."""
    return form_body(
        block_action_payload(
            action_id, value, user_id, channel_id, message_ts, response_url, trigger_id, block_id, **options
        )
    )


def home_action_body(
    action_id: str,
    value: str,
    user_id: str,
    view: Mapping[str, Any],
    trigger_id: str,
    block_id: str = "circuitbot",
    *,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
) -> str:
    """A click on a button of a Home tab: the container is the view, and Slack sends neither a
    channel nor a response_url with it."""
    action = {
        "type": "button",
        "action_id": action_id,
        "block_id": block_id,
        "text": {"type": "plain_text", "text": "Button", "emoji": True},
        "value": value,
        "action_ts": f"{time.time():.6f}",
    }
    payload = {
        "type": "block_actions",
        "user": _user(user_id, None, team_id),
        "api_app_id": api_app_id,
        "token": "verification_token",
        "container": {"type": "view", "view_id": view.get("id", "")},
        "trigger_id": trigger_id,
        "team": _team(team_id, TEAM_DOMAIN, None, None),
        "enterprise": None,
        "is_enterprise_install": False,
        "view": dict(view),
        "actions": [action],
    }
    return form_body(payload)


def _state_values(values: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Accept Slack's ``state.values`` shape; a bare string stands for a plain_text_input value."""
    return {
        block_id: {
            action_id: {"type": "plain_text_input", "value": entry} if isinstance(entry, str) else dict(entry)
            for action_id, entry in actions.items()
        }
        for block_id, actions in values.items()
    }


def _input_blocks(values: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "type": "input",
            "block_id": block_id,
            "label": {"type": "plain_text", "text": block_id},
            "optional": False,
            "element": {"type": entry.get("type", "plain_text_input"), "action_id": action_id},
        }
        for block_id, actions in values.items()
        for action_id, entry in actions.items()
    ]


def view_submission_payload(
    callback_id: str,
    values: Mapping[str, Mapping[str, Any]],
    user_id: str,
    private_metadata: str = "",
    view_id: str = "V0000000001",
    *,
    blocks: list[dict[str, Any]] | None = None,
    title: str = "circuitbot",
    trigger_id: str = "1700000000.1.sandbox",
    view_hash: str = "1700000000.00000001",
    external_id: str = "",
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    user_name: str | None = None,
    api_app_id: str = APP_ID,
    bot_id: str = BOT_ID,
    enterprise_id: str | None = None,
    enterprise_name: str | None = None,
    token: str = "verification_token",
) -> dict[str, Any]:
    """A ``view_submission`` payload.

    ``values`` is the modal's ``state.values`` (``{block_id: {action_id: {"type", "value"…}}}``);
    a plain string in place of the inner dict means a plain_text_input holding that text. Without
    ``blocks`` one input block per value is made up.
    """
    state = _state_values(values)
    return {
        "type": "view_submission",
        "team": _team(team_id, team_domain, enterprise_id, enterprise_name),
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": token,
        "trigger_id": trigger_id,
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": blocks if blocks is not None else _input_blocks(state),
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": state},
            "hash": view_hash,
            "title": {"type": "plain_text", "text": title},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": {"type": "plain_text", "text": "Cancel"},
            "submit": {"type": "plain_text", "text": "Submit"},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": api_app_id,
            "external_id": external_id,
            "app_installed_team_id": team_id,
            "bot_id": bot_id,
        },
        "response_urls": [],
        "enterprise": _enterprise(enterprise_id, enterprise_name),
        "is_enterprise_install": False,
    }


def view_submission_body(
    callback_id: str,
    values: Mapping[str, Mapping[str, Any]],
    user_id: str,
    private_metadata: str = "",
    view_id: str = "V0000000001",
    **options: Any,
) -> str:
    """``view_submission_payload`` encoded as Slack posts it (``payload=<url-encoded JSON>``)."""
    return form_body(
        view_submission_payload(callback_id, values, user_id, private_metadata, view_id, **options)
    )


def app_home_opened_body(
    user_id: str, *, tab: str = "home", team_id: str = TEAM_ID, api_app_id: str = APP_ID
) -> str:
    """The Events API envelope of ``app_home_opened`` (a JSON body), as Slack's event reference
    shows it: the user, their App Home channel and the tab they opened."""
    now = int(time.time())
    return json.dumps(
        {
            "token": "verification-token-unused",
            "team_id": team_id,
            "api_app_id": api_app_id,
            "event": {
                "type": "app_home_opened",
                "user": user_id,
                "channel": f"D{user_id.removeprefix('U')}",
                "tab": tab,
                "event_ts": f"{now}.000100",
            },
            "type": "event_callback",
            "event_id": f"Ev{now}{user_id}",
            "event_time": now,
        },
        separators=(",", ":"),
    )
