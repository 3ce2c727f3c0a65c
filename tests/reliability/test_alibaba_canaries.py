"""Alibaba's credentials never leave the bot: with a canary in the AccessKey secret and the STS
security token, signed with V1 (the signature and the token travel in the query string), a
session of reads and an approved change through Slack leaves no canary in any Slack call, log
line (DEBUG and up) or database row."""

from __future__ import annotations

import json
import logging
import re
import time

from reliability_support import every_row
from test_secret_canaries import CANARY, canary_settings, send

from circuitbot.bootstrap import build_runtime
from circuitbot.clock import FakeClock
from circuitbot.providers.alibaba.client import AlibabaClient
from circuitbot.slack.app import BackgroundWork
from circuitbot.slack.server import attach_slack
from circuitbot.testing.fake_slack import FakeSlack
from circuitbot.testing.payloads import block_action_body, slash_command_body

KEY_ID = "LTAIcanarykey"
SECRET = "CANARY-alibaba-access-key-secret"
TOKEN = "CANARY-alibaba-sts-token"
CONFIRMED = "pc-119mfjzm7"


async def test_no_alibaba_canary_leaves_the_bot_through_slack(tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    slack, clock, work = FakeSlack(), FakeClock(), BackgroundWork()
    async with slack.serve() as api_url:
        settings = canary_settings(tmp_path, slack_api_url=api_url)
        runtime = await build_runtime(settings, sandbox=True, clock=clock)
        sim = runtime.sandbox["alibaba"]
        sim.verifier.access_keys[KEY_ID] = SECRET
        sim.verifier.security_tokens[KEY_ID] = TOKEN
        client = AlibabaClient(
            access_key_id=KEY_ID,
            access_key_secret=SECRET,
            security_token=TOKEN,
            signature_version="v1",
            regions=sim.regions,
            transport=sim.transport(),
            clock=clock,
        )
        await runtime.providers["alibaba"].aclose()
        runtime.providers["alibaba"] = client
        runtime.pollers["alibaba"].client = client
        app = attach_slack(runtime, settings, work=work)
        try:

            async def command(text: str) -> None:
                body = slash_command_body(
                    text,
                    user_id="UREQ",
                    channel_id="CGENERAL",
                    response_url=slack.response_url(channel="CGENERAL", user="UREQ"),
                    trigger_id=f"trigger-{time.monotonic_ns()}",
                )
                await send(app, body)
                assert await clock.run_until(work.drain(timeout=30))

            await command(f"ali enable {CONFIRMED}")
            told = json.dumps([c.args for c in slack.calls])
            request_id = re.search(r"Request `(R[A-Z2-7]{6})` created", told).group(1)
            [card] = [m for m in slack.messages("CAPPROVALS") if request_id in m["text"]]
            await send(
                app,
                block_action_body(
                    "approval:approve",
                    request_id,
                    "UAPP1",
                    "CAPPROVALS",
                    card["ts"],
                    slack.response_url(channel="CAPPROVALS", user="UAPP1"),
                    f"trigger-{time.monotonic_ns()}",
                    block_id=f"approval_{request_id}",
                    message=card,
                ),
            )
            assert await clock.run_until(work.drain(timeout=30))
            for text in (
                "ali list",
                f"ali show {CONFIRMED}",
                f"ali vbrs {CONFIRMED}",
                "ali show pc-00000000",
            ):
                await command(text)

            assert sim.connections[CONFIRMED].status == "Enabled", "the signed change reached the sandbox"
            said = json.dumps([call.args for call in slack.calls], ensure_ascii=False)
            assert CANARY not in said
            assert CANARY not in caplog.text
            assert "Signature=REDACTED" in caplog.text or "Signature" not in caplog.text
            assert CANARY not in await every_row(runtime)
            assert CANARY not in repr(client.rpc.credentials)
        finally:
            assert await work.drain(timeout=30)
            await runtime.close()
