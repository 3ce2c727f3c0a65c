"""What the command layer hands to a front end: text plus Block Kit, never a Slack call."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

from circuitbot.chat import blocks as bk


@dataclass
class Reply:
    """A message for the person who asked, or for a channel.

    ``text`` is the notification/fallback text; ``blocks`` is the Block Kit body. ``ephemeral``
    replies are seen only by the caller. ``replace`` asks the front end to replace the message the
    interaction came from (a page turn), rather than add a new one.
    """

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    ephemeral: bool = True
    replace: bool = False

    def __post_init__(self) -> None:
        self.blocks = bk.fit(self.blocks)

    def as_message(self) -> dict[str, Any]:
        message: dict[str, Any] = {"text": bk.clip(self.text, 3000)}
        if self.blocks:
            message["blocks"] = self.blocks
        return message

    @classmethod
    def plain(cls, text: str, *, ephemeral: bool = True) -> Reply:
        return cls(text=text, blocks=[bk.section(text)], ephemeral=ephemeral)

    @classmethod
    def error(cls, message: str, *, usage: str | None = None) -> Reply:
        lines = [f":warning: {message}"]
        if usage:
            lines.append(f"Usage: `{usage}`")
        text = "\n".join(lines)
        return cls(text=text, blocks=[bk.section(text)])

    @classmethod
    def failure(cls, log: logging.Logger, what: str) -> Reply:
        """Log the exception being handled under a fresh error id, and tell the user that id."""
        error_id = secrets.token_hex(4)
        log.exception("%s failed (error id %s)", what, error_id)
        return cls.error(f"something went wrong {what} (error id {error_id})")

    @classmethod
    def working(cls, what: str) -> Reply:
        """The ack of a slow command; ``what`` is the command as typed (raw text)."""
        text = f":hourglass_flowing_sand: working on {bk.code(what)}…"
        return cls(text=text, blocks=[bk.context(text)])


class Surface(Protocol):
    """Where one interaction's answers go (Slack: response_url and views; shell: the console)."""

    user_id: str
    channel_id: str | None

    async def reply(self, reply: Reply) -> None: ...

    async def open_modal(self, view: dict[str, Any]) -> str | None:
        """Open a modal; returns the view id, if the front end has one."""
        ...

    async def update_modal(self, view_id: str, view: dict[str, Any]) -> None: ...


class PostError(Exception):
    """A post to a channel failed. ``permanent`` errors (channel_not_found, not_in_channel,
    is_archived) will not go away by retrying; others may, after ``retry_after`` seconds."""

    PERMANENT = frozenset(
        {"channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive"}
    )

    def __init__(self, error: str, *, retry_after: float | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.retry_after = retry_after

    @property
    def permanent(self) -> bool:
        return self.error in self.PERMANENT


class Poster(Protocol):
    """The bot's own voice in channels, used by approvals and the watch outbox."""

    async def post(self, channel: str, reply: Reply, *, thread_ts: str | None = None) -> str:
        """Post a message; returns its ts. Raises PostError."""
        ...

    async def update(self, channel: str, ts: str, reply: Reply) -> None: ...

    async def post_ephemeral(self, channel: str, user: str, reply: Reply) -> None: ...

    async def check_channel(self, channel: str) -> None:
        """Return when the bot can post in ``channel``; raise PostError with the reason
        (channel_not_found, not_in_channel, is_archived, …) when it cannot, or cannot tell."""
        ...
