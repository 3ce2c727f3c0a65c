"""The shell's own ``:`` commands and its button presses.

Each command is a function of the console (who and where the person is, what the bot has
shown) and the words after the command's name; ``COMMANDS`` maps every name and alias to one.
A bare number on its own line presses a button as ``:press`` does.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import shlex
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from circuitbot.actions.registry import Interaction
from circuitbot.chat.blocks import clip
from circuitbot.chat.reply import Reply
from circuitbot.clock import FakeClock, ShiftedClock
from circuitbot.home.view import home_blocks
from circuitbot.shell.directory import ROLE_ORDER
from circuitbot.shell.engines import settle
from circuitbot.shell.forms import Cancelled
from circuitbot.shell.messages import ShellMessage
from circuitbot.shell.render import Control

if TYPE_CHECKING:
    from circuitbot.shell.console import Console

DEFAULT_WAIT_SECONDS = 5.0
CATCH_UP_SECONDS = 120.0  # :wait gives the scheduled jobs this long (real time) to run once
CATCH_UP_ROUNDS = 5  # rounds of the jobs while messages are still owed
SHIFT = re.compile(r"\+(\d+(?:\.\d+)?)([mhd])")
SHIFT_UNITS = {"m": 60, "h": 3600, "d": 86400}
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
  :home                    your Home, as Slack's App Home shows it (its buttons can be pressed)
  :wait [seconds]          let background work (watches, notifications, approved operations) run,
                           then every scheduled job once (what :clock made due runs now)
  :clock [+2h|+30m|+1d]    the sandbox's time; moved forward, scheduled changes and digests come due
  :help                    this help;  help  is the bot's own help
  :quit                    leave (so does end of input)
In a form: answer each field in turn (empty keeps the value shown, - clears it), or give
key=value … on one line; :cancel closes the form. Lines starting with # are comments."""

Command = Callable[["Console", list[str]], Awaitable[None]]


async def shell_command(console: Console, line: str) -> None:
    """A line that started with ``:``, without the colon."""
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    if not words:
        console.out.warn("an empty shell command; :help lists them")
        return
    name, args = words[0].lower(), words[1:]
    handler = COMMANDS.get(name)
    if handler is None:
        console.out.warn(f"unknown shell command :{name}; :help lists them")
        return
    await handler(console, args)


async def help_command(console: Console, args: list[str]) -> None:
    for line in SHELL_HELP.splitlines():
        console.out.write(line)


async def quit_command(console: Console, args: list[str]) -> None:
    console.done = True


# -- who and where ---------------------------------------------------------------------------


async def as_command(console: Console, args: list[str]) -> None:
    person = console.directory.person(args[0]) if len(args) == 1 else None
    if person is None:
        console.out.warn("usage: :as <user>   e.g. :as bob   (:users lists the people)")
        return
    console.user_name, console.user_id = person
    await whoami_command(console, [])


async def whoami_command(console: Console, args: list[str]) -> None:
    roles = await _roles(console, console.user_id)
    where = console.directory.channel_name(console.channel_id)
    console.out.note(f"you are {console.user_name} ({console.user_id}) in {where}; roles: {roles}")


async def users_command(console: Console, args: list[str]) -> None:
    width = max(len(name) for name in console.directory.people)
    for name, user_id in console.directory.people.items():
        marker = "*" if user_id == console.user_id else " "
        console.out.write(
            f"{marker} {name.ljust(width)}  {user_id.ljust(width + 1)}  {await _roles(console, user_id)}"
        )


async def channel_command(console: Console, args: list[str]) -> None:
    directory = console.directory
    if not args:
        known = ", ".join(f"#{name}" for name in directory.channels)
        console.out.note(f"you are in {directory.channel_name(console.channel_id)}; channels so far: {known}")
        return
    channel_id = directory.channel(args[0]) if len(args) == 1 else None
    if channel_id is None or channel_id.startswith(("U", "W")):
        console.out.warn("usage: :channel <#name>   e.g. :channel #ops")
        return
    console.channel_id = channel_id
    console.out.note(f"now in {directory.channel_name(channel_id)}")


async def _roles(console: Console, user_id: str) -> str:
    runtime = console.runtime
    roles = await runtime.roles.roles(user_id)
    return ", ".join(role.value for role in ROLE_ORDER if role in roles)


# -- what the bot has shown ------------------------------------------------------------------


async def messages_command(console: Console, args: list[str]) -> None:
    messages = console.messages
    channel_id = console.directory.channel(args[0]) if args else console.channel_id
    if channel_id is None:
        console.out.warn("usage: :messages [#channel]")
        return
    shown = [m for m in messages if m.channel == channel_id and messages.visible(m)]
    where = console.directory.channel_name(channel_id)
    if not shown:
        console.out.note(f"no messages in {where} yet")
        return
    console.out.note(f"recent messages in {where}:")
    for message in shown[-RECENT_MESSAGES:]:
        first = next((line for line in message.rendered.lines if line.strip()), message.reply.text)
        extras = []
        if message.controls:
            extras.append(f"{len(message.controls)} to press")
        if message.thread_ts:
            parent = messages.find(message.channel, message.thread_ts)
            extras.append(f"in thread of {parent.ref if parent else message.thread_ts}")
        replies = sum(1 for m in messages if m.thread_ts == message.ts and m.channel == message.channel)
        if replies:
            extras.append(f"{replies} repl{'y' if replies == 1 else 'ies'}")
        if message.edited:
            extras.append("edited")
        tail = f"  ({', '.join(extras)})" if extras else ""
        console.out.write(f"  {message.ref:>4}  {message.at:%H:%M:%S}  {clip(first, 70)}{tail}")


async def thread_command(console: Console, args: list[str]) -> None:
    messages = console.messages
    message = messages.resolve(args[0]) if len(args) == 1 else None
    if message is None:
        console.out.warn(
            "usage: :thread <ref>   (refs such as m3 are shown on every message; :messages lists them)"
        )
        return
    root = messages.find(message.channel, message.thread_ts) if message.thread_ts else message
    root = root or message
    messages.show(root)
    for reply in messages:
        if reply.channel == root.channel and reply.thread_ts == root.ts and messages.visible(reply):
            messages.show(reply)


async def wait_command(console: Console, args: list[str]) -> None:
    try:
        seconds = float(args[0]) if args else DEFAULT_WAIT_SECONDS
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600 or len(args) > 1:
        console.out.warn("usage: :wait [seconds]   (a number from 0 to 3600)")
        return
    await settle()  # work started by the last line gets to its first wait
    advance = getattr(console.runtime.clock, "advance", None)
    if advance is not None:  # a test clock: move time instead of waiting
        await advance(seconds)
    else:
        await console.runtime.clock.sleep(seconds)
    await settle()  # whatever woke up runs to its next wait
    await run_due_jobs(console)
    await console.forms.answer_forms()
    console.out.note(f"waited {seconds:g}s")


async def home_command(console: Console, args: list[str]) -> None:
    """Your Home: what waits for your decision, your requests, your watches."""
    blocks = await home_blocks(console.runtime, console.user_id)
    await console.surface(console.channel_id).reply(Reply(text="Your Home", blocks=blocks))


async def run_due_jobs(console: Console) -> None:
    """Every scheduled job now: what came due (the clock moved, a window opened) runs. Then, while
    messages are owed (a digest, a note the run wrote), a second apart (Slack's pace per channel),
    the jobs again, so that they are shown before the prompt comes back."""
    runtime = console.runtime
    sender = getattr(runtime.watches, "sender", None)
    for _ in range(CATCH_UP_ROUNDS):
        if not await runtime.scheduler.catch_up(CATCH_UP_SECONDS):
            console.out.note(f"some background jobs were still running after {CATCH_UP_SECONDS:g}s")
        await settle()
        if sender is None or not await sender.pending():
            return
        clock = runtime.clock
        await (clock.advance(1.0) if isinstance(clock, FakeClock) else asyncio.sleep(1.0))


async def clock_command(console: Console, args: list[str]) -> None:
    """``:clock``: the time the bot goes by; ``:clock +2h`` moves the sandbox's clock forward."""
    clock = console.runtime.clock
    if args:
        found = SHIFT.fullmatch(args[0]) if len(args) == 1 else None
        if found is None:
            console.out.warn("usage: :clock [+<n>m|h|d]   e.g. :clock +2h   (forward only)")
            return
        by = timedelta(seconds=float(found[1]) * SHIFT_UNITS[found[2]])
        if isinstance(clock, ShiftedClock):
            clock.shift(by)
        elif isinstance(clock, FakeClock):  # a test's clock
            await clock.advance(by.total_seconds())
        else:
            console.out.warn("the clock moves only in the sandbox")
            return
    now = clock.now()
    console.out.note(f"the bot's clock: {now:%a %Y-%m-%d %H:%M} UTC; :wait lets what is due run")


# -- buttons ---------------------------------------------------------------------------------


async def press_command(console: Console, args: list[str]) -> None:
    """``<n> [on <ref>] [y]``: press control n of a message."""
    usage = "usage: :press <n> [on <ref>]   e.g. :press 1   or   :press 2 on m3"
    confirmed = bool(args) and args[-1].lower() in ("y", "yes")
    if confirmed:
        args = args[:-1]
    if not args or not args[0].isdigit() or len(args) not in (1, 3) or (len(args) == 3 and args[1] != "on"):
        console.out.warn(usage)
        return
    number = int(args[0])
    message = _message_to_press(console, args[2] if len(args) == 3 else None)
    if message is None:
        return
    control = next((c for c in message.controls if c.number == number), None)
    if control is None:
        labels = " ".join(f"[{c.number} {c.label}]" for c in message.controls) or "none"
        console.out.warn(f"{message.ref} has no button {number}; it has {labels}")
        return
    await press(console, message, control, confirmed=confirmed)


def _message_to_press(console: Console, ref: str | None) -> ShellMessage | None:
    """The message named by ``ref``, or the latest with buttons; None (said why) if there is none."""
    messages = console.messages
    if ref is None:
        message = messages.latest_with_controls()
        if message is None:
            console.out.warn("no message with buttons yet")
        return message
    message = messages.resolve(ref)
    if message is None:
        console.out.warn(f"no message {ref}; :messages lists them")
        return None
    if not messages.visible(message):
        console.out.warn(f"{message.ref} is not visible to {console.user_name}")
        return None
    return message


async def press(
    console: Console, message: ShellMessage, control: Control, *, confirmed: bool = False
) -> None:
    console.out.note(f"{console.user_name} pressed [{control.number} {control.label}] on {message.ref}")
    if control.url and control.kind == "button":
        console.out.note(f"opens {control.url}")
        return
    if control.confirm and not confirmed:
        await confirm(console, control.confirm)
    surface = console.surface(message.channel, source=message)
    interaction = Interaction(
        action_id=control.action_id,
        value=control.value,
        channel_id=message.channel,
        message_ts=message.ts,
        thread_ts=message.thread_ts,
        trigger_id=f"shell.{secrets.token_hex(6)}",
    )
    await console.router.handle_action(interaction, user_id=console.user_id, surface=surface, ack=surface.ack)
    await console.forms.answer_forms()


async def confirm(console: Console, dialog: dict[str, Any]) -> None:
    """Slack's confirm dialog: ask before the press counts."""
    renderer, out = console.renderer, console.out
    title = renderer.text_object(dialog.get("title")) or "Are you sure?"
    text = renderer.text_object(dialog.get("text"))
    yes = renderer.text_object(dialog.get("confirm")) or "Yes"
    no = renderer.text_object(dialog.get("deny")) or "Cancel"
    out.write(renderer.style(f"  ┌─ {title}", "bold"))
    for line in renderer.wrap(text):
        out.write(f"  │ {line}")
    out.write(renderer.style(f"  └─ y = {yes}, n = {no}", "bold"))
    answer = await console.input.read("  confirm (y/n)> ")
    if answer is None or answer.strip().lower() not in ("y", "yes", yes.lower()):
        raise Cancelled


COMMANDS: dict[str, Command] = {
    "as": as_command,
    "whoami": whoami_command,
    "users": users_command,
    "channel": channel_command,
    "press": press_command,
    "messages": messages_command,
    "thread": thread_command,
    "home": home_command,
    "wait": wait_command,
    "clock": clock_command,
    "help": help_command,
    "quit": quit_command,
    "exit": quit_command,
    "q": quit_command,
}
