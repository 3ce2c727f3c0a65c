"""An answer from Slack that is not JSON (a proxy's error page, a body cut off) is a failed call
like any other: the poster raises PostError, which its callers retry or report."""

from __future__ import annotations

import pytest

from circuitbot.chat.reply import PostError, Reply
from circuitbot.settings import Settings
from circuitbot.slack.app import outbox_client
from circuitbot.slack.poster import SlackPoster
from circuitbot.testing.fake_slack import FakeSlack
from support.faulty_slack import FaultySlack


async def test_a_reply_that_is_not_json_is_a_post_error(tmp_path) -> None:
    slack = FakeSlack()
    faulty = FaultySlack(slack, rate=1.0, seed=0, kinds=["malformed"])
    async with faulty.serve() as url:
        settings = Settings(data_dir=tmp_path, slack_bot_token="xoxb-test", slack_api_url=url)
        poster = SlackPoster(outbox_client(settings))
        with pytest.raises(PostError) as posting:
            await poster.post("C1", Reply.plain("hello", ephemeral=False))
        with pytest.raises(PostError) as editing:
            await poster.update("C1", "1700000000.000001", Reply.plain("hello", ephemeral=False))

    assert posting.value.error == editing.value.error == "invalid_response"
    assert faulty.injected == {"malformed": 2}
