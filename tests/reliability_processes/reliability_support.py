"""What the process-level reliability tests share: the cluster of ``circuitbot serve`` children
on one database, and reading the approval flow back from the fake Slack and the database."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from circuitbot.approvals.status import RequestStatus
from circuitbot.store.db import Database
from circuitbot.store.tables import ApprovalRequest
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


def command(slack: FakeSlack, text: str, user: str = REQUESTER, channel: str = "CGENERAL") -> str:
    return slash_command_body(
        text,
        user_id=user,
        channel_id=channel,
        response_url=slack.response_url(channel=channel, user=user),
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
