"""What the reliability suite shares: a sandbox runtime driven through the router as a front end
drives it, a surface that keeps everything shown, and readers of what reached Slack, the
provider and the database."""

from __future__ import annotations

import re
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from slack_sdk.models.views import View
from sqlalchemy import select, text

from circuitbot.actions.registry import Interaction
from circuitbot.chat.reply import Reply
from circuitbot.chat.router import Router
from circuitbot.clock import FakeClock
from circuitbot.runtime import Runtime
from circuitbot.settings import Settings
from circuitbot.store.tables import AuditEvent, Base
from support.blockkit import assert_valid_block_kit
from support.poster import RecordingPoster, message_text

T = TypeVar("T")
WRITES = ("PUT", "PATCH", "DELETE")
# A user typing one of these makes Slack notify people; the bot must never say it for them.
PINGS = re.compile(r"<!(channel|here|everyone|subteam)|<@[UW]VICTIM", re.IGNORECASE)


def reliability_settings(tmp_path, **overrides: Any) -> Settings:
    """UREQ and UREQ2 request, UAPP1 and UAPP2 approve (and may request), UADMIN administers."""
    values: dict[str, Any] = dict(
        data_dir=tmp_path,
        requesters=["UREQ", "UREQ2", "UAPP1", "UAPP2"],
        approvers=["UAPP1", "UAPP2"],
        admins=["UADMIN"],
        approvals_channel="CAPPROVALS",
        notify_channel="CNOTIFY",
    )
    values.update(overrides)
    return Settings(**values)


@dataclass
class Shown:
    """One interaction's surface: its ack, its replies and the modals it opened."""

    user_id: str = "UREQ"
    channel_id: str | None = "CGENERAL"
    acks: list[Reply | None] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    modals: list[dict[str, Any]] = field(default_factory=list)

    async def reply(self, reply: Reply) -> None:
        self.replies.append(reply)

    async def open_modal(self, view: dict[str, Any]) -> str:
        self.modals.append(view)
        return f"V{len(self.modals)}"

    async def update_modal(self, view_id: str, view: dict[str, Any]) -> None:
        self.modals[int(view_id[1:]) - 1] = view

    @property
    def said(self) -> list[Reply]:
        return [r for r in self.acks if r is not None] + self.replies

    @property
    def text(self) -> str:
        return "\n".join(message_text(r) for r in self.said)


def assert_valid_view(view: dict[str, Any]) -> None:
    """A modal slack_sdk's View model accepts, within its limits."""
    View(**view).to_dict()


@dataclass
class Driver:
    """Commands, clicks and modal submissions into the router, time moved by the FakeClock."""

    runtime: Runtime
    clock: FakeClock
    poster: RecordingPoster
    router: Router = field(init=False)

    def __post_init__(self) -> None:
        self.router = Router(self.runtime)

    async def drive(self, awaitable: Awaitable[T]) -> T:
        return await self.clock.run_until(awaitable)

    async def command(self, line: str, user: str = "UREQ", channel: str = "CGENERAL") -> Shown:
        shown = Shown(user, channel)

        async def ack(reply: Reply | None) -> None:
            shown.acks.append(reply)

        await self.drive(
            self.router.handle_command(line, user_id=user, channel_id=channel, surface=shown, ack=ack)
        )
        assert len(shown.acks) == 1, "the router acks exactly once"
        return shown

    async def click(self, action_id: str, value: str, user: str, channel: str = "CAPPROVALS") -> Shown:
        shown = Shown(user, channel)

        async def ack(reply: Reply | None) -> None:
            shown.acks.append(reply)

        interaction = Interaction(action_id=action_id, value=value, channel_id=channel, trigger_id="T1")
        await self.drive(self.router.handle_action(interaction, user_id=user, surface=shown, ack=ack))
        assert len(shown.acks) == 1, "a click is acked exactly once"
        return shown

    async def submit(self, view: dict[str, Any], user: str) -> tuple[Shown, list[Any]]:
        shown = Shown(user)
        acked: list[Any] = []

        async def ack_errors(errors: dict[str, str] | None) -> None:
            acked.append(errors)

        await self.drive(self.router.handle_view(view, user_id=user, surface=shown, ack_errors=ack_errors))
        assert len(acked) == 1, "a submission is acked exactly once"
        return shown, acked

    def provider_writes(self) -> list[str]:
        """Every write that reached a simulator, as "METHOD /route"."""
        return [
            call
            for simulator in self.runtime.sandbox.values()
            for call, count in simulator.calls.items()
            if call.split(" ", 1)[0] in WRITES
            for _ in range(count)
        ]


def assert_well_formed(shown: Shown, poster: RecordingPoster) -> None:
    """Every reply and channel message is valid Block Kit, every modal a valid view."""
    for reply in [*shown.said, *(sent.reply for sent in poster.sent)]:
        assert_valid_block_kit(reply)
    for view in shown.modals:
        assert_valid_view(view)


async def every_row(runtime: Runtime) -> str:
    """Every row of every table, as text."""
    dump = []
    async with runtime.db.session() as session:
        for table in Base.metadata.sorted_tables:
            result = await session.execute(text(f"SELECT * FROM {table.name}"))
            dump.extend(repr(tuple(row)) for row in result)
    return "\n".join(dump)


async def audit_rows(runtime: Runtime) -> list[AuditEvent]:
    async with runtime.db.session() as session:
        return list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
