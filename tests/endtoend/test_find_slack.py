"""``/circuit find`` and ``/circuit watch key`` through Slack: signed requests into the Bolt app,
the fake Slack Web API on loopback, every provider's simulator in-process behind its real client,
the FakeClock moving while the providers answer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from slack_bolt.response import BoltResponse

from circuitbot.clock import FakeClock
from circuitbot.providers.equinix.client import EquinixClient
from circuitbot.sandbox.faults import FaultConfig
from support.slack_bot import SlackBot, running_bot

# The demo world's circuits (sandbox/world.py): Woodgrove has legs at Azure, Equinix (a redundant
# pair) and Console Connect; Fabrikam at Azure and Equinix.
WOODGROVE = "cccc2c2c-dd3d-ee4e-ff5f-aaaaaa6a6a6a"
FABRIKAM = "24e6ea2b-6940-4bec-b0b3-3a9e5471e512"
FABRIKAM_PRIMARY = "006d08e2-788e-4c83-82d3-07b1787644a5"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


class Bot(SlackBot):
    async def command(self, text: str, user: str = "UREQ", channel: str = "CGENERAL") -> BoltResponse:
        response = await self.slash(text, user, channel)
        await self.settle()
        return response

    def last_told(self, user: str = "UREQ") -> dict:
        return self.slack.ephemerals(user=user)[-1]


@pytest.fixture
async def bot(tmp_path, clock: FakeClock) -> AsyncIterator[Bot]:
    async with running_bot(Bot, tmp_path, clock) as bot:
        yield bot


async def test_find_shows_the_legs_at_three_providers_on_one_card(bot: Bot) -> None:
    response = await bot.command(f"find {WOODGROVE}")

    assert "working on" in json.loads(response.body)["text"]
    card = bot.last_told()
    said = json.dumps(card["blocks"], ensure_ascii=False)
    for part in (
        "Azure",
        "er-woodgrove-sv",
        "serviceProviderProvisioningState: *Provisioned*",
        "bvtazureixp03a / bvtazureixp03b",
        "MicrosoftPeering: Enabled",
        "Equinix primary",
        "Woodgrove-SV-ER-PRI",
        "Equinix secondary",
        "Woodgrove-SV-ER-SEC",
        "Console Connect",
        "Woodgrove SV backup",
        "status: *ACTIVE*",
        "1,000 Mbps",
    ):
        assert part in said, part
    assert "Needs attention" not in said  # the demo circuit's legs agree
    assert "unreachable" not in said
    assert len(card["blocks"]) <= 50


async def test_an_unreachable_provider_is_named_and_the_others_still_answer(bot: Bot) -> None:
    bot.runtime.sandbox["consoleconnect"].faults = FaultConfig(error_rate=1.0)

    await bot.command(f"find {WOODGROVE}")

    said = json.dumps(bot.last_told()["blocks"], ensure_ascii=False)
    assert "*Console Connect* unreachable" in said
    assert "Woodgrove SV backup" not in said
    assert "er-woodgrove-sv" in said and "Woodgrove-SV-ER-PRI" in said


async def test_a_provider_that_does_not_answer_in_time_is_unreachable(bot: Bot) -> None:
    bot.runtime.sandbox["equinix"].faults = FaultConfig(latency_ms=600_000)

    await bot.command(f"find {WOODGROVE}")

    said = json.dumps(bot.last_told()["blocks"], ensure_ascii=False)
    assert "*Equinix* unreachable (no answer within 10 s)" in said
    assert "er-woodgrove-sv" in said and "Woodgrove SV backup" in said


async def test_an_unknown_key_says_so_plainly(bot: Bot) -> None:
    await bot.command(f"find {UNKNOWN}")

    text = bot.last_told()["text"]
    assert f"No circuit has the service key `{UNKNOWN}` at Azure, Equinix, Console Connect" in text


async def test_a_typed_key_is_echoed_escaped(bot: Bot) -> None:
    await bot.command("find <!channel>")

    said = json.dumps(bot.slack.ephemerals(user="UREQ"), ensure_ascii=False)
    assert "<!channel>" not in said


async def test_legs_that_disagree_are_named_in_words(bot: Bot) -> None:
    azure = bot.runtime.sandbox["azure"].cross_connection(FABRIKAM)
    azure.provider_state = "NotProvisioned"
    for connection in bot.runtime.sandbox["equinix"].state.connections.values():
        if connection.key == FABRIKAM:
            connection.speed_mbps = 500

    await bot.command(f"find {FABRIKAM}")

    said = json.dumps(bot.last_told()["blocks"], ensure_ascii=False)
    assert "Needs attention" in said
    assert (
        "Equinix primary PROVISIONED but Azure serviceProviderProvisioningState is NotProvisioned: "
        "the partner must set Provisioned"
    ) in said
    assert "bandwidth 1000 Mbps at Azure but 500 at Equinix" in said


async def test_watch_key_posts_a_change_at_any_leg_in_one_thread(bot: Bot) -> None:
    await bot.command(f"watch key {WOODGROVE} #CNETOPS")
    await bot.watch_round(1)
    [card] = bot.slack.messages("CNETOPS")
    assert "er-woodgrove-sv" in card["text"]

    # A change at Azure, made through the real client: the partner starts deprovisioning.
    azure = bot.runtime.providers["azure"]
    await bot.clock.run_until(azure.set_provisioning_state(WOODGROVE, "Deprovisioning", wait=False))
    await bot.watch_round(400)
    # A change at Equinix: the primary connection is deleted.
    [primary] = [
        c.uuid
        for c in bot.runtime.sandbox["equinix"].state.connections.values()
        if c.key == WOODGROVE and c.priority == "PRIMARY"
    ]
    equinix = bot.runtime.providers["equinix"]
    assert isinstance(equinix, EquinixClient)
    await bot.clock.run_until(equinix.delete(primary))
    await bot.watch_round(60)

    replies = [
        m for m in bot.slack.messages("CNETOPS") if m.get("thread_ts") == card["ts"] and m["ts"] != card["ts"]
    ]
    said = "\n".join(m["text"] for m in replies)
    assert "azure.serviceProviderProvisioningState`: Provisioned → *Deprovisioning*" in said
    assert "equinix.primary.state`: PROVISIONED → *DEPROVISIONED*" in said
    assert all(
        m.get("thread_ts") == card["ts"] for m in bot.slack.messages("CNETOPS") if m["ts"] != card["ts"]
    )


async def test_unwatch_key_stops_the_one_watch(bot: Bot) -> None:
    await bot.command(f"watch key {WOODGROVE.upper()} #CNETOPS")
    await bot.command(f"unwatch key {WOODGROVE} #CNETOPS")

    assert "Stopped watching key *er-woodgrove-sv*" in bot.told()
    assert await bot.runtime.watches.list_watches("CNETOPS") == []
