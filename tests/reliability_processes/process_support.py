"""What the process-level reliability tests share: the cluster of ``circuitbot serve`` children
on one database, and reading the approval flow back from the fake Slack and the database."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from circuitbot.approvals.status import RequestStatus
from circuitbot.sandbox.azure import PROVIDER_STATES, AzureSimulator
from circuitbot.store.db import Database
from circuitbot.store.tables import ApprovalRequest, Watch
from circuitbot.testing.fake_slack import FakeSlack
from circuitbot.testing.payloads import block_action_body, slash_command_body
from support.processes import BotProcess, wait_until

APPROVALS_CHANNEL = "CAPPROVALS"
REQUESTER = "UREQ"
APPROVERS = ("UAPP1", "UAPP2", "UAPP3", "UAPP4")
FINAL = frozenset(
    {RequestStatus.SUCCEEDED, RequestStatus.FAILED, RequestStatus.NEEDS_ATTENTION, RequestStatus.REJECTED}
)
APPROVAL_SETTINGS = {
    "requesters": REQUESTER,
    "approvers": ",".join(APPROVERS),
    "approvals_channel": APPROVALS_CHANNEL,
    "approvals_required": '{"azure.notes": 2}',
}


def command(
    slack: FakeSlack, text: str, user: str = REQUESTER, channel: str = "CGENERAL", token: str | None = None
) -> str:
    return slash_command_body(
        text,
        user_id=user,
        channel_id=channel,
        response_url=slack.response_url(channel=channel, user=user, token=token),
        trigger_id=f"trigger-{time.monotonic_ns()}",
    )


def cards(slack: FakeSlack) -> dict[str, str]:
    """Request id → ts of each approval card in the approvals channel (its top-level messages,
    whose fallback text starts with the request id)."""
    return {
        message["text"].split()[0]: str(message["ts"])
        for message in slack.messages(APPROVALS_CHANNEL)
        if message.get("thread_ts", message["ts"]) == message["ts"]
    }


def approve_click(slack: FakeSlack, request_id: str, user: str, ts: str) -> str:
    return block_action_body(
        "approval:approve",
        request_id,
        user,
        APPROVALS_CHANNEL,
        ts,
        slack.response_url(channel=APPROVALS_CHANNEL, user=user),
        f"trigger-{time.monotonic_ns()}",
        block_id=f"approval_{request_id}",
        message=slack.message(APPROVALS_CHANNEL, ts),
    )


async def request_row(db: Database, request_id: str) -> ApprovalRequest | None:
    async with db.session() as session:
        return (
            await session.scalars(select(ApprovalRequest).where(ApprovalRequest.id == request_id))
        ).first()


async def final_row(db: Database, request_id: str, timeout: float = 60.0) -> ApprovalRequest:  # noqa: ASYNC109
    async def done() -> ApprovalRequest | None:
        row = await request_row(db, request_id)
        return row if row is not None and row.status in FINAL else None

    row: ApprovalRequest = await wait_until(done, f"request {request_id} to finish", timeout)
    return row


@dataclass
class Cluster:
    """Bot processes on one database; requests go to them in turn."""

    bots: Sequence[BotProcess]

    def bot(self, n: int) -> BotProcess:
        return self.bots[n % len(self.bots)]

    def tracebacks(self) -> list[str]:
        return [f"{bot.name}: {line}" for bot in self.bots for line in bot.tracebacks()]

    async def stop(self) -> None:
        for bot in self.bots:
            await bot.stop()


_PROVIDER_STATE = re.compile(r"`serviceProviderProvisioningState`: (\w+) → \*(\w+)\*")


def transition_posts(slack: FakeSlack) -> list[tuple[str, str, tuple[str, str]]]:
    """Every change of a circuit's provider state the bots posted in a watch's thread (each
    delivery Slack took), in arrival order: (channel, thread, (old, new))."""
    found = []
    for call in slack.calls_to("chat.postMessage", ok=True):
        args = call.args
        match = _PROVIDER_STATE.search(args.get("text", ""))
        if args.get("thread_ts") and "changed\n" in args.get("text", "") and match:
            found.append((args["channel"], args["thread_ts"], (match.group(1), match.group(2))))
    return found


def posted_per_channel(slack: FakeSlack) -> dict[str, list[tuple[str, str]]]:
    """The provider-state changes posted in each channel, in order; each in the channel's one thread."""
    seen: dict[str, list[tuple[str, str]]] = defaultdict(list)
    thread_of: dict[str, str] = {}
    for channel, thread, change in transition_posts(slack):
        assert thread_of.setdefault(channel, thread) == thread, "in the watch's own thread"
        seen[channel].append(change)
    return dict(seen)


async def seed_watches(
    db: Database, slack: FakeSlack, simulator: AzureSimulator, keys: Sequence[str]
) -> dict[str, str]:
    """A watch per circuit, each in a channel of its own with its card already in Slack, due now;
    returns the channel of each circuit. (Starting 500 watches through Slack would only repeat
    what the watch tests cover, slowly.)"""
    from circuitbot.providers.azure import models as m
    from circuitbot.providers.azure.poller import snapshot

    now = datetime.now(UTC)
    subscription = simulator.world.partner_subscription_id
    rows, channels = [], {}
    for n, key in enumerate(keys):
        channel = f"CW{n:04d}"
        body = simulator._render(simulator.cross_connection(key), subscription)  # the sandbox's own view
        card = slack._new_message(channel, {"text": f"watching {key}"})
        channels[key] = channel
        rows.append(
            {
                "provider": "azure",
                "resource_id": key,
                "label": key,
                "channel": channel,
                "thread_ts": card["ts"],
                "status_ts": card["ts"],
                "created_by": REQUESTER,
                "request_id": None,
                "snapshot": snapshot(m.ExpressRouteCrossConnection.model_validate(body)),
                "version": 0,
                "status": "active",
                "status_reason": None,
                "next_poll_at": now - timedelta(seconds=1),
                "error_count": 0,
                "unreachable": False,
                "created_at": now,
                "updated_at": now,
            }
        )
    async with db.session() as session:
        await session.execute(insert(Watch), rows)
    return channels


def move_on(simulator: AzureSimulator, key: str) -> tuple[str, str]:
    """Move a circuit's provider state on by one, as the customer or the partner would."""
    cross_connection = simulator.cross_connection(key)
    before = cross_connection.provider_state
    after = PROVIDER_STATES[(PROVIDER_STATES.index(before) + 1) % len(PROVIDER_STATES)]
    cross_connection.provider_state = after
    return before, after
