"""``/circuit watch``, ``unwatch`` and ``watches`` through the router, as a front end calls them."""

from __future__ import annotations

from typing import Any

from watch_support import FakePoller, drain

from circuitbot.chat.reply import Reply
from circuitbot.chat.router import Router
from circuitbot.clock import FakeClock
from circuitbot.runtime import Runtime
from support.poster import RecordingPoster


class Surface:
    def __init__(self, user_id: str, channel_id: str | None) -> None:
        self.user_id = user_id
        self.channel_id = channel_id
        self.replies: list[Reply] = []

    async def reply(self, reply: Reply) -> None:
        self.replies.append(reply)

    async def open_modal(self, view: dict[str, Any]) -> str | None:
        raise AssertionError("no watch command opens a modal")

    async def update_modal(self, view_id: str, view: dict[str, Any]) -> None:
        raise AssertionError("no watch command opens a modal")


async def run(
    runtime: Runtime, text: str, *, user: str = "UREQ", channel: str | None = "CGENERAL", thread_ts=None
) -> tuple[Reply | None, list[Reply]]:
    """The ack and the replies after it."""
    surface = Surface(user, channel)
    acks: list[Reply | None] = []

    async def ack(reply: Reply | None) -> None:
        acks.append(reply)

    await Router(runtime).handle_command(
        text, user_id=user, channel_id=channel, surface=surface, ack=ack, thread_ts=thread_ts
    )
    assert len(acks) == 1
    return acks[0], surface.replies


async def test_watch_then_list_then_unwatch(
    runtime: Runtime, poller: FakePoller, poster: RecordingPoster, clock: FakeClock
) -> None:
    poller.set("xc1", provisioningState="Updating", serviceProviderProvisioningState="Provisioning")
    poller.set("xc2", provisioningState="Succeeded")

    ack, [reply] = await run(runtime, "watch azure xc1")
    assert "working" in ack.text
    assert "Watching azure *circuit-xc1* in <#CGENERAL>" in reply.text
    _, [reply] = await run(runtime, "watch az xc2 <#COPS|ops>")
    assert "<#COPS>" in reply.text
    _, [again] = await run(runtime, "watch azure xc1")
    assert "already watched" in again.text
    await drain(runtime.watches, clock)
    assert len(poster.posts("CGENERAL")) == 1 and len(poster.posts("COPS")) == 1

    _, [listing] = await run(runtime, "watches", user="UREADER")
    assert "2 watches" in listing.text
    table = str(listing.blocks)
    assert "circuit-xc1" in table and "Updating / Provisioning" in table and "#COPS" in table
    _, [only_ops] = await run(runtime, "watches <#COPS|ops>", user="UREADER")
    assert "1 watch*" in only_ops.text and "circuit-xc1" not in str(only_ops.blocks)

    _, [stopped] = await run(runtime, "unwatch azure xc2 <#COPS|ops>")
    assert "Stopped watching azure *circuit-xc2*" in stopped.text
    assert [w.resource_id for w in await runtime.watches.list_watches()] == ["xc1"]
    await drain(runtime.watches, clock)
    card = poster.posts("COPS")[0]
    assert "stopped watching" in poster.thread(card.ts)[0].text


async def test_watching_needs_the_requester_role_and_listing_does_not(
    runtime: Runtime, poller: FakePoller
) -> None:
    poller.set("xc1", provisioningState="Updating")
    _, [refused] = await run(runtime, "watch azure xc1", user="UREADER")
    assert "needs the requester role" in refused.text
    assert await runtime.watches.list_watches() == []
    _, [listing] = await run(runtime, "watches", user="UREADER")
    assert "Nothing is watched" in listing.text


async def test_errors_reach_the_user(runtime: Runtime, poller: FakePoller) -> None:
    _, [missing] = await run(runtime, "watch azure nope")
    assert ":warning:" in missing.text and "has no `nope`" in missing.text

    _, [unknown] = await run(runtime, "watch carrierpigeon xc1")
    assert "unknown provider `carrierpigeon`" in unknown.text and "azure" in unknown.text

    ack, replies = await run(runtime, "watch azure xc1 #ops")
    assert "name the channel as #channel" in ack.text and replies == []

    _, [not_watched] = await run(runtime, "unwatch azure xc1")
    assert "is not watched in <#CGENERAL>" in not_watched.text


async def test_without_a_channel_the_notify_channel_is_used(runtime: Runtime, poller: FakePoller) -> None:
    poller.set("xc1", provisioningState="Updating")
    _, [reply] = await run(runtime, "watch azure xc1", channel=None)
    assert "<#CNOTIFY>" in reply.text  # settings.notify_channel


async def test_watch_asked_in_a_thread_follows_in_that_thread(
    runtime: Runtime, poller: FakePoller, poster: RecordingPoster, clock: FakeClock
) -> None:
    poller.set("xc1", provisioningState="Updating")
    await run(runtime, "watch azure xc1", thread_ts="1700000000.000042")
    await drain(runtime.watches, clock)
    [card] = poster.posts("CGENERAL")
    assert card.thread_ts == "1700000000.000042"


async def test_watching_where_the_bot_cannot_post_is_refused_before_anything_is_written(
    runtime: Runtime, poller: FakePoller, poster: RecordingPoster, clock: FakeClock
) -> None:
    poller.set("xc1", provisioningState="Succeeded")
    poster.gone_channels.update({"CGONE", "CGENERAL"})

    _, [named] = await run(runtime, "watch azure xc1 <#CGONE|gone>")
    _, [here] = await run(runtime, "watch azure xc1")  # the channel it was asked in

    assert "I can't post in <#CGONE>: channel_not_found" in named.text
    assert "/invite @circuitbot" in named.text
    assert "I can't post in <#CGENERAL>" in here.text
    assert "Watching" not in named.text + here.text
    assert poster.checked == ["CGONE", "CGENERAL"]
    assert await runtime.watches.list_watches() == []
    await drain(runtime.watches, clock)
    assert poster.sent == [], "nothing was promised, so nothing is posted"

    poster.gone_channels.clear()
    _, [reply] = await run(runtime, "watch azure xc1 <#CGONE|gone>")
    assert "Watching azure *circuit-xc1* in <#CGONE>" in reply.text
