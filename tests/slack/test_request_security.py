"""Slack request security, through signed requests into the real Bolt app (and its HTTP front
end): missing, forged, stale and replayed signatures get 401, oversized bodies 413, and
requests from a workspace or org outside the allow-list are refused."""

from __future__ import annotations

import logging
import time

import httpx
import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_support import CHANNEL, SIGNING_SECRET, USER, body_json, command_body, dispatch, post_signed

from circuitbot.runtime import Runtime
from circuitbot.settings import ConfigError, Settings, load_settings
from circuitbot.slack.app import BackgroundWork
from circuitbot.slack.guards import FOREIGN_WORKSPACE, SeenSignatures
from circuitbot.slack.server import MAX_BODY_BYTES, attach_slack
from circuitbot.testing.fake_slack import FakeSlack
from circuitbot.testing.payloads import block_action_body, signed_request_headers, slash_command_body

FORM = {"content-type": "application/x-www-form-urlencoded"}


def slack_calls(fake_slack: FakeSlack) -> list[str]:
    """What the bot asked of Slack, apart from Bolt's one-off auth.test."""
    return [c.method for c in fake_slack.calls if c.method != "auth.test"]


def warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


# ---------------------------------------------------------------------- signatures


async def test_request_without_signature_is_refused(bolt_app: AsyncApp, fake_slack: FakeSlack) -> None:
    body = command_body(fake_slack, "help")

    response = await bolt_app.async_dispatch(AsyncBoltRequest(body=body, headers=FORM))

    assert response.status == 401
    assert fake_slack.calls == []


async def test_forged_signature_is_refused(bolt_app: AsyncApp, fake_slack: FakeSlack) -> None:
    response = await dispatch(bolt_app, command_body(fake_slack, "help"), secret="not-the-secret")

    assert response.status == 401
    assert "circuitbot" not in response.body
    assert fake_slack.calls == []


async def test_six_minute_old_request_is_refused(bolt_app: AsyncApp, fake_slack: FakeSlack) -> None:
    old = int(time.time()) - 6 * 60
    response = await dispatch(bolt_app, command_body(fake_slack, "help"), timestamp=old)

    assert response.status == 401
    assert fake_slack.calls == []


async def test_replayed_request_is_refused(
    bolt_app: AsyncApp, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    body = command_body(fake_slack, "test pages")
    headers = signed_request_headers(SIGNING_SECRET, body)

    first = await bolt_app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    with caplog.at_level(logging.WARNING):
        again = await bolt_app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))

    assert [first.status, again.status] == [200, 401]
    [logged] = warnings(caplog)
    assert "replayed" in logged.getMessage() and logged.exc_info is None
    [answer] = await fake_slack.wait_for("response_url")  # the command ran once
    assert answer.args["text"].startswith("page 1 of 3")


async def test_same_command_sent_twice_by_slack_is_read_twice(
    bolt_app: AsyncApp, fake_slack: FakeSlack
) -> None:
    # Two real requests differ in their timestamp or trigger_id, so in their signature.
    first = await dispatch(bolt_app, command_body(fake_slack, "help"), timestamp=int(time.time()) - 1)
    second = await dispatch(bolt_app, command_body(fake_slack, "help"))

    assert [first.status, second.status] == [200, 200]


def test_seen_signatures_are_bounded_and_forgotten_after_the_window() -> None:
    now = [1000.0]
    seen = SeenSignatures(window=300, capacity=3, now=lambda: now[0])

    assert [seen.first_time(s, 1000) for s in ("a", "b", "a")] == [True, True, False]
    for s in ("c", "d", "e"):
        seen.first_time(s, 1000)
    assert len(seen) == 3  # the oldest were let go to make room

    now[0] += 301
    assert seen.first_time("e", 1000) is True  # outside the window Bolt refuses it anyway
    assert len(seen) == 1


# ---------------------------------------------------------------------- body size


async def test_oversized_body_is_refused_before_bolt_reads_it(
    http: httpx.AsyncClient, fake_slack: FakeSlack
) -> None:
    body = command_body(fake_slack, "help " + "x" * MAX_BODY_BYTES)

    response = await post_signed(http, body)

    assert response.status_code == 413
    assert fake_slack.calls == []


# ---------------------------------------------------------------------- allow-lists


@pytest.fixture
def allow(runtime: Runtime, bot_settings: Settings, work: BackgroundWork):
    """A Bolt app whose settings allow only the given teams and orgs."""

    def build(teams: list[str] | None = None, orgs: list[str] | None = None) -> AsyncApp:
        settings = bot_settings.model_copy(
            update={"allowed_team_ids": teams or [], "allowed_enterprise_ids": orgs or []}
        )
        return attach_slack(runtime, settings, work=work)

    return build


def team_command(fake_slack: FakeSlack, text: str, team: str, enterprise: str | None = None) -> str:
    url = fake_slack.response_url(channel=CHANNEL, user=USER)
    return slash_command_body(text, USER, CHANNEL, url, "trigger", team_id=team, enterprise_id=enterprise)


async def test_command_from_a_workspace_outside_the_allow_list_is_refused(
    allow, fake_slack: FakeSlack, work: BackgroundWork, caplog: pytest.LogCaptureFixture
) -> None:
    app = allow(teams=["T0OURS"])

    with caplog.at_level(logging.WARNING):
        refused = await dispatch(app, team_command(fake_slack, "test pages", team="T0ELSEWHERE"))
    allowed = await dispatch(app, team_command(fake_slack, "help", team="T0OURS"))

    assert refused.status == 200
    assert body_json(refused) == {"response_type": "ephemeral", "text": FOREIGN_WORKSPACE}
    [logged] = warnings(caplog)
    assert "T0ELSEWHERE" in logged.getMessage()
    assert allowed.status == 200 and "`help`" in body_json(allowed)["text"]
    assert await work.drain(timeout=5)
    assert fake_slack.calls_to("response_url") == []  # test pages never ran


async def test_click_from_a_workspace_outside_the_allow_list_gets_403(
    allow, fake_slack: FakeSlack, work: BackgroundWork
) -> None:
    app = allow(teams=["T0OURS"])
    url = fake_slack.response_url(channel=CHANNEL, user=USER)
    body = block_action_body("test_click", "x", USER, CHANNEL, "1.2", url, "t", team_id="T0ELSEWHERE")

    response = await dispatch(app, body)

    assert response.status == 403
    assert await work.drain(timeout=5)
    assert slack_calls(fake_slack) == []


async def test_only_allowed_enterprise_orgs_are_served(allow, fake_slack: FakeSlack) -> None:
    app = allow(orgs=["E0GRID"])
    url = fake_slack.response_url(channel=CHANNEL, user=USER)
    click = block_action_body(
        "test_click", "x", USER, CHANNEL, "1.2", url, "t", team_id="T0OURS", enterprise_id="E0OTHER"
    )

    inside = await dispatch(app, team_command(fake_slack, "help", team="T0OURS", enterprise="E0GRID"))
    no_org = await dispatch(app, team_command(fake_slack, "help", team="T0OURS"))
    other_org = await dispatch(app, click)

    assert "`help`" in body_json(inside)["text"]
    assert body_json(no_org)["text"] == FOREIGN_WORKSPACE
    assert other_org.status == 403


def test_allow_lists_are_comma_separated_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIRCUITBOT_ALLOWED_TEAM_IDS", "T0ONE, T0TWO")
    monkeypatch.setenv("CIRCUITBOT_ALLOWED_ENTERPRISE_IDS", "E0GRID")
    settings = load_settings()
    assert (settings.allowed_team_ids, settings.allowed_enterprise_ids) == (["T0ONE", "T0TWO"], ["E0GRID"])

    monkeypatch.setenv("CIRCUITBOT_ALLOWED_TEAM_IDS", "E0GRID")
    with pytest.raises(ConfigError, match="CIRCUITBOT_ALLOWED_TEAM_IDS: 'E0GRID' is not a Slack team ID"):
        load_settings()
