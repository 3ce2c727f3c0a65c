"""``circuitbot shell``: a local console in place of Slack.

Everything goes through the same Router as Slack: a typed line is a ``/circuit`` command,
buttons are pressed by number, modals are answered field by field (or with ``key=value`` on
one line), and the bot's posts to channels (approval requests, watch notifications) are
printed as they happen. ``:as bob`` switches identity, so one person can walk the whole
approval flow. When stdin is not a terminal the shell reads it line by line and echoes each
line after a prompt, so a piped script gives a readable transcript.

This module is the loop and the ``:`` commands; ``directory`` holds the people and channels,
``terminal`` reading and writing, ``forms`` the modals and ``messages`` what the bot has shown.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import re
import secrets
import shlex
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from pydantic import SecretStr

from circuitbot.actions.registry import Interaction, Role
from circuitbot.chat.blocks import clip
from circuitbot.chat.router import CommandError, Router
from circuitbot.logs import scrub
from circuitbot.runtime import Runtime
from circuitbot.settings import ConfigError, Settings
from circuitbot.shell.directory import (
    DEFAULT_CHANNEL,
    PEOPLE,
    ROLE_ORDER,
    Directory,
    channel_id_for,
    person_id,
    shell_settings,
)
from circuitbot.shell.forms import Cancelled, FormFiller, mask_secret_options
from circuitbot.shell.messages import MessageLog, ShellMessage, ShellPoster, ShellSurface
from circuitbot.shell.render import Control, Renderer
from circuitbot.shell.terminal import MASK, Output, ScriptInput, TerminalInput, isatty, tracebacks_to_file
from circuitbot.shell.text import DEFAULT_WIDTH

__all__ = [
    "PEOPLE",
    "SHELL_HELP",
    "Console",
    "Directory",
    "channel_id_for",
    "person_id",
    "run_shell",
    "shell_settings",
]

log = logging.getLogger(__name__)

DEFAULT_WAIT_SECONDS = 5.0
# How long the shell waits at the end of a script for background work (an approved operation
# running, a notification on its way) before it stops the engines.
DRAIN_SECONDS = 10.0
RECENT_MESSAGES = 15

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


class Console:
    """The loop: reads a line, runs it (a /circuit command, a button press, a :command), and
    answers the forms it opened; the bot's posts meanwhile are printed as they happen."""

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
        tty = isatty(stdout)
        width = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns if tty else DEFAULT_WIDTH
        self.renderer = Renderer(
            width=max(40, width - 2), color=tty and "NO_COLOR" not in os.environ, names=self.directory.display
        )
        self.out = Output(stdout, self.renderer.style)
        if isatty(stdin):
            self.input: ScriptInput | TerminalInput = TerminalInput(
                self.out, Path(runtime.settings.data_dir) / ".shell_history", mask=self.masked
            )
        else:
            self.input = ScriptInput(stdin, self.out, mask=self.masked)
        self.user_name, self.user_id = self.directory.person(user) or ("alice", person_id("alice"))
        self.channel_id = self.directory.channel(DEFAULT_CHANNEL) or channel_id_for(DEFAULT_CHANNEL)
        self.forms = FormFiller(self.router, self.renderer, self.out, self.input)
        self.messages = MessageLog(
            clock=runtime.clock,
            renderer=self.renderer,
            out=self.out,
            directory=self.directory,
            viewer=lambda: self.user_id,
        )
        self.poster = ShellPoster(self.messages)
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
            await self._drain(baseline)
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
            self.out.note("cancelled")
        except Exception:
            error_id = secrets.token_hex(4)
            log.exception("shell line failed (error id %s): %s", error_id, clip(self.masked(line), 200))
            self.out.warn(f"something went wrong (error id {error_id}); the shell goes on")

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
                self.out.warn(
                    f"unknown slash command /{slash}; this shell has /circuit (or just type the command)"
                )
                return
            await self.command(rest)
        else:
            await self.command(line)

    def masked(self, line: str) -> str:
        """The line as it may be kept or shown again (the log, the history, a script's echo): the
        value of every secret field it sets masked, given as key=value or in its place."""
        text = mask_secret_options(line, self._secret_options())
        command = line.strip()
        if command[:9].lower() in ("/circuit", "/circuit "):
            command = command[9:]
        try:
            inv = self.router.parse(command)
        except CommandError:  # not a command (a :command, an answer) or not one that parses
            return text
        except Exception:
            return MASK
        secret = inv.op.params.secret_names()
        given = [_plain(value) for name, value in inv.data.items() if name in secret and value]
        return inv.shown if any(value in text for value in given if value != MASK) else text

    def _secret_options(self) -> set[str]:
        """Every key that sets a secret field of some operation (names and aliases)."""
        keys = set()
        for op in self.router.registry:
            for name in op.params.secret_names():
                keys.add(name)
                alias = op.params.model_fields[name].alias
                if alias:
                    keys.add(alias)
        return keys

    def surface(self, channel_id: str | None, *, source: ShellMessage | None = None) -> ShellSurface:
        """Where the answers to what the current person does now are shown (in a pressed
        message's thread, if it has one)."""
        return ShellSurface(
            self.messages,
            self.forms,
            self.user_id,
            channel_id,
            source=source,
            thread_ts=source.thread_ts if source else None,
        )

    # -- /circuit ----------------------------------------------------------------------------

    async def command(self, text: str) -> None:
        surface = self.surface(self.channel_id)
        await self.router.handle_command(
            self.directory.escape(text),
            user_id=self.user_id,
            channel_id=self.channel_id,
            surface=surface,
            ack=surface.ack,
        )
        await self.forms.answer_forms()

    # -- shell commands ----------------------------------------------------------------------

    async def shell_command(self, line: str) -> None:
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        if not words:
            self.out.warn("an empty shell command; :help lists them")
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
            self.out.warn(f"unknown shell command :{name}; :help lists them")
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
            self.out.warn("usage: :as <user>   e.g. :as bob   (:users lists the people)")
            return
        self.user_name, self.user_id = person
        await self.whoami_command([])

    async def whoami_command(self, args: list[str]) -> None:
        roles = await self._roles(self.user_id)
        where = self.directory.channel_name(self.channel_id)
        self.out.note(f"you are {self.user_name} ({self.user_id}) in {where}; roles: {roles}")

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
            self.out.note(
                f"you are in {self.directory.channel_name(self.channel_id)}; channels so far: {known}"
            )
            return
        channel_id = self.directory.channel(args[0]) if len(args) == 1 else None
        if channel_id is None or channel_id.startswith(("U", "W")):
            self.out.warn("usage: :channel <#name>   e.g. :channel #ops")
            return
        self.channel_id = channel_id
        self.out.note(f"now in {self.directory.channel_name(channel_id)}")

    async def messages_command(self, args: list[str]) -> None:
        channel_id = self.directory.channel(args[0]) if args else self.channel_id
        if channel_id is None:
            self.out.warn("usage: :messages [#channel]")
            return
        shown = [m for m in self.messages if m.channel == channel_id and self.messages.visible(m)]
        where = self.directory.channel_name(channel_id)
        if not shown:
            self.out.note(f"no messages in {where} yet")
            return
        self.out.note(f"recent messages in {where}:")
        for message in shown[-RECENT_MESSAGES:]:
            first = next((line for line in message.rendered.lines if line.strip()), message.reply.text)
            extras = []
            if message.controls:
                extras.append(f"{len(message.controls)} to press")
            if message.thread_ts:
                parent = self.messages.find(message.channel, message.thread_ts)
                extras.append(f"in thread of {parent.ref if parent else message.thread_ts}")
            replies = sum(
                1 for m in self.messages if m.thread_ts == message.ts and m.channel == message.channel
            )
            if replies:
                extras.append(f"{replies} repl{'y' if replies == 1 else 'ies'}")
            if message.edited:
                extras.append("edited")
            tail = f"  ({', '.join(extras)})" if extras else ""
            self.out.write(f"  {message.ref:>4}  {message.at:%H:%M:%S}  {clip(first, 70)}{tail}")

    async def thread_command(self, args: list[str]) -> None:
        message = self.messages.resolve(args[0]) if len(args) == 1 else None
        if message is None:
            self.out.warn(
                "usage: :thread <ref>   (refs such as m3 are shown on every message; :messages lists them)"
            )
            return
        root = self.messages.find(message.channel, message.thread_ts) if message.thread_ts else message
        root = root or message
        self.messages.show(root)
        for reply in self.messages:
            if reply.channel == root.channel and reply.thread_ts == root.ts and self.messages.visible(reply):
                self.messages.show(reply)

    async def wait_command(self, args: list[str]) -> None:
        try:
            seconds = float(args[0]) if args else DEFAULT_WAIT_SECONDS
        except ValueError:
            seconds = -1.0
        if not 0 < seconds <= 3600 or len(args) > 1:
            self.out.warn("usage: :wait [seconds]   (a number from 0 to 3600)")
            return
        await _settle()  # work started by the last line gets to its first wait
        advance = getattr(self.runtime.clock, "advance", None)
        if advance is not None:  # a test clock: move time instead of waiting
            await advance(seconds)
        else:
            await self.runtime.clock.sleep(seconds)
        await _settle()  # whatever woke up runs to its next wait
        await self.forms.answer_forms()
        self.out.note(f"waited {seconds:g}s")

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
            self.out.warn(usage)
            return
        number = int(args[0])
        if len(args) == 3:
            message = self.messages.resolve(args[2])
            if message is None:
                self.out.warn(f"no message {args[2]}; :messages lists them")
                return
            if not self.messages.visible(message):
                self.out.warn(f"{message.ref} is not visible to {self.user_name}")
                return
        else:
            message = self.messages.latest_with_controls()
            if message is None:
                self.out.warn("no message with buttons yet")
                return
        control = next((c for c in message.controls if c.number == number), None)
        if control is None:
            labels = " ".join(f"[{c.number} {c.label}]" for c in message.controls) or "none"
            self.out.warn(f"{message.ref} has no button {number}; it has {labels}")
            return
        await self.press(message, control, confirmed=confirmed)

    async def press(self, message: ShellMessage, control: Control, *, confirmed: bool = False) -> None:
        self.out.note(f"{self.user_name} pressed [{control.number} {control.label}] on {message.ref}")
        if control.url and control.kind == "button":
            self.out.note(f"opens {control.url}")
            return
        if control.confirm and not confirmed:
            await self.confirm(control.confirm)
        surface = self.surface(message.channel, source=message)
        interaction = Interaction(
            action_id=control.action_id,
            value=control.value,
            channel_id=message.channel,
            message_ts=message.ts,
            thread_ts=message.thread_ts,
            trigger_id=f"shell.{secrets.token_hex(6)}",
        )
        await self.router.handle_action(interaction, user_id=self.user_id, surface=surface, ack=surface.ack)
        await self.forms.answer_forms()

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

    # -- who and where -----------------------------------------------------------------------

    async def _roles(self, user_id: str) -> str:
        roles = await self.runtime.roles.roles(user_id) if self.runtime.roles else frozenset({Role.READER})
        return ", ".join(role.value for role in ROLE_ORDER if role in roles)

    async def _banner(self) -> None:
        providers = "sandbox providers" if self.sandbox else "configured providers"
        self.out.note(
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
            self.out.warn(f"the {name} engine did not start (error id {error_id})")

        return [getattr(self.runtime, name) for name in await self.runtime.start_engines(on_error=failed)]

    async def _stop_engines(self, engines: list[Any]) -> None:
        for engine in reversed(engines):
            try:
                await _maybe_await(getattr(engine, "stop", None))
            except Exception:
                log.exception("could not stop %s", type(engine).__name__)

    async def _drain(self, baseline: set[asyncio.Task]) -> None:
        """Let work already under way (tasks started since ``baseline``) finish, within a bound."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.drain_seconds
        current = asyncio.current_task()
        while True:
            pending = {
                t for t in asyncio.all_tasks() if t is not current and t not in baseline and not t.done()
            }
            remaining = deadline - loop.time()
            if not pending:
                break
            if remaining <= 0:
                self.out.note(f"stopped waiting for background work after {self.drain_seconds:g}s")
                break
            await asyncio.wait(pending, timeout=remaining)
        await self.forms.answer_forms()


async def _settle(rounds: int = 10) -> None:
    """Give ready tasks a few turns of the event loop."""
    for _ in range(rounds):
        await asyncio.sleep(0)


def _plain(value: Any) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


async def _maybe_await(method: Callable[[], Any] | None) -> None:
    if method is None:
        return
    result = method()
    if inspect.isawaitable(result):
        await result


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
    never finishes by itself, so tests that leave some give a small bound. A bad setting
    raises ``ConfigError`` (the command line reports it); any other failure to start is one
    line on stderr and exit code 1.
    """
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    owned = runtime is None
    if runtime is None:
        settings = shell_settings(settings, sandbox=sandbox)
        from circuitbot.bootstrap import build_runtime

        try:
            runtime = await build_runtime(settings, sandbox=sandbox)
        except ConfigError:
            raise  # a bad setting: the command line names it on stderr and exits 2
        except Exception as exc:
            log.debug("the shell could not start", exc_info=True)
            print(
                f"circuitbot: cannot start the shell: {type(exc).__name__}: {scrub(str(exc))}",
                file=sys.stderr,
            )
            return 1
    try:
        with tracebacks_to_file(Path(runtime.settings.data_dir) / "shell.log", runtime.settings.log_level):
            console = Console(
                runtime, stdin=stdin, stdout=stdout, user=user, sandbox=sandbox, drain_seconds=drain_seconds
            )
            return await console.run()
    finally:
        if owned:
            await runtime.close()
