"""``serve`` with a work process (``CIRCUITBOT_WORK_PROCESS``): a real ``circuitbot serve --http``
child acks in its own process and forwards the work to a second one. Everything a person does
still works through it (commands, approvals, forms and their errors, readiness, metrics), a
full backlog refuses new commands in their ack, and the front end stops when the work process
dies."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from pathlib import Path

from process_support import APPROVERS, REQUESTER, approve_click, cards, command, final_row

from circuitbot.approvals.status import RequestStatus
from circuitbot.chat import modals
from circuitbot.sandbox.azure import AzureSimulator
from circuitbot.sandbox.faults import FaultConfig
from circuitbot.sandbox.world import World
from circuitbot.store.db import Database
from circuitbot.testing.fake_slack import FakeSlack
from circuitbot.testing.payloads import view_submission_body
from support.processes import BOT_TOKEN, SIGNING_SECRET, BotProcess, bot_env, wait_until

SETTINGS = {
    "requesters": REQUESTER,
    "approvers": ",".join(APPROVERS),
    "approvals_channel": "CAPPROVALS",
    "work_process": "true",
}
MAX_NOTES = 1000
_WORK_PROCESS = re.compile(r"work process (\d+) running")


async def start_front(tmp_path, migrated, slack_api_url, azure_url, world, **more: str) -> BotProcess:
    """``circuitbot serve --http`` with a work process, on the test's Slack, Azure and database."""
    env = bot_env(
        data_dir=tmp_path,
        database_url=migrated,
        slack_api_url=slack_api_url,
        azure_url=azure_url,
        world=world,
        **{**SETTINGS, **more},
    )
    return await BotProcess.start("front", env)


def replies_to(slack: FakeSlack, token: str) -> list[str]:
    """The texts posted to the response_url of ``token``."""
    return [str(call.args.get("text", "")) for call in slack.responses(token)]


async def test_acks_here_and_the_work_there(
    migrated: str, tmp_path, fake_slack: FakeSlack, slack_api_url: str, world: World, azure_url: str
) -> None:
    bot = await start_front(tmp_path, migrated, slack_api_url, azure_url, world)
    key = world.circuits[0].service_key
    try:
        helped = await bot.send(command(fake_slack, "help"))
        shown = await bot.send(command(fake_slack, f"az show {key}", token="show"))
        asked = await bot.send(command(fake_slack, f"az notes {key} set through two processes"))
        assert helped.status_code == 200 and "`help`" in helped.json()["text"]  # the front end's own
        assert "working on `az show" in shown.json()["text"]
        assert asked.status_code == 200
        await wait_until(lambda: any(key in t for t in replies_to(fake_slack, "show")), "az show's reply")

        (request_id, ts), *_ = (await wait_until(lambda: cards(fake_slack), "the approval card")).items()
        clicked = await bot.send(approve_click(fake_slack, request_id, APPROVERS[0], ts))
        assert clicked.status_code == 200
        row = await final_row(Database(migrated), request_id)
        assert row.status == RequestStatus.SUCCEEDED

        ready = await bot._http.get("/readyz")  # type: ignore[union-attr]
        shown_ok = re.compile(r'circuitbot_commands_total\{operation="azure\.show",result="ok"\} 1\.0')

        async def counted() -> str | None:  # the work process counts a command once it has replied
            text = (await bot._http.get("/metrics")).text  # type: ignore[union-attr]
            return text if shown_ok.search(text) else None

        exposition = await wait_until(counted, "az show counted in /metrics")
        assert ready.status_code == 200, ready.text
        # One exposition: the front end's ack and help beside the work process's commands.
        assert re.search(r'circuitbot_commands_total\{operation="help",result="ok"\} 1\.0', exposition)
        assert re.search(r'circuitbot_ack_seconds_count\{kind="command"\} 3\.0', exposition), exposition
    finally:
        status = await bot.stop()
    assert status == 0, bot.log()
    assert bot.tracebacks() == [], bot.log()
    assert BOT_TOKEN not in bot.log() and SIGNING_SECRET not in bot.log()


async def test_a_form_gets_its_errors_in_the_ack_from_the_work_process(
    migrated: str, tmp_path, fake_slack: FakeSlack, slack_api_url: str, world: World, azure_url: str
) -> None:
    bot = await start_front(tmp_path, migrated, slack_api_url, azure_url, world)
    key = world.circuits[0].service_key
    try:
        opened = await bot.send(command(fake_slack, f"az notes {key}"))
        assert opened.status_code == 200
        [form] = await fake_slack.wait_for("views.open", timeout=30)  # the work process is niced
        assert form.args["view"]["callback_id"] == modals.CALLBACK_ID
        too_long = {
            "key": {"value": {"type": "plain_text_input", "value": key}},
            "text": {"value": {"type": "plain_text_input", "value": "n" * (MAX_NOTES + 1)}},
        }
        body = view_submission_body(
            modals.CALLBACK_ID, too_long, REQUESTER, private_metadata=form.args["view"]["private_metadata"]
        )
        answered = await bot.send(body)
    finally:
        status = await bot.stop()
    assert answered.status_code == 200
    assert answered.json()["response_action"] == "errors", answered.text
    assert set(answered.json()["errors"]) == {"text"}
    assert status == 0, bot.log()


async def test_a_full_backlog_refuses_new_commands_and_says_so(
    migrated: str,
    tmp_path,
    fake_slack: FakeSlack,
    slack_api_url: str,
    world: World,
    simulator: AzureSimulator,
    azure_url: str,
) -> None:
    bot = await start_front(tmp_path, migrated, slack_api_url, azure_url, world, work_backlog="1")
    key = world.circuits[0].service_key
    simulator.faults = FaultConfig(latency_ms=3_000)  # the first command holds the backlog's one place
    try:
        first = await bot.send(command(fake_slack, f"az show {key}", token="first"))
        second = await bot.send(command(fake_slack, f"az show {key}", token="second"))
        helped = await bot.send(command(fake_slack, "help"))
        assert "working on" in first.json()["text"]
        refusal = second.json()["text"]  # in the ack: nothing is owed after it
        assert "too busy to run `az show" in refusal and "nothing was done" in refusal
        assert "`help`" in helped.json()["text"]  # answered by the front end: nothing to queue
        await wait_until(lambda: any(key in t for t in replies_to(fake_slack, "first")), "the first's reply")
        assert replies_to(fake_slack, "second") == []
        simulator.faults = FaultConfig()
        third = await bot.send(command(fake_slack, f"az show {key}", token="third"))
        assert "working on" in third.json()["text"]
        await wait_until(lambda: any(key in t for t in replies_to(fake_slack, "third")), "the third's reply")
    finally:
        status = await bot.stop()
    assert status == 0, bot.log()


async def test_the_front_end_stops_when_the_work_process_dies(
    migrated: str, tmp_path, fake_slack: FakeSlack, slack_api_url: str, world: World, azure_url: str
) -> None:
    bot = await start_front(tmp_path, migrated, slack_api_url, azure_url, world)
    match = _WORK_PROCESS.search(bot.log())
    assert match, bot.log()
    os.kill(int(match.group(1)), signal.SIGKILL)
    started = time.monotonic()
    status = await bot.wait()
    assert status == 1, bot.log()
    assert time.monotonic() - started < 30
    assert "the work process ended" in bot.log()


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie left for its new parent to reap is not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


async def test_the_work_process_ends_soon_after_its_front_end_is_killed(
    migrated: str,
    tmp_path,
    fake_slack: FakeSlack,
    slack_api_url: str,
    world: World,
    simulator: AzureSimulator,
    azure_url: str,
) -> None:
    """kill -9 of the front end with work in flight: the work process sees its link end, cuts the
    work short, closes its database and exits; it never lingers as an orphan."""
    bot = await start_front(tmp_path, migrated, slack_api_url, azure_url, world)
    match = _WORK_PROCESS.search(bot.log())
    assert match, bot.log()
    worker = int(match.group(1))
    key = world.circuits[0].service_key
    sent = [bot.send(command(fake_slack, f"az notes {key} note {n}", token=f"held-{n}")) for n in range(150)]
    assert {answer.status_code for answer in await asyncio.gather(*sent)} == {200}
    bot.kill()  # while the work process is busy with them: reads, approval requests, audit rows
    await bot.wait()
    await wait_until(lambda: not running(worker), "the work process to end", timeout=45)
