"""``circuitbot shell``: a local console in place of Slack.

Everything goes through the same Router as Slack: a typed line is a ``/circuit`` command,
buttons are pressed by number, modals are answered field by field (or with ``key=value`` on
one line), and the bot's posts to channels (approval requests, watch notifications) are
printed as they happen. ``:as bob`` switches identity, so one person can walk the whole
approval flow. When stdin is not a terminal the shell reads it line by line and echoes each
line after a prompt, so a piped script gives a readable transcript.

This module is the loop; ``commands`` holds the ``:`` commands and button presses,
``engines`` the background engines, ``directory`` the people and channels, ``terminal``
reading and writing, ``forms`` the modals and ``messages`` what the bot has shown.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import shutil
import sys
from pathlib import Path
from typing import Any, TextIO

from pydantic import SecretStr

from circuitbot.chat.blocks import clip
from circuitbot.chat.router import CommandError, Router
from circuitbot.clock import ShiftedClock
from circuitbot.logs import scrub
from circuitbot.runtime import Runtime
from circuitbot.settings import ConfigError, Settings
from circuitbot.shell.commands import press_command, shell_command, whoami_command
from circuitbot.shell.directory import DEFAULT_CHANNEL, Directory, channel_id_for, person_id, shell_settings
from circuitbot.shell.engines import drain, start_engines, stop_engines
from circuitbot.shell.forms import Cancelled, FormFiller, mask_secret_options
from circuitbot.shell.messages import MessageLog, ShellMessage, ShellPoster, ShellSurface
from circuitbot.shell.render import Renderer
from circuitbot.shell.terminal import MASK, Output, ScriptInput, TerminalInput, isatty, tracebacks_to_file
from circuitbot.shell.text import DEFAULT_WIDTH

log = logging.getLogger(__name__)

# How long the shell waits at the end of a script for background work (an approved operation
# running, a notification on its way) before it stops the engines.
DRAIN_SECONDS = 10.0


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
        self.done = False  # set by :quit

    # -- the loop ----------------------------------------------------------------------------

    async def run(self) -> int:
        previous_poster = self.runtime.poster
        self.runtime.poster = self.poster
        engines = await start_engines(self.runtime, self.out)
        baseline = set(asyncio.all_tasks())
        try:
            await self._banner()
            while not self.done:
                line = await self.input.read(self.prompt)
                if line is None:
                    break
                await self.handle_line(line)
            await drain(baseline, self.drain_seconds, self.out)
            await self.forms.answer_forms()
        finally:
            await stop_engines(engines)
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
            await shell_command(self, line[1:])
        elif re.fullmatch(r"\d+(\s+(y|yes))?", line, re.IGNORECASE):
            await press_command(self, line.split())
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

    async def _banner(self) -> None:
        providers = "sandbox providers" if self.sandbox else "configured providers"
        self.out.note(
            f"circuitbot shell on {providers}; type help for the bot's commands, :help for the shell's, "
            ":quit to leave"
        )
        await whoami_command(self, [])


def _plain(value: Any) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


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
            # On the sandbox, :clock moves time forward (windows, digests); elsewhere it is the host's.
            runtime = await build_runtime(
                settings, sandbox=sandbox, clock=ShiftedClock() if sandbox else None
            )
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
