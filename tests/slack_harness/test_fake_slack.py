"""The fake Slack must behave like Slack for the real slack_sdk / Bolt clients."""

from __future__ import annotations

import asyncio
import json
import random
import re
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import httpx
import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from circuitbot.testing.fake_slack import FakeSlack
from circuitbot.testing.payloads import (
    block_action_body,
    block_action_payload,
    signed_request_headers,
    slash_command_body,
    view_submission_body,
    view_submission_payload,
)
from support.paths import CONTRACT_DATA

PAYLOADS = CONTRACT_DATA / "slack" / "payloads"
TS_PATTERN = re.compile(r"^\d{10}\.\d{6}$")
SIGNING_SECRET = "test-signing-secret"


@pytest.fixture
def slack() -> FakeSlack:
    return FakeSlack(
        usergroups={"S0APPROVERS": ["U0ALICE", "U0BOB"]},
        users={"U0ALICE": {"real_name": "Alice Ops", "tz": "Europe/Amsterdam"}},
        archived_channels={"C0ARCHIVED"},
        unknown_channels={"C0GONE"},
    )


@pytest.fixture
async def api_url(slack: FakeSlack):
    async with slack.serve() as url:
        yield url


@pytest.fixture
def client(api_url: str) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test-token", base_url=api_url)


def decode_form_payload(body: str) -> dict[str, Any]:
    return json.loads(parse_qs(body)["payload"][0])


def assert_contains(expected: Any, actual: Any, where: str = "payload") -> None:
    """Every field of ``expected`` is in ``actual`` with the same value (extra fields allowed)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} missing"
            assert_contains(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: {actual!r}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_contains(e, a, f"{where}[{i}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


# ---------------------------------------------------------------------- Web API through AsyncWebClient


async def test_serve_yields_loopback_api_url(api_url: str, client: AsyncWebClient) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/", api_url)
    response = await client.auth_test()
    assert response["ok"] is True
    assert response["user_id"] == "U0CIRCUITBOT"
    assert response["bot_id"] == "B0CIRCUITBOT"


async def test_post_message_then_update_replaces_text_and_blocks(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*pending*"}}]
    posted = await client.chat_postMessage(channel="C0OPS", text="pending", blocks=blocks)

    assert posted["channel"] == "C0OPS"
    assert TS_PATTERN.match(posted["ts"])
    assert posted["message"]["text"] == "pending"
    assert posted["message"]["blocks"] == blocks

    new_blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*approved*"}}]
    updated = await client.chat_update(channel="C0OPS", ts=posted["ts"], text="approved", blocks=new_blocks)

    assert updated["ts"] == posted["ts"]
    assert updated["text"] == "approved"
    [message] = slack.messages("C0OPS")
    assert message["ts"] == posted["ts"]
    assert message["text"] == "approved"
    assert message["blocks"] == new_blocks
    assert "edited" in message
    assert [c.args["text"] for c in slack.calls_to("chat.update")] == ["approved"]


async def test_ts_values_are_unique_and_increasing(client: AsyncWebClient) -> None:
    stamps = [(await client.chat_postMessage(channel="C0OPS", text=f"n{i}"))["ts"] for i in range(5)]
    assert stamps[0] == "1700000000.000100"
    assert len(set(stamps)) == 5
    assert stamps == sorted(stamps, key=float)


async def test_thread_replies_are_retrievable_by_parent_ts(slack: FakeSlack, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel="C0OPS", text="circuit down")
    await client.chat_postMessage(channel="C0OTHER", text="unrelated")
    first = await client.chat_postMessage(channel="C0OPS", text="still down", thread_ts=parent["ts"])
    second = await client.chat_postMessage(channel="C0OPS", text="back up", thread_ts=parent["ts"])

    replies = slack.thread("C0OPS", parent["ts"])
    assert [r["text"] for r in replies] == ["still down", "back up"]
    assert [r["ts"] for r in replies] == [first["ts"], second["ts"]]
    assert first["message"]["thread_ts"] == parent["ts"]
    assert slack.message("C0OPS", parent["ts"])["reply_count"] == 2
    assert len(slack.messages("C0OPS")) == 3
    assert len(slack.messages()) == 4


async def test_post_ephemeral_and_delete(slack: FakeSlack, client: AsyncWebClient) -> None:
    ephemeral = await client.chat_postEphemeral(channel="C0OPS", user="U0ALICE", text="only you")
    assert TS_PATTERN.match(ephemeral["message_ts"])
    assert [e["text"] for e in slack.ephemerals("C0OPS", user="U0ALICE")] == ["only you"]
    assert slack.messages("C0OPS") == []

    posted = await client.chat_postMessage(channel="C0OPS", text="to be removed")
    deleted = await client.chat_delete(channel="C0OPS", ts=posted["ts"])
    assert deleted["ts"] == posted["ts"]
    assert slack.messages("C0OPS") == []

    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel="C0OPS", ts=posted["ts"], text="again")
    assert err.value.response["error"] == "message_not_found"


async def test_views_open_update_and_push(slack: FakeSlack, client: AsyncWebClient) -> None:
    view = {
        "type": "modal",
        "callback_id": "circuit_modify",
        "title": {"type": "plain_text", "text": "Modify circuit"},
        "blocks": [],
        "private_metadata": "azure:ckt-1",
    }
    opened = await client.views_open(trigger_id="1.2.first", view=view)
    view_id = opened["view"]["id"]
    assert view_id.startswith("V")
    assert opened["view"]["callback_id"] == "circuit_modify"
    assert opened["view"]["private_metadata"] == "azure:ckt-1"

    loaded = {**view, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "ready"}}]}
    updated = await client.views_update(view_id=view_id, hash=opened["view"]["hash"], view=loaded)
    assert updated["view"]["id"] == view_id
    assert updated["view"]["blocks"] == loaded["blocks"]
    assert slack.views[view_id]["blocks"] == loaded["blocks"]

    with pytest.raises(SlackApiError) as stale:
        await client.views_update(view_id=view_id, hash=opened["view"]["hash"], view=view)
    assert stale.value.response["error"] == "hash_conflict"

    pushed = await client.views_push(trigger_id="1.2.second", view=view)
    assert pushed["view"]["id"].startswith("V")
    assert pushed["view"]["id"] != view_id

    with pytest.raises(SlackApiError) as reused:
        await client.views_open(trigger_id="1.2.first", view=view)
    assert reused.value.response["error"] == "exchanged_trigger_id"


async def test_users_usergroups_and_conversations(slack: FakeSlack, client: AsyncWebClient) -> None:
    user = await client.users_info(user="U0ALICE")
    assert user["user"]["id"] == "U0ALICE"
    assert user["user"]["real_name"] == "Alice Ops"
    assert user["user"]["tz"] == "Europe/Amsterdam"

    members = await client.usergroups_users_list(usergroup="S0APPROVERS")
    assert members["users"] == ["U0ALICE", "U0BOB"]
    slack.usergroups["S0APPROVERS"].remove("U0BOB")
    assert (await client.usergroups_users_list(usergroup="S0APPROVERS"))["users"] == ["U0ALICE"]
    with pytest.raises(SlackApiError) as missing_group:
        await client.usergroups_users_list(usergroup="S0NOPE")
    assert missing_group.value.response["error"] == "no_such_subteam"

    info = await client.conversations_info(channel="C0OPS")
    assert info["channel"]["id"] == "C0OPS"
    assert info["channel"]["is_member"] is False
    joined = await client.conversations_join(channel="C0OPS")
    assert joined["channel"]["is_member"] is True
    assert (await client.conversations_info(channel="C0ARCHIVED"))["channel"]["is_archived"] is True


async def test_rejects_tokens_that_are_not_bot_or_user_tokens(slack: FakeSlack, api_url: str) -> None:
    app_token = AsyncWebClient(token="xapp-not-a-web-token", base_url=api_url)
    unknown = AsyncWebClient(token="not-a-token", base_url=api_url)
    with pytest.raises(SlackApiError) as refused_app_token:
        await app_token.chat_postMessage(channel="C0OPS", text="hi")
    with pytest.raises(SlackApiError) as refused_unknown:
        await unknown.chat_postMessage(channel="C0OPS", text="hi")
    # as Slack answers: an app-level token is the wrong kind here; anything else is no token at all
    assert refused_app_token.value.response["error"] == "not_allowed_token_type"
    assert refused_unknown.value.response["error"] == "invalid_auth"
    calls = slack.calls_to("chat.postMessage")
    assert [(c.ok, c.error) for c in calls] == [(False, "not_allowed_token_type"), (False, "invalid_auth")]
    assert slack.messages() == []


async def test_form_encoded_requests_work_in_process(slack: FakeSlack) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}]
    transport = httpx.ASGITransport(app=slack.app)
    async with httpx.AsyncClient(transport=transport, base_url=slack.root_url) as http:
        response = await http.post(
            "/api/chat.postMessage",
            data={
                "token": "xoxp-user-token",
                "channel": "C0OPS",
                "text": "hello",
                "blocks": json.dumps(blocks),
            },
        )
    body = response.json()
    assert body["ok"] is True
    assert slack.last("chat.postMessage").args == {"channel": "C0OPS", "text": "hello", "blocks": blocks}
    assert slack.messages("C0OPS")[0]["blocks"] == blocks


# ---------------------------------------------------------------------- recording and waiting


async def test_records_calls_with_arguments_and_clear(slack: FakeSlack, client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel="C0OPS", text="one")
    await client.users_info(user="U0BOB")

    assert [c.method for c in slack.calls] == ["chat.postMessage", "users.info"]
    assert slack.last("chat.postMessage").args == {"channel": "C0OPS", "text": "one"}
    assert slack.last("users.info").args == {"user": "U0BOB"}
    assert slack.calls[0].at <= slack.calls[1].at

    slack.clear()
    assert slack.calls == []
    assert len(slack.messages("C0OPS")) == 1
    with pytest.raises(LookupError):
        slack.last("chat.postMessage")


async def test_wait_for_returns_once_enough_calls_arrived(slack: FakeSlack, client: AsyncWebClient) -> None:
    async def post_three() -> None:
        for i in range(3):
            await client.chat_postMessage(channel="C0OPS", text=f"n{i}")

    task = asyncio.create_task(post_three())
    calls = await slack.wait_for("chat.postMessage", count=3, timeout=10)
    await task
    assert [c.args["text"] for c in calls] == ["n0", "n1", "n2"]


async def test_wait_for_times_out_when_calls_do_not_come(slack: FakeSlack) -> None:
    with pytest.raises(TimeoutError, match=r"chat\.postMessage"):
        await slack.wait_for("chat.postMessage", count=1, timeout=0.01)


# ---------------------------------------------------------------------- faults and channel rules


async def test_rate_limited_call_is_retried_by_slack_sdk_and_delivered_once(
    slack: FakeSlack, api_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The handler sleeps Retry-After plus random() seconds; pin the jitter so Retry-After 0 means no wait.
    monkeypatch.setattr(random, "random", lambda: 0.0)
    client = AsyncWebClient(
        token="xoxb-test-token", base_url=api_url, retry_handlers=[AsyncRateLimitErrorRetryHandler()]
    )
    slack.fail_next("chat.postMessage", status=429, retry_after=0)

    response = await client.chat_postMessage(channel="C0OPS", text="state changed")

    assert response["ok"] is True
    attempts = slack.calls_to("chat.postMessage")
    assert [(c.ok, c.status, c.error) for c in attempts] == [(False, 429, "ratelimited"), (True, 200, None)]
    assert [m["text"] for m in slack.messages("C0OPS")] == ["state changed"]


async def test_rate_limit_answer_carries_retry_after(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.fail_next("chat.update", status=429, retry_after=7, count=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            await client.chat_update(channel="C0OPS", ts="1.2", text="x")
        assert err.value.response.status_code == 429
        assert err.value.response.headers["Retry-After"] == "7"
        assert err.value.response["error"] == "ratelimited"
    # the third call reaches the model again
    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel="C0OPS", ts="1.2", text="x")
    assert err.value.response["error"] == "message_not_found"


async def test_server_error_is_recorded_as_failed(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.fail_next("chat.postMessage", status=500)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C0OPS", text="lost?")
    assert err.value.response.status_code == 500
    [call] = slack.calls_to("chat.postMessage")
    assert (call.ok, call.status) == (False, 500)
    assert slack.calls_to("chat.postMessage", ok=True) == []
    assert slack.messages() == []


async def test_injected_slack_error_then_success(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.fail_next("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C0OPS", text="first")
    assert err.value.response.status_code == 200
    assert err.value.response["error"] == "channel_not_found"

    await client.chat_postMessage(channel="C0OPS", text="second")
    assert [m["text"] for m in slack.messages("C0OPS")] == ["second"]
    assert [c.ok for c in slack.calls_to("chat.postMessage")] == [False, True]


@pytest.mark.parametrize(
    ("channel", "error"), [("C0GONE", "channel_not_found"), ("C0ARCHIVED", "is_archived")]
)
async def test_channel_rules(slack: FakeSlack, client: AsyncWebClient, channel: str, error: str) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel=channel, text="hello")
    assert err.value.response["error"] == error
    assert slack.messages(channel) == []
    assert slack.last("chat.postMessage").error == error


# ---------------------------------------------------------------------- response_url


async def test_response_url_replace_original_edits_the_message(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C0OPS", text="Approve?")
    url = slack.response_url(channel="C0OPS", message_ts=posted["ts"], user="U0ALICE")
    assert url.startswith(slack.root_url + "/response/")

    webhook = AsyncWebhookClient(url)
    answer = await webhook.send(text="Approved by Alice", replace_original=True)

    assert answer.status_code == 200
    [response] = slack.responses()
    assert response.args == {"text": "Approved by Alice", "replace_original": True}
    assert response.response_token == url.rsplit("/", 1)[1]
    assert [m["text"] for m in slack.messages("C0OPS")] == ["Approved by Alice"]


async def test_response_url_ephemeral_and_in_channel(slack: FakeSlack, client: AsyncWebClient) -> None:
    url = slack.response_url(channel="C0OPS", user="U0BOB")
    await AsyncWebhookClient(url).send(text="working…")
    await AsyncWebhookClient(url).send(text="done", response_type="in_channel")

    assert [e["text"] for e in slack.ephemerals("C0OPS", user="U0BOB")] == ["working…"]
    assert [m["text"] for m in slack.messages("C0OPS")] == ["done"]
    assert len(slack.responses(url.rsplit("/", 1)[1])) == 2


# ---------------------------------------------------------------------- what Slack sends to the bot


def test_signed_headers_verify_with_slack_sdk() -> None:
    body = slash_command_body("help", "U0ALICE", "C0OPS", "https://example.test/r", "1.2.3")
    headers = signed_request_headers(SIGNING_SECRET, body)

    verifier = SignatureVerifier(SIGNING_SECRET)
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body.replace("help", "halp"), headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)


def test_signed_headers_with_fixed_timestamp() -> None:
    headers = signed_request_headers(SIGNING_SECRET, "a=b", timestamp=1_700_000_000)
    assert headers["x-slack-request-timestamp"] == "1700000000"
    expected = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp="1700000000", body="a=b")
    assert headers["x-slack-signature"] == expected


def test_slash_command_body_matches_captured_payload_exactly() -> None:
    captured = (PAYLOADS / "opsdroid.payload_slash_command.urlencoded").read_text().strip()
    fields = dict(parse_qsl(captured, keep_blank_values=True))

    built = slash_command_body(
        fields["text"],
        fields["user_id"],
        fields["channel_id"],
        fields["response_url"],
        fields["trigger_id"],
        command=fields["command"],
        team_id=fields["team_id"],
        team_domain=fields["team_domain"],
        channel_name=fields["channel_name"],
        user_name=fields["user_name"],
        api_app_id=fields["api_app_id"],
        token=fields["token"],
    )
    assert parse_qsl(built, keep_blank_values=True) == parse_qsl(captured, keep_blank_values=True)


def test_slash_command_body_keeps_enterprise_fields() -> None:
    captured = dict(parse_qsl((PAYLOADS / "slash_command.form-urlencoded.txt").read_text().strip()))
    built = slash_command_body(
        captured["text"],
        captured["user_id"],
        captured["channel_id"],
        captured["response_url"],
        captured["trigger_id"],
        command=captured["command"],
        team_id=captured["team_id"],
        team_domain=captured["team_domain"],
        channel_name=captured["channel_name"],
        user_name=captured["user_name"],
        enterprise_id=captured["enterprise_id"],
        enterprise_name=captured["enterprise_name"],
    )
    assert_contains(captured, dict(parse_qsl(built)))


def test_block_action_body_matches_button_payload() -> None:
    captured = json.loads((PAYLOADS / "block_actions.button.json").read_text())
    action = captured["actions"][0]
    built = decode_form_payload(
        block_action_body(
            action["action_id"],
            action["value"],
            captured["user"]["id"],
            captured["container"]["channel_id"],
            captured["container"]["message_ts"],
            captured["response_url"],
            captured["trigger_id"],
            block_id=action["block_id"],
            text=action["text"]["text"],
            is_ephemeral=captured["container"]["is_ephemeral"],
            action_ts=action["action_ts"],
            team_id=captured["team"]["id"],
            team_domain=captured["team"]["domain"],
            enterprise_id=captured["team"]["enterprise_id"],
            enterprise_name=captured["team"]["enterprise_name"],
            channel_name=captured["channel"]["name"],
            user_name=captured["user"]["name"],
            api_app_id=captured["api_app_id"],
        )
    )
    assert_contains(captured, built)


def test_block_action_payload_matches_captured_static_select() -> None:
    captured = decode_form_payload(
        (PAYLOADS / "opsdroid.payload_block_action_static_select.urlencoded").read_text().strip()
    )
    action = captured["actions"][0]
    built = block_action_payload(
        action["action_id"],
        action["selected_option"]["value"],
        captured["user"]["id"],
        captured["container"]["channel_id"],
        captured["container"]["message_ts"],
        captured["response_url"],
        captured["trigger_id"],
        block_id=action["block_id"],
        action_type=action["type"],
        text=action["selected_option"]["text"]["text"],
        message=captured["message"],
        state_values=captured["state"]["values"],
        action_ts=action["action_ts"],
        team_id=captured["team"]["id"],
        team_domain=captured["team"]["domain"],
        channel_name=captured["channel"]["name"],
        user_name=captured["user"]["name"],
        api_app_id=captured["api_app_id"],
        token=captured["token"],
    )
    assert set(built) == set(captured)
    # a select action carries its placeholder too; everything else must match field for field
    assert_contains({k: v for k, v in action.items() if k != "placeholder"}, built["actions"][0])
    assert_contains({k: v for k, v in captured.items() if k != "actions"}, built)


def test_view_submission_body_matches_modal_payload() -> None:
    captured = json.loads((PAYLOADS / "view_submission.modal.json").read_text())
    view = captured["view"]
    built = decode_form_payload(
        view_submission_body(
            view["callback_id"],
            view["state"]["values"],
            captured["user"]["id"],
            view["private_metadata"],
            view_id=view["id"],
            blocks=view["blocks"],
            title=view["title"]["text"],
            trigger_id=captured["trigger_id"],
            view_hash=view["hash"],
            team_id=captured["team"]["id"],
            team_domain=captured["team"]["domain"],
            enterprise_id=captured["team"]["enterprise_id"],
            enterprise_name=captured["team"]["enterprise_name"],
            user_name=captured["user"]["name"],
            api_app_id=captured["api_app_id"],
            bot_id=view["bot_id"],
        )
    )
    assert_contains(captured, built)


def test_view_submission_values_accept_plain_strings() -> None:
    payload = view_submission_payload("circuit_modify", {"bandwidth": {"mbps": "1000"}}, "U0ALICE", "eqx:c-1")
    assert payload["view"]["state"]["values"] == {
        "bandwidth": {"mbps": {"type": "plain_text_input", "value": "1000"}}
    }
    [block] = payload["view"]["blocks"]
    assert (block["block_id"], block["element"]["action_id"]) == ("bandwidth", "mbps")


# ---------------------------------------------------------------------- Bolt accepts what the builders make


@pytest.fixture
def bolt_app(client: AsyncWebClient) -> AsyncApp:
    return AsyncApp(client=client, signing_secret=SIGNING_SECRET)


async def dispatch(app: AsyncApp, body: str) -> int:
    response = await app.async_dispatch(
        AsyncBoltRequest(body=body, headers=signed_request_headers(SIGNING_SECRET, body))
    )
    return response.status


async def test_bolt_runs_a_slash_command_and_its_respond_reaches_the_fake(
    slack: FakeSlack, bolt_app: AsyncApp
) -> None:
    @bolt_app.command("/circuit")
    async def handle(ack, command, respond) -> None:
        await ack()
        await respond(text=f"you said {command['text']}")

    url = slack.response_url(channel="C0OPS", user="U0ALICE")
    body = slash_command_body("show azure ckt-1", "U0ALICE", "C0OPS", url, "1.2.3")
    assert await dispatch(bolt_app, body) == 200

    [response] = await slack.wait_for("response_url", timeout=10)
    assert response.args["text"] == "you said show azure ckt-1"


async def test_bolt_rejects_a_badly_signed_request(bolt_app: AsyncApp) -> None:
    body = slash_command_body("help", "U0ALICE", "C0OPS", "https://example.test/r", "1.2.3")
    headers = signed_request_headers("wrong-secret", body)
    response = await bolt_app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    assert response.status == 401


async def test_bolt_routes_block_actions_and_view_submissions(
    slack: FakeSlack, client: AsyncWebClient, bolt_app: AsyncApp
) -> None:
    seen: list[tuple[str, Any]] = []

    @bolt_app.action("approve")
    async def on_approve(ack, body, client) -> None:
        seen.append(("approve", body["actions"][0]["value"]))
        await ack()
        await client.chat_update(channel=body["channel"]["id"], ts=body["container"]["message_ts"], text="ok")

    @bolt_app.view("circuit_modify")
    async def on_submit(ack, view) -> None:
        seen.append(("submit", view["state"]["values"]["bandwidth"]["mbps"]["value"]))
        await ack()

    posted = (await client.chat_postMessage(channel="C0OPS", text="Approve?"))["ts"]
    url = slack.response_url(channel="C0OPS", message_ts=posted)
    action = block_action_body("approve", "req-42", "U0BOB", "C0OPS", posted, url, "1.2.4")
    assert await dispatch(bolt_app, action) == 200
    await slack.wait_for("chat.update", timeout=10)

    submission = view_submission_body("circuit_modify", {"bandwidth": {"mbps": "1000"}}, "U0ALICE", "eqx:c-1")
    assert await dispatch(bolt_app, submission) == 200

    assert seen == [("approve", "req-42"), ("submit", "1000")]
    assert slack.message("C0OPS", posted)["text"] == "ok"
