"""The Console Connect commands through Slack: signed requests into the Bolt app, the fake Slack Web
API on loopback, the sandbox Console Connect in-process; the FakeClock moves while work waits.

Every command: the reads answer after a "working…" ack; ``create`` opens its form and a
submission becomes a request; the changes are approved with a button click, and the watch that
follows a peering change announces its sync in the approval's thread.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from cc_support import CONTOSO, NEW_KEY, PORT_A, PORT_B, TAILSPIN, WOODGROVE
from slack_bolt.response import BoltResponse

from circuitbot.clock import FakeClock
from circuitbot.testing.payloads import view_submission_body
from support.slack_bot import SlackBot, running_bot

BGP_KEY = "Qq7-bgp-secret"


class Bot(SlackBot):
    async def command(self, text: str, user: str = "UREQ", channel: str = "CGENERAL") -> BoltResponse:
        """A slash command run to its end; the ack."""
        response = await self.slash(text, user, channel)
        await self.settle()
        return response


@pytest.fixture
async def bot(tmp_path, clock: FakeClock) -> AsyncIterator[Bot]:
    async with running_bot(Bot, tmp_path, clock) as bot:
        yield bot


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (f"cc verify {NEW_KEY}", ["Service key verified", "200 Mbps", "EUAP Test"]),
        ("cc ports", ["Console Connect ports", PORT_A, "Equinix DC2"]),
        ("cc list", ["Console Connect Azure connections", CONTOSO, WOODGROVE, TAILSPIN]),
        (f"cc show {CONTOSO}", ["ACTIVE", "PROVISIONED", "Sub-connections", "SYNCED"]),
        (f"cc peering-show {WOODGROVE} MICROSOFT", ["MICROSOFT peering", "SYNCED", "ARIN"]),
    ],
)
async def test_a_signed_read_acks_at_once_then_answers(bot: Bot, text: str, shown: list[str]) -> None:
    response = await bot.command(text)

    assert f"working on `{text}`" in json.loads(response.body)["text"]
    told = bot.told()
    for part in shown:
        assert part in told, part
    assert all(len(e["blocks"]) <= 50 for e in bot.slack.ephemerals(user="UREQ"))


async def test_create_opens_its_form_with_the_ports_and_a_submission_becomes_a_request(bot: Bot) -> None:
    await bot.command(f"cc create {NEW_KEY}")
    [view] = bot.slack.views.values()
    ports = next(b for b in view["blocks"] if b.get("block_id") == "port_a")
    assert PORT_A in {o["value"] for o in ports["element"]["options"]}

    def text(value: str) -> dict:
        return {"value": {"type": "plain_text_input", "value": value}}

    def choice(value: str) -> dict:
        return {"value": {"type": "static_select", "selected_option": {"value": value}}}

    values = {
        "service_key": text(NEW_KEY),
        "name": text("Contoso-DC"),
        "port_a": choice(PORT_A),
        "port_b": choice(PORT_B),
        "speed": choice("200"),
        "payment_type": choice("payg"),
    }
    await bot.send(
        view_submission_body(
            view["callback_id"], values, "UREQ", view["private_metadata"], view["id"], blocks=view["blocks"]
        )
    )
    await bot.settle()
    [card] = bot.slack.messages("CAPPROVALS")
    assert "consoleconnect.create" in card["text"] and "Acme-DC2-02" in json.dumps(card["blocks"])


async def test_a_peering_change_through_an_approval_and_its_sync_announced_in_the_thread(bot: Bot) -> None:
    bot.runtime.sandbox["consoleconnect"].state.peering_seconds = 40
    request_id = await bot.request(
        f"cc peering {CONTOSO} PRIVATE peer-asn=65010 vlan-id=310 primary-prefix=10.31.0.0/30 "
        f"secondary-prefix=10.31.0.4/30 shared-key={BGP_KEY}"
    )
    edited = await bot.approve(request_id)
    assert edited["text"].endswith("succeeded")

    for _ in range(3):
        await bot.watch_round(16)
    thread = json.dumps(bot.slack.thread("CAPPROVALS", edited["ts"]), ensure_ascii=False)
    assert "The PRIVATE peering of `507f1f77bcf86cd799439011` is set: PENDING" in thread
    assert "`peering[PRIVATE].syncStatus`: PENDING → *SYNCING*" in thread
    assert "`peering[PRIVATE].syncStatus`: SYNCING → *SYNCED*" in thread
    everything = json.dumps([bot.slack.messages(), bot.slack.ephemerals()], ensure_ascii=False)
    assert BGP_KEY not in everything


@pytest.mark.parametrize(
    ("text", "done"),
    [
        (
            f"cc peering-delete {CONTOSO} PRIVATE",
            "The PRIVATE peering of `507f1f77bcf86cd799439011` is deleted",
        ),
        (f"cc delete {CONTOSO}", "is being deleted: DELETING"),
    ],
)
async def test_deletes_go_through_an_approval_click(bot: Bot, text: str, done: str) -> None:
    request_id = await bot.request(text)
    edited = await bot.approve(request_id)
    assert edited["text"].endswith("succeeded")
    assert done in json.dumps(bot.slack.thread("CAPPROVALS", edited["ts"]), ensure_ascii=False)


HOSTILE = "<!channel> hi <@U123> ```x``` <https://evil.example|click>"


def texts(payload: object) -> list[str]:
    """Every string in a message (text, blocks, fields), wherever it is nested."""
    if isinstance(payload, str):
        return [payload]
    if isinstance(payload, dict):
        return [t for value in payload.values() for t in texts(value)]
    if isinstance(payload, list):
        return [t for value in payload for t in texts(value)]
    return []


def leaks(payload: object) -> list[str]:
    """What Slack would turn into a ping or a link, or a code block typed text opened or ended."""
    found = []
    for text in texts(payload):
        found += [bad for bad in ("<!channel>", "<@U123>", "<https://evil.example") if bad in text]
        if text.startswith("```") and (text.count("```") != 2 or not text.endswith("```")):
            found.append(f"a code block ended early: {text!r}")
        if not text.startswith("```") and "```" in text:
            found.append(f"typed backticks open a code block: {text!r}")
    return found


async def test_a_hostile_connection_name_never_pings_links_or_breaks_a_code_block(bot: Bot) -> None:
    request_id = await bot.request(
        f'cc create {NEW_KEY} name="{HOSTILE}" port-a={PORT_A} port-b={PORT_B} speed=200'
    )
    edited = await bot.approve(request_id)
    assert edited["text"].endswith("succeeded")
    connection = await bot.runtime.providers["consoleconnect"].find_by_service_key(NEW_KEY)
    assert connection.name == "@channel hi U123 ```x``` click", "Slack's markup read as the words it shows"
    await bot.command(f"cc show {connection.id}")
    await bot.command("cc list")
    everything = [
        *bot.slack.messages("CAPPROVALS"),
        *bot.slack.thread("CAPPROVALS", edited["ts"]),
        *bot.slack.ephemerals(),
    ]
    assert len(everything) >= 5
    for payload in everything:
        assert leaks(payload) == [], payload
