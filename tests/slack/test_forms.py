"""Generated modals through the real Bolt app: opened before the roles are looked up (the
trigger_id lives 3 s), an expired trigger told plainly, and a form of any length kept whole."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from slack_bolt.async_app import AsyncApp
from slack_support import CHANNEL, USER, command_body, dispatch

from circuitbot.actions.registry import OpContext, Operation, Params
from circuitbot.chat import modals
from circuitbot.chat.reply import Reply
from circuitbot.clock import FakeClock
from circuitbot.runtime import Runtime
from circuitbot.settings import Settings
from circuitbot.store.tables import FormState
from circuitbot.testing.fake_slack import FakeSlack
from circuitbot.testing.payloads import view_submission_body
from support.approvals import FakeApprovals


class RecordingApprovals(FakeApprovals):
    """FakeApprovals that also keeps the command line each request was made with."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    async def submit(self, ctx: OpContext, op: Operation, params: Params) -> Reply:
        self.lines.append(ctx.command_text)
        return await super().submit(ctx, op, params)


def vlan_submission(private_metadata: str) -> str:
    values: dict[str, Any] = {
        "port": {"value": {"type": "static_select", "selected_option": {"value": "port-a"}}},
        "vlan": {"value": {"type": "number_input", "value": "300"}},
    }
    return view_submission_body(modals.CALLBACK_ID, values, USER, private_metadata=private_metadata)


# ---------------------------------------------------------------------- the 3 s trigger_id


async def test_form_opens_before_the_user_group_lookup_answers(
    bolt_app: AsyncApp, fake_slack: FakeSlack, runtime: Runtime
) -> None:
    answer = asyncio.Event()
    asked: list[str] = []

    async def slow_members(group: str) -> set[str]:
        asked.append(group)
        await answer.wait()
        return set()

    runtime.roles.group_members = slow_members

    await dispatch(bolt_app, command_body(fake_slack, "test move"))

    await fake_slack.wait_for("views.open")
    assert asked and not answer.is_set()  # the look-up is still waiting: the form did not
    answer.set()
    [filled] = await fake_slack.wait_for("views.update")
    assert "port-a" in json.dumps(filled.args["view"]["blocks"])


async def test_expired_trigger_asks_to_run_the_command_again(
    bolt_app: AsyncApp, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    fake_slack.fail_next("views.open", error="expired_trigger_id")

    with caplog.at_level(logging.WARNING):
        await dispatch(bolt_app, command_body(fake_slack, "test move"))
        [reply] = await fake_slack.wait_for("response_url")

    assert "run the command again" in reply.args["text"]
    assert "something went wrong" not in reply.args["text"]
    logged = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in logged] == ["could not open a form: expired_trigger_id"]
    assert fake_slack.calls_to("views.update") == []


async def test_caller_without_the_role_sees_the_open_form_refuse(
    bolt_app: AsyncApp, fake_slack: FakeSlack, runtime: Runtime, bot_settings: Settings
) -> None:
    runtime.roles.settings = bot_settings.model_copy(update={"requesters": ["U0SOMEONEELSE"]})

    await dispatch(bolt_app, command_body(fake_slack, "test move"))

    [opened] = await fake_slack.wait_for("views.open")
    [refused] = await fake_slack.wait_for("views.update")
    [told] = await fake_slack.wait_for("response_url")
    assert "needs the requester role" in json.dumps(refused.args["view"]["blocks"])
    assert "submit" not in refused.args["view"]
    assert "needs the requester role" in told.args["text"]
    assert opened.args["view"]["callback_id"] == modals.CALLBACK_ID


# ---------------------------------------------------------------------- private_metadata


async def test_long_non_ascii_command_keeps_its_form(
    bolt_app: AsyncApp, fake_slack: FakeSlack, runtime: Runtime
) -> None:
    runtime.approvals = approvals = RecordingApprovals()
    port = "порт-" + "ü" * 3000  # far over 3,000 characters once JSON-escaped
    await dispatch(bolt_app, command_body(fake_slack, f'test move "{port}"'))
    [opened] = await fake_slack.wait_for("views.open")
    await fake_slack.wait_for("views.update")  # the form is filled in: a person may submit it
    metadata = opened.args["view"]["private_metadata"]

    response = await dispatch(bolt_app, vlan_submission(metadata))

    assert len(metadata) < 200 and isinstance(json.loads(metadata), dict)
    assert response.status == 200
    [posted] = await fake_slack.wait_for("chat.postEphemeral")
    assert posted.args["channel"] == CHANNEL
    assert posted.args["text"] == "request for test.move created"
    assert approvals.lines == [f"test move '{port}'"]


async def test_expired_form_is_out_of_date_and_purged(
    bolt_app: AsyncApp, fake_slack: FakeSlack, runtime: Runtime
) -> None:
    runtime.approvals = approvals = RecordingApprovals()
    clock = runtime.clock
    assert isinstance(clock, FakeClock)
    await dispatch(bolt_app, command_body(fake_slack, "test move"))
    [opened] = await fake_slack.wait_for("views.open")
    await fake_slack.wait_for("views.update")

    await clock.advance(modals.FORM_TTL.total_seconds() + 1)
    await dispatch(bolt_app, vlan_submission(opened.args["view"]["private_metadata"]))
    [stale] = await fake_slack.wait_for("chat.postEphemeral")
    await dispatch(bolt_app, command_body(fake_slack, "test move"))  # a new form purges the old
    await fake_slack.wait_for("views.update", 2)

    assert "out of date" in stale.args["text"]
    assert approvals.submitted == []
    form_id = json.loads(opened.args["view"]["private_metadata"])["form"]
    async with runtime.db.session() as session:
        assert await session.get(FormState, form_id) is None
