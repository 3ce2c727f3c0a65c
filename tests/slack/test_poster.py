"""SlackPoster against the fake Slack: chat.* calls, and Slack's failures as PostError."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_support import BOT_TOKEN, CHANNEL, USER

from circuitbot import metrics
from circuitbot.chat.reply import PostError, Reply
from circuitbot.settings import Settings
from circuitbot.slack.app import slack_client
from circuitbot.slack.poster import SlackPoster
from circuitbot.testing.fake_slack import FakeSlack


@pytest.fixture
def poster(bot_settings: Settings) -> SlackPoster:
    return SlackPoster(slack_client(bot_settings, rate_limit_retries=0))


def slack_errors(method: str, error: str) -> float:
    labels = {"method": method, "error": error}
    return metrics.REGISTRY.get_sample_value("circuitbot_slack_errors_total", labels) or 0.0


async def test_post_update_and_ephemeral(poster: SlackPoster, fake_slack: FakeSlack) -> None:
    ts = await poster.post(CHANNEL, Reply.plain("circuit is up", ephemeral=False))
    reply_ts = await poster.post(CHANNEL, Reply.plain("details"), thread_ts=ts)
    await poster.update(CHANNEL, ts, Reply.plain("circuit is down"))
    await poster.post_ephemeral(CHANNEL, USER, Reply.plain("only you"))

    assert fake_slack.message(CHANNEL, ts)["text"] == "circuit is down"
    assert fake_slack.thread(CHANNEL, ts)[0]["ts"] == reply_ts
    assert fake_slack.message(CHANNEL, ts)["blocks"][0]["text"]["text"] == "circuit is down"
    assert [e["text"] for e in fake_slack.ephemerals(CHANNEL, USER)] == ["only you"]


async def test_rate_limit_is_reported_with_retry_after_not_retried(
    poster: SlackPoster, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=7)
    before = slack_errors("chat.postMessage", "ratelimited")

    with pytest.raises(PostError) as raised:
        await poster.post(CHANNEL, Reply.plain("hello"))

    assert raised.value.error == "ratelimited"
    assert raised.value.retry_after == 7.0
    assert not raised.value.permanent
    assert len(fake_slack.calls_to("chat.postMessage")) == 1  # the caller decides when to retry
    assert slack_errors("chat.postMessage", "ratelimited") == before + 1


async def test_slack_error_codes_become_post_errors(poster: SlackPoster, fake_slack: FakeSlack) -> None:
    fake_slack.unknown_channels.add("C0GONE")
    with pytest.raises(PostError) as raised:
        await poster.post("C0GONE", Reply.plain("hello"))
    assert raised.value.error == "channel_not_found" and raised.value.permanent

    fake_slack.fail_next("chat.update", status=503)
    with pytest.raises(PostError) as raised:
        await poster.update(CHANNEL, "1.2", Reply.plain("x"))
    assert not raised.value.permanent and raised.value.retry_after is None


async def test_unreachable_slack_is_a_transient_post_error() -> None:
    # No retry handlers: the connection-error handler would back off for real.
    client = AsyncWebClient(token=BOT_TOKEN, base_url="http://127.0.0.1:9/api/", retry_handlers=[])
    poster = SlackPoster(client)

    with pytest.raises(PostError) as raised:
        await poster.post(CHANNEL, Reply.plain("hello"))

    assert raised.value.error == "connection_error" and not raised.value.permanent


def test_client_retry_policy(bot_settings: Settings) -> None:
    interactive = slack_client(bot_settings)
    outbox = slack_client(bot_settings, rate_limit_retries=0)

    assert interactive.base_url == bot_settings.slack_api_url
    assert {type(h) for h in interactive.retry_handlers} == {
        AsyncConnectionErrorRetryHandler,
        AsyncRateLimitErrorRetryHandler,
    }
    assert {type(h) for h in outbox.retry_handlers} == {AsyncConnectionErrorRetryHandler}


async def test_check_channel_asks_conversations_info_whether_the_bot_can_post_there(
    poster: SlackPoster, fake_slack: FakeSlack
) -> None:
    fake_slack.unknown_channels.add("C0GONE")
    fake_slack.archived_channels.add("C0OLD")
    fake_slack.private_channels.update({"C0SECRET", "G0LEGACY"})

    await poster.check_channel(CHANNEL)  # public: chat:write.public posts without membership
    for channel, error in [
        ("C0GONE", "channel_not_found"),
        ("C0OLD", "is_archived"),
        ("C0SECRET", "channel_not_found"),
    ]:
        with pytest.raises(PostError) as raised:
            await poster.check_channel(channel)
        assert raised.value.error == error and raised.value.permanent
    assert [c.args["channel"] for c in fake_slack.calls_to("conversations.info")][:2] == [CHANNEL, "C0GONE"]

    fake_slack.joined_channels.update({"C0SECRET", "G0LEGACY"})  # /invite @circuitbot
    await poster.check_channel("C0SECRET")
    await poster.check_channel("G0LEGACY")
    assert fake_slack.messages() == [], "checking posts nothing"


async def test_the_fake_answers_conversations_info_in_slacks_shape(
    bot_settings: Settings, fake_slack: FakeSlack
) -> None:
    client = slack_client(bot_settings, rate_limit_retries=0)
    fake_slack.private_channels.add("G0LEGACY")
    fake_slack.joined_channels.add("G0LEGACY")

    public = (await client.conversations_info(channel=CHANNEL))["channel"]
    legacy = (await client.conversations_info(channel="G0LEGACY"))["channel"]

    assert (public["is_channel"], public["is_group"], public["is_private"], public["is_member"]) == (
        True,
        False,
        False,
        False,
    )
    assert (legacy["is_channel"], legacy["is_group"], legacy["is_private"], legacy["is_member"]) == (
        False,
        True,
        True,
        True,
    )
    for field in (
        "name",
        "created",
        "is_archived",
        "is_general",
        "is_im",
        "is_mpim",
        "is_ext_shared",
        "topic",
    ):
        assert field in public
    assert public["topic"].keys() == {"value", "creator", "last_set"}
    fake_slack.unknown_channels.add("C0GONE")
    with pytest.raises(SlackApiError) as gone:
        await client.conversations_info(channel="C0GONE")
    assert gone.value.response.data == {"ok": False, "error": "channel_not_found"}
