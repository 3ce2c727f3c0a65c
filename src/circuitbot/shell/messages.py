"""The bot's messages in the shell: every post, reply and edit is printed as it happens and
kept with a ref (m1, m2 …) so its buttons can be pressed and its thread shown later."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from circuitbot.chat.reply import PostError, Reply
from circuitbot.clock import Clock
from circuitbot.shell.directory import Directory
from circuitbot.shell.forms import FormFiller
from circuitbot.shell.render import Control, Rendered, Renderer
from circuitbot.shell.terminal import Output

BOT_NAME = "circuitbot"


@dataclass
class ShellMessage:
    """A message the bot has shown: in a channel, in a thread, or to one person only."""

    ref: str
    channel: str
    ts: str
    reply: Reply
    rendered: Rendered
    at: datetime
    visible_to: str | None = None  # a user id for ephemeral messages and DMs
    thread_ts: str | None = None
    order: int = 0  # when it was last shown, so "the latest message with buttons" follows edits
    edited: bool = False

    @property
    def controls(self) -> list[Control]:
        return self.rendered.controls


class MessageLog:
    """The messages shown so far, in the order they were posted; ``viewer`` is who looks now."""

    def __init__(
        self,
        *,
        clock: Clock,
        renderer: Renderer,
        out: Output,
        directory: Directory,
        viewer: Callable[[], str],
    ) -> None:
        self.clock = clock
        self.renderer = renderer
        self.out = out
        self.directory = directory
        self.viewer = viewer
        self.messages: list[ShellMessage] = []
        self._order = 0
        self._ts = 0

    def __iter__(self) -> Iterator[ShellMessage]:
        return iter(self.messages)

    def record(
        self, channel: str, reply: Reply, *, visible_to: str | None = None, thread_ts: str | None = None
    ) -> ShellMessage:
        self._ts += 1
        now = self.clock.now()
        message = ShellMessage(
            ref=f"m{len(self.messages) + 1}",
            channel=channel,
            ts=f"{int(now.timestamp())}.{self._ts:06d}",
            reply=reply,
            rendered=self.renderer.message(reply.text, reply.blocks),
            at=now,
            visible_to=visible_to,
            thread_ts=thread_ts,
        )
        self.messages.append(message)
        self.show(message)
        return message

    def edit(self, message: ShellMessage, reply: Reply) -> None:
        message.reply = reply
        message.rendered = self.renderer.message(reply.text, reply.blocks)
        message.edited = True
        self.show(message)

    def find(self, channel: str, ts: str) -> ShellMessage | None:
        return next((m for m in self.messages if m.channel == channel and m.ts == ts), None)

    def resolve(self, ref: str) -> ShellMessage | None:
        """A message by its ref (m3, or just 3) or its ts."""
        ref = ref.strip().lower()
        if ref.isdigit():
            ref = f"m{ref}"
        return next((m for m in self.messages if m.ref == ref or m.ts == ref), None)

    def latest_with_controls(self) -> ShellMessage | None:
        candidates = [m for m in self.messages if m.controls and self.visible(m)]
        return max(candidates, key=lambda m: m.order, default=None)

    def visible(self, message: ShellMessage) -> bool:
        return message.visible_to is None or message.visible_to == self.viewer()

    def show(self, message: ShellMessage) -> None:
        self._order += 1
        message.order = self._order
        indent = "    " if message.thread_ts else ""
        self.out.write(indent + self.renderer.style(self.heading(message), "bold"))
        for line in message.rendered.lines:
            self.out.write(f"{indent}  {line}".rstrip())

    def heading(self, message: ShellMessage) -> str:
        where = self.directory.channel_name(message.channel)
        if message.channel.startswith(("U", "W")):
            place = f"to {where} (direct message)"
        elif message.visible_to is not None:
            who = "you" if message.visible_to == self.viewer() else self.directory.display(message.visible_to)
            place = f"in {where}, only visible to {who}"
        else:
            place = f"in {where}"
        if message.thread_ts:
            parent = self.find(message.channel, message.thread_ts)
            place += f", thread of {parent.ref if parent else message.thread_ts}"
        edited = " (edited)" if message.edited else ""
        return f"[{message.ref}] {BOT_NAME} {place}{edited}:"


class ShellPoster:
    """The bot's voice in channels (Poster): posts, thread replies and edits, printed as they happen."""

    def __init__(self, messages: MessageLog) -> None:
        self.messages = messages

    async def post(self, channel: str, reply: Reply, *, thread_ts: str | None = None) -> str:
        channel_id = self._channel(channel)
        visible_to = channel_id if channel_id.startswith(("U", "W")) else None
        message = self.messages.record(channel_id, reply, visible_to=visible_to, thread_ts=thread_ts)
        return message.ts

    async def update(self, channel: str, ts: str, reply: Reply) -> None:
        message = self.messages.find(self._channel(channel), ts)
        if message is None:
            raise PostError("message_not_found")
        self.messages.edit(message, reply)

    async def post_ephemeral(
        self, channel: str, user: str, reply: Reply, *, thread_ts: str | None = None
    ) -> None:
        self.messages.record(self._channel(channel), reply, visible_to=user, thread_ts=thread_ts)

    async def check_channel(self, channel: str) -> None:
        """Every channel the shell can name is one it posts in (it makes them on first use)."""
        self._channel(channel)

    def _channel(self, channel: str | None) -> str:
        channel_id = self.messages.directory.channel(channel or "")
        if channel_id is None:
            raise PostError("channel_not_found")
        return channel_id


class ShellSurface:
    """One interaction's answers (Surface): printed for the person who asked."""

    def __init__(
        self,
        messages: MessageLog,
        forms: FormFiller,
        user_id: str,
        channel_id: str | None,
        *,
        source: ShellMessage | None = None,
        thread_ts: str | None = None,
    ) -> None:
        self.messages = messages
        self.forms = forms
        self.user_id = user_id
        self.channel_id = channel_id
        self.source = source  # the message whose button was pressed, for replies that replace it
        self.thread_ts = thread_ts

    def detached(self) -> ShellSurface:
        """The same person and place without the pressed message: a submitted form's answers
        are new messages, never edits of the message whose button opened the form."""
        return ShellSurface(
            self.messages, self.forms, self.user_id, self.channel_id, thread_ts=self.thread_ts
        )

    async def ack(self, reply: Reply | None) -> None:
        if reply is not None:
            await self.reply(reply)

    async def reply(self, reply: Reply) -> None:
        if reply.replace and self.source is not None:
            self.messages.edit(self.source, reply)
            return
        channel = self.channel_id or self.user_id
        self.messages.record(
            channel, reply, visible_to=self.user_id if reply.ephemeral else None, thread_ts=self.thread_ts
        )

    async def open_modal(self, view: dict[str, Any]) -> str | None:
        return self.forms.open(view, self)

    async def update_modal(self, view_id: str, view: dict[str, Any]) -> None:
        self.forms.update(view_id, view)
