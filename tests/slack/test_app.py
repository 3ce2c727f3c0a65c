"""The real Bolt app, driven by signed requests through ``async_dispatch``, against the fake Slack."""

from __future__ import annotations

import json
import logging
import re

from slack_bolt.async_app import AsyncApp
from slack_support import (
    ADMIN,
    CHANNEL,
    PORTS,
    USER,
    FakeProvider,
    SteadyPoller,
    body_json,
    command_body,
    dispatch,
)

from circuitbot import metrics
from circuitbot.chat import modals
from circuitbot.chat.reply import Reply
from circuitbot.runtime import Runtime
from circuitbot.slack.app import BackgroundWork
from circuitbot.slack.surface import SlackSurface
from circuitbot.testing.fake_slack import FakeSlack
from circuitbot.testing.payloads import block_action_body, view_submission_body
from support.approvals import FakeApprovals


async def open_move_form(bolt_app: AsyncApp, fake_slack: FakeSlack, text: str = "test move") -> str:
    """Open the test.move form as a person would; returns its private_metadata."""
    await dispatch(bolt_app, command_body(fake_slack, text))
    [opened] = await fake_slack.wait_for("views.open")
    await fake_slack.wait_for("views.update")
    fake_slack.clear()
    return opened.args["view"]["private_metadata"]


# ---------------------------------------------------------------------- slash command


async def test_help_acks_with_every_verb(bolt_app: AsyncApp, fake_slack: FakeSlack, runtime: Runtime) -> None:
    response = await dispatch(bolt_app, command_body(fake_slack, "help"))

    assert response.status == 200
    body = body_json(response)
    assert body["response_type"] == "ephemeral"
    # every verb is in the blocks; the notification text is clipped at Slack's 3,000 characters
    shown = json.dumps(body["blocks"], ensure_ascii=False)
    for op in runtime.registry:
        words = f"{op.provider} {op.verb}" if op.provider else op.verb
        if op.verb != "secret":  # admin-only: hidden from a requester's help
            assert f"`{words}`" in shown, words
    assert "`test secret`" not in shown
    assert body["blocks"], "help is Block Kit, not only text"
    assert fake_slack.calls_to("response_url") == []


async def test_unknown_verb_acks_with_error_and_usage(bolt_app: AsyncApp, fake_slack: FakeSlack) -> None:
    response = await dispatch(bolt_app, command_body(fake_slack, "bogus"))

    assert response.status == 200
    text = body_json(response)["text"]
    assert "unknown command `bogus`" in text
    assert "Usage: `/circuit help [topic]`" in text


async def test_slow_read_acks_working_then_replies_through_response_url(
    bolt_app: AsyncApp, fake_slack: FakeSlack, provider: FakeProvider, work: BackgroundWork
) -> None:
    response = await dispatch(bolt_app, command_body(fake_slack, "test slow"))

    # Slack has its answer while the operation is still waiting on its provider.
    assert response.status == 200
    assert "working on `test slow`" in body_json(response)["text"]
    await provider.slow_started.wait()
    assert len(work) == 1
    assert fake_slack.calls_to("response_url") == []

    provider.gate.set()
    [reply] = await fake_slack.wait_for("response_url")
    assert reply.args["text"] == "slow result is in"
    assert reply.args["response_type"] == "ephemeral"
    assert reply.args["replace_original"] is False
    assert [e["text"] for e in fake_slack.ephemerals(CHANNEL, USER)] == ["slow result is in"]


async def test_reply_falls_back_to_post_ephemeral_when_response_url_fails(
    bolt_app: AsyncApp, fake_slack: FakeSlack, provider: FakeProvider
) -> None:
    fake_slack.fail_next("response_url", status=404)
    provider.gate.set()

    await dispatch(bolt_app, command_body(fake_slack, "test slow"))

    [posted] = await fake_slack.wait_for("chat.postEphemeral")
    assert posted.args["channel"] == CHANNEL and posted.args["user"] == USER
    assert posted.args["text"] == "slow result is in"
    assert [c.ok for c in fake_slack.calls_to("response_url")] == [False]


async def test_in_channel_reply_without_response_url_is_posted_for_everyone(
    bolt_app: AsyncApp, fake_slack: FakeSlack
) -> None:
    surface = SlackSurface(bolt_app.client, user_id=USER, channel_id=CHANNEL)
    await surface.reply(Reply.plain("for the whole channel", ephemeral=False))

    [message] = fake_slack.messages(CHANNEL)
    assert message["text"] == "for the whole channel"
    assert fake_slack.calls_to("chat.postEphemeral") == []


# ---------------------------------------------------------------------- modals


async def test_mutating_op_without_params_opens_modal_then_fills_choices(
    bolt_app: AsyncApp, fake_slack: FakeSlack
) -> None:
    response = await dispatch(bolt_app, command_body(fake_slack, "test move", trigger_id="trigger-move"))

    assert response.status == 200
    assert response.body == ""  # an empty ack: the modal is the answer
    [opened] = await fake_slack.wait_for("views.open")
    [updated] = await fake_slack.wait_for("views.update")
    assert opened.args["trigger_id"] == "trigger-move"
    assert opened.args["view"]["callback_id"] == modals.CALLBACK_ID
    assert "loading choices" in json.dumps(opened.args["view"]["blocks"])
    [view_id] = list(fake_slack.views)
    assert updated.args["view_id"] == view_id
    port_block = next(b for b in updated.args["view"]["blocks"] if b.get("block_id") == "port")
    assert port_block["element"]["type"] == "static_select"
    assert [o["value"] for o in port_block["element"]["options"]] == [value for _, value in PORTS]
    assert "loading choices" not in json.dumps(updated.args["view"]["blocks"])


async def test_bad_submission_answers_with_inline_errors(
    bolt_app: AsyncApp, fake_slack: FakeSlack, runtime: Runtime
) -> None:
    runtime.approvals = FakeApprovals()
    body = view_submission_body(
        modals.CALLBACK_ID,
        {
            "port": {"value": {"type": "static_select", "selected_option": {"value": "port-a"}}},
            "vlan": {"value": {"type": "number_input", "value": "5000"}},
        },
        USER,
        private_metadata=await open_move_form(bolt_app, fake_slack),
    )

    response = await dispatch(bolt_app, body)

    assert response.status == 200
    answer = body_json(response)
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"vlan"}
    assert "4094" in answer["errors"]["vlan"]
    assert runtime.approvals.submitted == []


async def test_good_submission_is_requested_and_answered_in_its_channel(
    bolt_app: AsyncApp, fake_slack: FakeSlack, runtime: Runtime
) -> None:
    runtime.approvals = approvals = FakeApprovals()
    body = view_submission_body(
        modals.CALLBACK_ID,
        {
            "port": {"value": {"type": "static_select", "selected_option": {"value": "port-b"}}},
            "vlan": {"value": {"type": "number_input", "value": "300"}},
        },
        USER,
        private_metadata=await open_move_form(bolt_app, fake_slack),
    )

    response = await dispatch(bolt_app, body)

    assert response.status == 200 and response.body == ""  # closes the modal
    [posted] = await fake_slack.wait_for("chat.postEphemeral")
    assert posted.args["channel"] == CHANNEL and posted.args["user"] == USER
    assert posted.args["text"] == "request for test.move created"
    [(who, name, params)] = approvals.submitted
    assert (name, params.port, params.vlan, who) == ("test.move", "port-b", 300, USER)


# ---------------------------------------------------------------------- buttons


async def test_button_click_reaches_its_registered_handler(
    bolt_app: AsyncApp, fake_slack: FakeSlack, provider: FakeProvider
) -> None:
    url = fake_slack.response_url(channel=CHANNEL, message_ts="1700000000.000100", user=USER)
    body = block_action_body(
        "test_click:approve", "req-42", USER, CHANNEL, "1700000000.000100", url, "trigger-click"
    )

    response = await dispatch(bolt_app, body)

    assert response.status == 200 and response.body == ""
    [reply] = await fake_slack.wait_for("response_url")
    assert reply.args["text"] == "clicked req-42"
    [(who, interaction)] = provider.clicks
    assert who == USER
    assert interaction.action_id == "test_click:approve"
    assert interaction.value == "req-42"
    assert (interaction.channel_id, interaction.message_ts) == (CHANNEL, "1700000000.000100")
    assert interaction.trigger_id == "trigger-click"


async def test_select_choice_is_the_interaction_value(
    bolt_app: AsyncApp, fake_slack: FakeSlack, provider: FakeProvider
) -> None:
    url = fake_slack.response_url(channel=CHANNEL, user=USER)
    body = block_action_body(
        "test_click", "port-b", USER, CHANNEL, "1700000000.000200", url, "t", action_type="static_select"
    )

    await dispatch(bolt_app, body)

    await fake_slack.wait_for("response_url")
    assert [i.value for _, i in provider.clicks] == ["port-b"]


async def test_page_turn_reruns_the_command_and_replaces_the_message(
    bolt_app: AsyncApp, fake_slack: FakeSlack
) -> None:
    # The page-1 message as the bot posted it, with its Next button.
    first = await dispatch(bolt_app, command_body(fake_slack, "test pages"))
    assert first.status == 200
    page_one = await fake_slack.wait_for("response_url")
    assert page_one[0].args["text"].startswith("page 1 of 3")
    posted = await bolt_app.client.chat_postMessage(
        channel=CHANNEL, text=page_one[0].args["text"], blocks=page_one[0].args["blocks"]
    )
    ts = posted["ts"]
    next_button = page_one[0].args["blocks"][-1]["elements"][-1]
    assert next_button["action_id"] == "circuit_page:next"

    url = fake_slack.response_url(channel=CHANNEL, message_ts=ts, user=USER)
    body = block_action_body(next_button["action_id"], next_button["value"], USER, CHANNEL, ts, url, "t2")
    response = await dispatch(bolt_app, body)

    assert response.status == 200
    calls = await fake_slack.wait_for("response_url", 2)
    assert calls[1].args["replace_original"] is True
    message = fake_slack.message(CHANNEL, ts)
    assert message is not None and message["text"].startswith("page 2 of 3: row-11")
    assert len(fake_slack.messages(CHANNEL)) == 1


async def test_unknown_button_is_answered_not_dropped(bolt_app: AsyncApp, fake_slack: FakeSlack) -> None:
    url = fake_slack.response_url(channel=CHANNEL, user=USER)
    await dispatch(bolt_app, block_action_body("nobody_handles_this", "x", USER, CHANNEL, "1.2", url, "t"))

    [reply] = await fake_slack.wait_for("response_url")
    assert "no longer handled" in reply.args["text"]


# ---------------------------------------------------------------------- roles and failures


async def test_roles_come_from_user_groups(bolt_app: AsyncApp, fake_slack: FakeSlack) -> None:
    await dispatch(bolt_app, command_body(fake_slack, "test secret", user=ADMIN))
    await dispatch(bolt_app, command_body(fake_slack, "test secret", user=USER))

    await fake_slack.wait_for("response_url", 2)
    assert [e["text"] for e in fake_slack.ephemerals(CHANNEL, ADMIN)] == ["the admin-only answer"]
    [refused] = fake_slack.ephemerals(CHANNEL, USER)
    assert "`test.secret` needs the admin role" in refused["text"]
    assert [c.args["usergroup"] for c in fake_slack.calls_to("usergroups.users.list")] == ["S0ADMINS"]


async def test_failure_after_the_ack_is_logged_and_told_to_the_user(
    bolt_app: AsyncApp, fake_slack: FakeSlack, caplog
) -> None:
    fake_slack.fail_next("views.open", error="invalid_arguments")
    counted = metrics.REGISTRY.get_sample_value
    labels = {"method": "views.open", "error": "invalid_arguments"}
    before = counted("circuitbot_slack_errors_total", labels) or 0.0

    with caplog.at_level(logging.ERROR, logger="circuitbot.slack.app"):
        response = await dispatch(bolt_app, command_body(fake_slack, "test move"))
        assert response.status == 200
        [reply] = await fake_slack.wait_for("response_url")

    match = re.search(r"something went wrong \(error id ([0-9a-f]{8})\)", reply.args["text"])
    assert match, reply.args["text"]
    logged = [r for r in caplog.records if match.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info is not None
    assert fake_slack.calls_to("views.update") == []
    assert counted("circuitbot_slack_errors_total", labels) == before + 1


# ---------------------------------------------------------------------- watch channels


async def test_watch_in_a_channel_slack_does_not_let_the_bot_post_in_is_refused(
    bolt_app: AsyncApp, fake_slack: FakeSlack, runtime: Runtime
) -> None:
    fake_slack.unknown_channels.add("C0GONE")
    fake_slack.private_channels.add("C0SECRET")

    for channel in ("C0GONE", "C0SECRET"):
        await dispatch(bolt_app, command_body(fake_slack, f"watch azure xc1 <#{channel}|{channel.lower()}>"))
    replies = await fake_slack.wait_for("response_url", count=2)

    texts = sorted(r.args["text"] for r in replies)
    assert texts[0].startswith(":warning: I can't post in <#C0GONE>: channel_not_found")
    assert texts[1].startswith(":warning: I can't post in <#C0SECRET>: channel_not_found")
    assert all("/invite @circuitbot" in text for text in texts)
    assert {c.args["channel"] for c in fake_slack.calls_to("conversations.info")} == {"C0GONE", "C0SECRET"}
    assert await runtime.watches.list_watches() == []
    assert fake_slack.calls_to("chat.postMessage") == []


async def test_watch_goes_ahead_in_a_public_channel_and_when_slack_cannot_answer_the_check(
    bolt_app: AsyncApp, fake_slack: FakeSlack, runtime: Runtime
) -> None:
    runtime.pollers = {"azure": SteadyPoller()}
    fake_slack.fail_next("conversations.info", error="internal_error")

    await dispatch(bolt_app, command_body(fake_slack, "watch azure xc1 <#C0DOWN|down>"))
    await dispatch(bolt_app, command_body(fake_slack, "watch azure xc1 <#C0PUBLIC|public>"))
    replies = await fake_slack.wait_for("response_url", count=2)

    assert all("Watching azure" in r.args["text"] for r in replies), [r.args["text"] for r in replies]
    assert sorted(w.channel for w in await runtime.watches.list_watches()) == ["C0DOWN", "C0PUBLIC"]
    assert len(fake_slack.calls_to("conversations.info", ok=False)) == 1, "one check could not be answered"
