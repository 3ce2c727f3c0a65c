"""``circuitbot shell``: a local console in place of Slack.

Everything goes through the same Router as Slack: a typed line is a ``/circuit`` command,
buttons are pressed by number, modals are answered field by field (or with ``key=value`` on
one line), and the bot's posts to channels (approval requests, watch notifications) are
printed as they happen. ``:as bob`` switches identity, so one person can walk the whole
approval flow. When stdin is not a terminal the shell reads it line by line and echoes each
line after a prompt, so a piped script gives a readable transcript.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import inspect
import io
import logging
import os
import re
import secrets
import shlex
import shutil
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from pydantic import SecretStr

from circuitbot.actions.registry import Interaction, Role
from circuitbot.chat import modals
from circuitbot.chat.reply import PostError, Reply
from circuitbot.chat.router import Router
from circuitbot.runtime import Runtime
from circuitbot.settings import Settings
from circuitbot.shell.render import ANSI, DEFAULT_WIDTH, Control, FormField, Rendered, Renderer, emoji

log = logging.getLogger(__name__)

BOT_NAME = "circuitbot"
DEFAULT_CHANNEL = "general"
DEFAULT_WAIT_SECONDS = 5.0
# How long the shell waits at the end of a script for background work (an approved operation
# running, a notification on its way) before it stops the engines.
DRAIN_SECONDS = 10.0
RECENT_MESSAGES = 15
MASK = "••••"

# The people of the sandbox, so one person can play every part of the approval flow.
PEOPLE: tuple[tuple[str, Role], ...] = (
    ("alice", Role.REQUESTER),
    ("bob", Role.APPROVER),
    ("carol", Role.APPROVER),
    ("dave", Role.READER),
    ("root", Role.ADMIN),
)
ROLE_ORDER = (Role.ADMIN, Role.APPROVER, Role.REQUESTER, Role.READER)

SHELL_HELP = """\
Shell commands (anything else is a /circuit command; the leading /circuit is optional):
  :as <user>               become someone else (alice requests, bob and carol approve, dave reads,
                           root administers)
  :whoami                  who you are, where, and your roles
  :users                   the people in this shell and their roles
  :channel <#name>         switch channel (default #general)
  <n>  or  :press <n>      press button or option n of the latest message that has any
  :press <n> on <ref>      press one on an older message (refs such as m3 are shown on every message)
  :messages [#channel]     recent messages with their refs
  :thread <ref>            a message and its thread replies
  :wait [seconds]          let background work (watches, notifications, approved operations) run
  :help                    this help;  help  is the bot's own help
  :quit                    leave (so does end of input)
In a form: answer each field in turn (empty keeps the value shown, - clears it), or give
key=value … on one line; :cancel closes the form. Lines starting with # are comments."""


_CHANNEL_MENTION = re.compile(r"(?<![\w<|#])#([A-Za-z0-9][\w-]*)")
_PERSON_MENTION = re.compile(r"(?<![\w<|@])@([A-Za-z](?:[\w.-]*\w)?)")


def person_id(name: str) -> str:
    """A Slack-like user id for a shell name: alice → UALICE."""
    return "U" + re.sub(r"[^A-Z0-9]", "", name.upper())


def channel_id_for(name: str) -> str:
    """A Slack-like channel id for a shell channel name: #general → CGENERAL."""
    return "C" + re.sub(r"[^A-Z0-9]", "", name.lstrip("#").upper())


def shell_settings(settings: Settings, *, sandbox: bool) -> Settings:
    """On the sandbox, the shell's people get their roles by name, unless settings name roles."""
    if not sandbox or settings.requesters or settings.approvers or settings.admins:
        return settings
    by_role: dict[Role, list[str]] = {role: [] for role in Role}
    for name, role in PEOPLE:
        by_role[role].append(person_id(name))
    return settings.model_copy(
        update={
            "requesters": by_role[Role.REQUESTER],
            "approvers": by_role[Role.APPROVER],
            "admins": by_role[Role.ADMIN],
        }
    )


class Directory:
    """The shell's people and channels, with Slack-like ids so mentions and roles work."""

    def __init__(self) -> None:
        self.people: dict[str, str] = {name: person_id(name) for name, _ in PEOPLE}
        self.channels: dict[str, str] = {DEFAULT_CHANNEL: channel_id_for(DEFAULT_CHANNEL)}

    def person(self, word: str) -> tuple[str, str] | None:
        """(name, user id) for a name, @name or U… id; a new name joins the directory."""
        word = word.strip().lstrip("@")
        if not word:
            return None
        if re.fullmatch(r"[UW][A-Z0-9]+", word):
            return self.user_name(word), word
        if not re.fullmatch(r"[A-Za-z][\w.-]*", word):
            return None
        name = word.lower()
        self.people.setdefault(name, person_id(name))
        return name, self.people[name]

    def user_name(self, user_id: str) -> str:
        for name, known in self.people.items():
            if known == user_id:
                return name
        return user_id

    def channel(self, word: str) -> str | None:
        """The channel id for #name, name or C… id (channels are created on first use)."""
        word = word.strip()
        if not word:
            return None
        if word.startswith("<#") and word.endswith(">"):
            word = word[2:-1].split("|", 1)[0]
        if re.fullmatch(r"[CGD][A-Z0-9]+", word):
            if word not in self.channels.values():
                name = word[1:].lower() if word[1:].isalpha() else word
                self.channels.setdefault(name, word)
            return word
        name = word.lstrip("#").lower()
        if not re.fullmatch(r"[a-z0-9][\w-]*", name):
            return None
        self.channels.setdefault(name, channel_id_for(name))
        return self.channels[name]

    def channel_name(self, channel_id: str) -> str:
        for name, known in self.channels.items():
            if known == channel_id:
                return f"#{name}"
        if channel_id.startswith(("U", "W")):
            return f"@{self.user_name(channel_id)}"
        return channel_id

    def escape(self, text: str) -> str:
        """Mentions as Slack sends them in a slash command (``should_escape``): ``#ops`` becomes
        ``<#COPS|ops>`` and ``@bob`` becomes ``<@UBOB|bob>``; unknown people are left as typed."""

        def channel(match: re.Match[str]) -> str:
            name = match.group(1).lower()
            return f"<#{self.channel(name)}|{name}>"

        def person(match: re.Match[str]) -> str:
            name = match.group(1).lower()
            known = self.people.get(name)
            return f"<@{known}|{name}>" if known else match.group(0)

        text = _CHANNEL_MENTION.sub(channel, text)
        return _PERSON_MENTION.sub(person, text)

    def display(self, slack_id: str) -> str | None:
        """How a mention shows: @alice for UALICE, #general for CGENERAL."""
        if slack_id.startswith(("U", "W")):
            return f"@{self.user_name(slack_id)}"
        if slack_id.startswith(("C", "G", "D")):
            return self.channel_name(slack_id)
        return None


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


@dataclass
class PendingForm:
    view_id: str
    view: dict[str, Any]
    surface: ShellSurface


class Cancelled(Exception):
    """The person closed a form or a confirmation."""


class Output:
    """Where the shell writes; in a terminal, output that arrives while a prompt waits is
    printed above the prompt, and the prompt (with what was typed so far) is drawn again."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.prompt: str | None = None  # set while a terminal prompt waits for input

    def write(self, text: str = "") -> None:
        if self.prompt is not None:
            self.stream.write("\r\x1b[K" + text + "\n" + self.prompt + _line_buffer())
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


async def _in_daemon_thread(read: Callable[..., str], *args: Any) -> str:
    """Run a blocking read in a daemon thread: unlike the default executor, a read still
    waiting for a line never keeps the process from exiting (Ctrl-C, end of the engines)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()

    def deliver(outcome: Callable[[], None]) -> None:
        if not future.done():
            outcome()

    def run() -> None:
        try:
            line = read(*args)
        except BaseException as exc:  # handed to the waiting coroutine (EOFError, KeyboardInterrupt)
            error = exc
            with contextlib.suppress(RuntimeError):  # the loop has closed meanwhile
                loop.call_soon_threadsafe(deliver, lambda: future.set_exception(error))
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(deliver, lambda: future.set_result(line))

    threading.Thread(target=run, name="shell-input", daemon=True).start()
    return await future


def _line_buffer() -> str:
    with contextlib.suppress(Exception):
        import readline

        return readline.get_line_buffer()
    return ""


class ScriptInput:
    """Lines from a pipe or a file, each echoed after its prompt so the transcript reads well."""

    interactive = False

    def __init__(self, stream: TextIO, out: Output) -> None:
        self.stream = stream
        self.out = out

    async def read(self, prompt: str, *, secret: bool = False) -> str | None:
        if isinstance(self.stream, io.StringIO):
            line = self.stream.readline()
        else:  # a pipe: read in a thread so background work goes on meanwhile
            line = await _in_daemon_thread(self.stream.readline)
        if not line:
            return None
        line = line.rstrip("\r\n")
        self.out.write(prompt + (MASK if secret and line else line))
        return line


class TerminalInput:
    """A person at a terminal: readline editing and history when available."""

    interactive = True

    def __init__(self, out: Output, history: Path | None) -> None:
        self.out = out
        self.history = history
        self.readline: Any = None
        with contextlib.suppress(ImportError):
            import readline

            self.readline = readline
            if history is not None:
                with contextlib.suppress(OSError):
                    readline.read_history_file(history)

    async def read(self, prompt: str, *, secret: bool = False) -> str | None:
        self.out.prompt = prompt
        try:
            if secret:
                return await _in_daemon_thread(getpass.getpass, prompt)
            if self.readline is not None:  # readline must not count colour codes as prompt width
                prompt = ANSI.sub(lambda m: f"\001{m.group(0)}\002", prompt)
            return await _in_daemon_thread(input, prompt)
        except EOFError:
            self.out.stream.write("\n")
            return None
        finally:
            self.out.prompt = None

    def save(self) -> None:
        if self.readline is not None and self.history is not None:
            with contextlib.suppress(OSError):
                self.history.parent.mkdir(parents=True, exist_ok=True)
                self.readline.write_history_file(self.history)


class ShellPoster:
    """The bot's voice in channels (Poster): posts, thread replies and edits, printed as they happen."""

    def __init__(self, console: Console) -> None:
        self.console = console

    async def post(self, channel: str, reply: Reply, *, thread_ts: str | None = None) -> str:
        channel_id = self._channel(channel)
        visible_to = channel_id if channel_id.startswith(("U", "W")) else None
        message = self.console.record(channel_id, reply, visible_to=visible_to, thread_ts=thread_ts)
        return message.ts

    async def update(self, channel: str, ts: str, reply: Reply) -> None:
        message = self.console.find(self._channel(channel), ts)
        if message is None:
            raise PostError("message_not_found")
        self.console.edit(message, reply)

    async def post_ephemeral(
        self, channel: str, user: str, reply: Reply, *, thread_ts: str | None = None
    ) -> None:
        self.console.record(self._channel(channel), reply, visible_to=user, thread_ts=thread_ts)

    def _channel(self, channel: str | None) -> str:
        channel_id = self.console.directory.channel(channel or "")
        if channel_id is None:
            raise PostError("channel_not_found")
        return channel_id


class ShellSurface:
    """One interaction's answers (Surface): printed for the person who asked."""

    def __init__(
        self,
        console: Console,
        user_id: str,
        channel_id: str | None,
        *,
        source: ShellMessage | None = None,
        thread_ts: str | None = None,
    ) -> None:
        self.console = console
        self.user_id = user_id
        self.channel_id = channel_id
        self.source = source  # the message whose button was pressed, for replies that replace it
        self.thread_ts = thread_ts

    async def ack(self, reply: Reply | None) -> None:
        if reply is not None:
            await self.reply(reply)

    async def reply(self, reply: Reply) -> None:
        if reply.replace and self.source is not None:
            self.console.edit(self.source, reply)
            return
        channel = self.channel_id or self.user_id
        self.console.record(
            channel, reply, visible_to=self.user_id if reply.ephemeral else None, thread_ts=self.thread_ts
        )

    async def open_modal(self, view: dict[str, Any]) -> str | None:
        view_id = f"V{secrets.token_hex(4).upper()}"
        self.console.forms.append(PendingForm(view_id, view, self))
        return view_id

    async def update_modal(self, view_id: str, view: dict[str, Any]) -> None:
        for form in self.console.forms:
            if form.view_id == view_id:
                form.view = view
                return


class Console:
    def __init__(
        self,
        runtime: Runtime,
        *,
        stdin: TextIO,
        stdout: TextIO,
        user: str = "alice",
        sandbox: bool = True,
        drain_seconds: float = DRAIN_SECONDS,
    ) -> None:
        self.runtime = runtime
        self.drain_seconds = drain_seconds
        self.router = Router(runtime)
        self.sandbox = sandbox
        self.directory = Directory()
        self.out = Output(stdout)
        tty = _isatty(stdout)
        width = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns if tty else DEFAULT_WIDTH
        self.renderer = Renderer(
            width=max(40, width - 2), color=tty and "NO_COLOR" not in os.environ, names=self.directory.display
        )
        if _isatty(stdin):
            self.input: ScriptInput | TerminalInput = TerminalInput(
                self.out, Path(runtime.settings.data_dir) / ".shell_history"
            )
        else:
            self.input = ScriptInput(stdin, self.out)
        self.poster = ShellPoster(self)
        self.user_name, self.user_id = self.directory.person(user) or ("alice", person_id("alice"))
        self.channel_id = self.directory.channel(DEFAULT_CHANNEL) or channel_id_for(DEFAULT_CHANNEL)
        self.messages: list[ShellMessage] = []
        self.forms: list[PendingForm] = []
        self._order = 0
        self._ts = 0
        self._done = False

    # -- the loop ----------------------------------------------------------------------------

    async def run(self) -> int:
        previous_poster = self.runtime.poster
        self.runtime.poster = self.poster
        engines = await self._start_engines()
        baseline = set(asyncio.all_tasks())
        try:
            await self._banner()
            while not self._done:
                line = await self.input.read(self.prompt)
                if line is None:
                    break
                await self.handle_line(line)
            await self._drain(engines, baseline)
        finally:
            await self._stop_engines(engines)
            self.runtime.poster = previous_poster
            if isinstance(self.input, TerminalInput):
                self.input.save()
        return 0

    @property
    def prompt(self) -> str:
        where = self.directory.channel_name(self.channel_id)
        return self.renderer.style(f"{self.user_name}@{where}>", "bold") + " "

    async def handle_line(self, line: str) -> None:
        """One line of input; a failure prints one line with an error id and the shell goes on."""
        try:
            await self._dispatch(line.strip())
        except Cancelled:
            self.note("cancelled")
        except Exception:
            error_id = secrets.token_hex(4)
            log.exception("shell line failed (error id %s): %s", error_id, line[:200])
            self.warn(f"something went wrong (error id {error_id}); the shell goes on")

    async def _dispatch(self, line: str) -> None:
        if not line or line.startswith("#"):
            return
        if line.startswith(":"):
            await self.shell_command(line[1:])
        elif re.fullmatch(r"\d+(\s+(y|yes))?", line, re.IGNORECASE):
            await self.press_command(line.split())
        elif line.startswith("/"):
            slash, _, rest = line[1:].partition(" ")
            if slash.lower() != "circuit":
                self.warn(
                    f"unknown slash command /{slash}; this shell has /circuit (or just type the command)"
                )
                return
            await self.command(rest)
        else:
            await self.command(line)

    # -- /circuit ----------------------------------------------------------------------------

    async def command(self, text: str) -> None:
        surface = ShellSurface(self, self.user_id, self.channel_id)
        await self.router.handle_command(
            self.directory.escape(text),
            user_id=self.user_id,
            channel_id=self.channel_id,
            surface=surface,
            ack=surface.ack,
        )
        await self.answer_forms()

    # -- shell commands ----------------------------------------------------------------------

    async def shell_command(self, line: str) -> None:
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        if not words:
            self.warn("an empty shell command; :help lists them")
            return
        name, args = words[0].lower(), words[1:]
        handlers: dict[str, Callable[[list[str]], Awaitable[None]]] = {
            "as": self.as_command,
            "whoami": self.whoami_command,
            "users": self.users_command,
            "channel": self.channel_command,
            "press": self.press_command,
            "messages": self.messages_command,
            "thread": self.thread_command,
            "wait": self.wait_command,
            "help": self.help_command,
            "quit": self.quit_command,
            "exit": self.quit_command,
            "q": self.quit_command,
        }
        handler = handlers.get(name)
        if handler is None:
            self.warn(f"unknown shell command :{name}; :help lists them")
            return
        await handler(args)

    async def help_command(self, args: list[str]) -> None:
        for line in SHELL_HELP.splitlines():
            self.out.write(line)

    async def quit_command(self, args: list[str]) -> None:
        self._done = True

    async def as_command(self, args: list[str]) -> None:
        person = self.directory.person(args[0]) if len(args) == 1 else None
        if person is None:
            self.warn("usage: :as <user>   e.g. :as bob   (:users lists the people)")
            return
        self.user_name, self.user_id = person
        await self.whoami_command([])

    async def whoami_command(self, args: list[str]) -> None:
        roles = await self._roles(self.user_id)
        where = self.directory.channel_name(self.channel_id)
        self.note(f"you are {self.user_name} ({self.user_id}) in {where}; roles: {roles}")

    async def users_command(self, args: list[str]) -> None:
        width = max(len(name) for name in self.directory.people)
        for name, user_id in self.directory.people.items():
            marker = "*" if user_id == self.user_id else " "
            self.out.write(
                f"{marker} {name.ljust(width)}  {user_id.ljust(width + 1)}  {await self._roles(user_id)}"
            )

    async def channel_command(self, args: list[str]) -> None:
        if not args:
            known = ", ".join(f"#{name}" for name in self.directory.channels)
            self.note(f"you are in {self.directory.channel_name(self.channel_id)}; channels so far: {known}")
            return
        channel_id = self.directory.channel(args[0]) if len(args) == 1 else None
        if channel_id is None or channel_id.startswith(("U", "W")):
            self.warn("usage: :channel <#name>   e.g. :channel #ops")
            return
        self.channel_id = channel_id
        self.note(f"now in {self.directory.channel_name(channel_id)}")

    async def messages_command(self, args: list[str]) -> None:
        channel_id = self.directory.channel(args[0]) if args else self.channel_id
        if channel_id is None:
            self.warn("usage: :messages [#channel]")
            return
        shown = [m for m in self.messages if m.channel == channel_id and self._visible(m)]
        where = self.directory.channel_name(channel_id)
        if not shown:
            self.note(f"no messages in {where} yet")
            return
        self.note(f"recent messages in {where}:")
        for message in shown[-RECENT_MESSAGES:]:
            first = next((line for line in message.rendered.lines if line.strip()), message.reply.text)
            extras = []
            if message.controls:
                extras.append(f"{len(message.controls)} to press")
            if message.thread_ts:
                parent = self.find(message.channel, message.thread_ts)
                extras.append(f"in thread of {parent.ref if parent else message.thread_ts}")
            replies = sum(
                1 for m in self.messages if m.thread_ts == message.ts and m.channel == message.channel
            )
            if replies:
                extras.append(f"{replies} repl{'y' if replies == 1 else 'ies'}")
            if message.edited:
                extras.append("edited")
            tail = f"  ({', '.join(extras)})" if extras else ""
            self.out.write(f"  {message.ref:>4}  {message.at:%H:%M:%S}  {_clip(first, 70)}{tail}")

    async def thread_command(self, args: list[str]) -> None:
        message = self.resolve(args[0]) if len(args) == 1 else None
        if message is None:
            self.warn(
                "usage: :thread <ref>   (refs such as m3 are shown on every message; :messages lists them)"
            )
            return
        root = self.find(message.channel, message.thread_ts) if message.thread_ts else message
        root = root or message
        self.show(root)
        for reply in self.messages:
            if reply.channel == root.channel and reply.thread_ts == root.ts and self._visible(reply):
                self.show(reply)

    async def wait_command(self, args: list[str]) -> None:
        try:
            seconds = float(args[0]) if args else DEFAULT_WAIT_SECONDS
        except ValueError:
            seconds = -1.0
        if not 0 < seconds <= 3600 or len(args) > 1:
            self.warn("usage: :wait [seconds]   (a number from 0 to 3600)")
            return
        await _settle()  # work started by the last line gets to its first wait
        advance = getattr(self.runtime.clock, "advance", None)
        if advance is not None:  # a test clock: move time instead of waiting
            await advance(seconds)
        else:
            await self.runtime.clock.sleep(seconds)
        await _settle()  # whatever woke up runs to its next wait
        await self.answer_forms()
        self.note(f"waited {seconds:g}s")

    # -- buttons -----------------------------------------------------------------------------

    async def press_command(self, args: list[str]) -> None:
        """``<n> [on <ref>] [y]``: press control n of a message."""
        usage = "usage: :press <n> [on <ref>]   e.g. :press 1   or   :press 2 on m3"
        confirmed = bool(args) and args[-1].lower() in ("y", "yes")
        if confirmed:
            args = args[:-1]
        if (
            not args
            or not args[0].isdigit()
            or len(args) not in (1, 3)
            or (len(args) == 3 and args[1] != "on")
        ):
            self.warn(usage)
            return
        number = int(args[0])
        if len(args) == 3:
            message = self.resolve(args[2])
            if message is None:
                self.warn(f"no message {args[2]}; :messages lists them")
                return
            if not self._visible(message):
                self.warn(f"{message.ref} is not visible to {self.user_name}")
                return
        else:
            message = self.latest_with_controls()
            if message is None:
                self.warn("no message with buttons yet")
                return
        control = next((c for c in message.controls if c.number == number), None)
        if control is None:
            labels = " ".join(f"[{c.number} {c.label}]" for c in message.controls) or "none"
            self.warn(f"{message.ref} has no button {number}; it has {labels}")
            return
        await self.press(message, control, confirmed=confirmed)

    async def press(self, message: ShellMessage, control: Control, *, confirmed: bool = False) -> None:
        self.note(f"{self.user_name} pressed [{control.number} {control.label}] on {message.ref}")
        if control.url and control.kind == "button":
            self.note(f"opens {control.url}")
            return
        if control.confirm and not confirmed:
            await self.confirm(control.confirm)
        surface = ShellSurface(
            self, self.user_id, message.channel, source=message, thread_ts=message.thread_ts
        )
        interaction = Interaction(
            action_id=control.action_id,
            value=control.value,
            channel_id=message.channel,
            message_ts=message.ts,
            thread_ts=message.thread_ts,
            trigger_id=f"shell.{secrets.token_hex(6)}",
        )
        await self.router.handle_action(interaction, user_id=self.user_id, surface=surface, ack=surface.ack)
        await self.answer_forms()

    async def confirm(self, dialog: dict[str, Any]) -> None:
        """Slack's confirm dialog: ask before the press counts."""
        title = self.renderer.text_object(dialog.get("title")) or "Are you sure?"
        text = self.renderer.text_object(dialog.get("text"))
        yes = self.renderer.text_object(dialog.get("confirm")) or "Yes"
        no = self.renderer.text_object(dialog.get("deny")) or "Cancel"
        self.out.write(self.renderer.style(f"  ┌─ {title}", "bold"))
        for line in self.renderer.wrap(text):
            self.out.write(f"  │ {line}")
        self.out.write(self.renderer.style(f"  └─ y = {yes}, n = {no}", "bold"))
        answer = await self.input.read("  confirm (y/n)> ")
        if answer is None or answer.strip().lower() not in ("y", "yes", yes.lower()):
            raise Cancelled

    # -- forms (modals) ----------------------------------------------------------------------

    async def answer_forms(self) -> None:
        while self.forms:
            form = self.forms.pop(0)
            try:
                await self.fill(form)
            except Cancelled:
                self.note("form closed; nothing was submitted")

    async def fill(self, form: PendingForm) -> None:
        rendered = self.renderer.modal(form.view)
        for line in rendered.lines:
            self.out.write(line)
        fields = rendered.fields
        secret = self._secret_fields(form.view)
        answers: dict[str, str | None] = {f.block_id: f.initial for f in fields}
        if fields:
            self.note(
                "answer field by field (empty keeps the value shown, - clears it), or key=value … on one line"
            )
        else:
            answer = await self.input.read("  submit (y/n)> ")
            if answer is None or answer.strip().lower() not in ("y", "yes"):
                raise Cancelled
        to_ask = fields
        while True:
            for form_field in to_ask:
                answer = await self.ask(form_field, answers, fields, secret=form_field.block_id in secret)
                if isinstance(answer, dict):
                    answers.update(answer)
                    break
                answers[form_field.block_id] = answer
            errors = await self.submit(form, fields, answers)
            if not errors:
                return
            by_id = {f.block_id: f for f in fields}
            for block_id, message in errors.items():
                label = by_id[block_id].label if block_id in by_id else block_id
                self.warn(f"{label}: {message}")
            to_ask = [f for f in fields if f.block_id in errors] or fields

    async def ask(
        self,
        form_field: FormField,
        answers: dict[str, str | None],
        fields: list[FormField],
        *,
        secret: bool = False,
    ) -> str | dict[str, str | None] | None:
        """One field's answer; a whole line of key=value answers comes back as a dict."""
        while True:
            current = answers.get(form_field.block_id)
            shown = self._shown(form_field, current, secret=secret)
            optional = " (optional)" if form_field.optional else ""
            if form_field.options:
                choices = "  ".join(f"{n} {label}" for n, (label, _) in enumerate(form_field.options, 1))
                self.out.write(self.renderer.style(f"    choices: {choices}", "dim"))
            prompt = f"  {form_field.label}{optional}{f' [{shown}]' if shown else ''}: "
            line = await self.input.read(prompt, secret=secret)
            if line is None or line.strip().lower() == ":cancel":
                raise Cancelled
            text = line.strip()
            pairs = self._key_values(text, fields)
            if pairs is not None:
                return pairs
            if text == "":
                return current
            if text == "-":
                return None
            if form_field.options:
                value = _choose(form_field, text)
                if value is None:
                    self.warn(
                        f"{form_field.label}: pick a number from 1 to {len(form_field.options)}, or a value"
                    )
                    continue
                return value
            return line.rstrip() if form_field.multiline else text

    def _key_values(self, text: str, fields: list[FormField]) -> dict[str, str | None] | None:
        """``vlan=100 kind=private`` answers several fields at once (or None if the line is not that)."""
        if "=" not in text:
            return None
        try:
            tokens = shlex.split(text)
        except ValueError:
            return None
        by_key = {f.block_id.replace("-", "_").lower(): f for f in fields}
        pairs: dict[str, str | None] = {}
        for token in tokens:
            key, sep, value = token.partition("=")
            form_field = by_key.get(key.replace("-", "_").lower())
            if not sep or form_field is None:
                return None
            if form_field.options and value:
                chosen = _choose(form_field, value)
                value = chosen if chosen is not None else value
            pairs[form_field.block_id] = value or None
        return pairs

    async def submit(
        self, form: PendingForm, fields: list[FormField], answers: dict[str, str | None]
    ) -> dict[str, str] | None:
        """Submit the view as Slack would (state.values), through the router; the inline errors, if any."""
        values: dict[str, dict[str, Any]] = {}
        for form_field in fields:
            values[form_field.block_id] = {
                form_field.action_id: _state(form_field, answers.get(form_field.block_id))
            }
        view = {**form.view, "id": form.view_id, "state": {"values": values}}
        acked: list[dict[str, str] | None] = []

        async def ack_errors(errors: dict[str, str] | None) -> None:
            acked.append(errors)

        surface = ShellSurface(
            self, form.surface.user_id, form.surface.channel_id, thread_ts=form.surface.thread_ts
        )
        await self.router.handle_view(
            view, user_id=form.surface.user_id, surface=surface, ack_errors=ack_errors
        )
        return acked[0] if acked else None

    def _secret_fields(self, view: dict[str, Any]) -> set[str]:
        """Fields typed SecretStr in the operation behind a generated modal: masked, never echoed."""
        if view.get("callback_id") != modals.CALLBACK_ID:
            return set()
        op = self.runtime.registry.by_name(modals.metadata(view).get("op", ""))
        if op is None:
            return set()
        return {name for name, info in op.params.model_fields.items() if _is_secret_type(info.annotation)}

    def _shown(self, form_field: FormField, value: str | None, *, secret: bool) -> str:
        if value is None:
            return ""
        if secret:
            return MASK
        for label, option_value in form_field.options:
            if option_value == value:
                return label
        return value

    # -- messages ----------------------------------------------------------------------------

    def record(
        self, channel: str, reply: Reply, *, visible_to: str | None = None, thread_ts: str | None = None
    ) -> ShellMessage:
        self._ts += 1
        now = self.runtime.clock.now()
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
        candidates = [m for m in self.messages if m.controls and self._visible(m)]
        return max(candidates, key=lambda m: m.order, default=None)

    def _visible(self, message: ShellMessage) -> bool:
        return message.visible_to is None or message.visible_to == self.user_id

    def show(self, message: ShellMessage) -> None:
        self._order += 1
        message.order = self._order
        indent = "    " if message.thread_ts else ""
        self.out.write(indent + self.renderer.style(self._heading(message), "bold"))
        for line in message.rendered.lines:
            self.out.write(f"{indent}  {line}".rstrip())

    def _heading(self, message: ShellMessage) -> str:
        where = self.directory.channel_name(message.channel)
        if message.channel.startswith(("U", "W")):
            place = f"to {where} (direct message)"
        elif message.visible_to is not None:
            who = "you" if message.visible_to == self.user_id else self.directory.display(message.visible_to)
            place = f"in {where}, only visible to {who}"
        else:
            place = f"in {where}"
        if message.thread_ts:
            parent = self.find(message.channel, message.thread_ts)
            place += f", thread of {parent.ref if parent else message.thread_ts}"
        edited = " (edited)" if message.edited else ""
        return f"[{message.ref}] {BOT_NAME} {place}{edited}:"

    # -- notes from the shell itself ---------------------------------------------------------

    def note(self, text: str) -> None:
        self.out.write(self.renderer.style(f"» {text}", "dim"))

    def warn(self, text: str) -> None:
        self.out.write(self.renderer.style(f"» {emoji('warning')} {text}", "yellow"))

    async def _roles(self, user_id: str) -> str:
        roles = await self.runtime.roles.roles(user_id) if self.runtime.roles else frozenset({Role.READER})
        return ", ".join(role.value for role in ROLE_ORDER if role in roles)

    async def _banner(self) -> None:
        providers = "sandbox providers" if self.sandbox else "configured providers"
        self.note(
            f"circuitbot shell on {providers}; type help for the bot's commands, :help for the shell's, "
            ":quit to leave"
        )
        await self.whoami_command([])

    # -- background engines ------------------------------------------------------------------

    async def _start_engines(self) -> list[Any]:
        """Start the approvals and watch engines; the shell goes on without one that fails."""

        def failed(name: str, exc: Exception) -> None:
            error_id = secrets.token_hex(4)
            log.error("could not start the %s engine (error id %s)", name, error_id, exc_info=exc)
            self.warn(f"the {name} engine did not start (error id {error_id})")

        return [getattr(self.runtime, name) for name in await self.runtime.start_engines(on_error=failed)]

    async def _stop_engines(self, engines: list[Any]) -> None:
        for engine in reversed(engines):
            try:
                await _maybe_await(getattr(engine, "stop", None))
            except Exception:
                log.exception("could not stop %s", type(engine).__name__)

    async def _drain(self, engines: list[Any], baseline: set[asyncio.Task]) -> None:
        """Let work already under way finish (an engine's drain(), tasks started since), within a bound."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.drain_seconds
        for engine in engines:
            drain = getattr(engine, "drain", None)
            if drain is None:
                continue
            try:
                await asyncio.wait_for(_maybe_await(drain), max(0.0, deadline - loop.time()))
            except TimeoutError:
                break
            except Exception:
                log.exception("draining %s failed", type(engine).__name__)
        current = asyncio.current_task()
        while True:
            pending = {
                t for t in asyncio.all_tasks() if t is not current and t not in baseline and not t.done()
            }
            remaining = deadline - loop.time()
            if not pending:
                break
            if remaining <= 0:
                self.note(f"stopped waiting for background work after {self.drain_seconds:g}s")
                break
            await asyncio.wait(pending, timeout=remaining)
        await self.answer_forms()


async def _settle(rounds: int = 10) -> None:
    """Give ready tasks a few turns of the event loop."""
    for _ in range(rounds):
        await asyncio.sleep(0)


def _choose(form_field: FormField, text: str) -> str | None:
    """An option's value from its number, its value or its label."""
    text = text.strip()
    if text.isdigit() and 1 <= int(text) <= len(form_field.options):
        return form_field.options[int(text) - 1][1]
    for label, value in form_field.options:
        if text == value or text.lower() in (value.lower(), label.lower()):
            return value
    return None


def _state(form_field: FormField, value: str | None) -> dict[str, Any]:
    """One input's entry in a submitted view's state.values, shaped as Slack sends it."""
    kind = form_field.element_type
    if kind in ("static_select", "radio_buttons"):
        label = next((lab for lab, val in form_field.options if val == value), value)
        selected = None if value is None else {"text": {"type": "plain_text", "text": label}, "value": value}
        return {"type": kind, "selected_option": selected}
    if kind == "datepicker":
        return {"type": kind, "selected_date": value}
    if kind == "timepicker":
        return {"type": kind, "selected_time": value}
    return {"type": kind, "value": value}


def _is_secret_type(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(_is_secret_type(arg) for arg in getattr(annotation, "__args__", ()))


async def _maybe_await(method: Callable[[], Any] | None) -> None:
    if method is None:
        return
    result = method()
    if inspect.isawaitable(result):
        await result


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _OneLineHandler(logging.Handler):
    """Wraps a terminal log handler so errors show as one line; the traceback goes to the log file."""

    def __init__(self, inner: logging.Handler) -> None:
        super().__init__(inner.level)
        self.inner = inner

    def handle(self, record: logging.LogRecord) -> bool:
        if record.exc_info or record.exc_text or record.stack_info:
            record = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
            record.stack_info = None
        return bool(self.inner.handle(record))

    def emit(self, record: logging.LogRecord) -> None:  # handle() does the work
        self.inner.emit(record)


@contextlib.contextmanager
def _tracebacks_to_file(path: Path) -> Iterator[None]:
    """While the shell runs, tracebacks go to ``path``, not over the conversation on the terminal."""
    root = logging.getLogger()
    saved = list(root.handlers)
    file_handler: logging.Handler | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(path, encoding="utf-8", delay=True)
        file_handler.setLevel(logging.WARNING)
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        if saved:
            file_handler.filters = list(saved[0].filters)  # the same secret scrubbing
    except OSError:
        file_handler = None
    terminal_streams = (sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__)
    wrapped = [
        _OneLineHandler(h)
        if type(h) is logging.StreamHandler and getattr(h, "stream", None) in terminal_streams
        else h
        for h in saved
    ]
    root.handlers[:] = [*wrapped, *([file_handler] if file_handler else [])]
    try:
        yield
    finally:
        root.handlers[:] = saved
        if file_handler is not None:
            file_handler.close()


async def run_shell(
    settings: Settings,
    *,
    user: str = "alice",
    sandbox: bool = True,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    runtime: Runtime | None = None,
    drain_seconds: float = DRAIN_SECONDS,
) -> int:
    """Run the console until :quit or end of input; returns the exit code.

    Without ``runtime`` it builds one from ``settings`` (SQLite under ``settings.data_dir`` by
    default; on the sandbox the shell's people get roles by name) and closes it at the end. A
    given ``runtime`` is used as it is and left open. At the end of input the shell waits up to
    ``drain_seconds`` (real time) for background work under way; work parked on a test clock
    never finishes by itself, so tests that leave some give a small bound.
    """
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    owned = runtime is None
    if runtime is None:
        settings = shell_settings(settings, sandbox=sandbox)
        from circuitbot.bootstrap import build_runtime

        try:
            runtime = await build_runtime(settings, sandbox=sandbox)
        except Exception as exc:
            log.debug("the shell could not start", exc_info=True)
            stdout.write(f"circuitbot: cannot start the shell: {type(exc).__name__}: {exc}\n")
            return 1
    try:
        with _tracebacks_to_file(Path(runtime.settings.data_dir) / "shell.log"):
            console = Console(
                runtime, stdin=stdin, stdout=stdout, user=user, sandbox=sandbox, drain_seconds=drain_seconds
            )
            return await console.run()
    finally:
        if owned:
            await runtime.close()
