"""The shell's terminal: where it writes, how it reads a line (a person at a terminal, or a
script piped in), and where tracebacks go while it runs."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import io
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from circuitbot.logs import scrub
from circuitbot.shell.text import ANSI, emoji

MASK = "••••"


def _unstyled(text: str, *styles: str) -> str:
    return text


class Output:
    """Where the shell writes; in a terminal, output that arrives while a prompt waits is
    printed above the prompt, and the prompt (with what was typed so far) is drawn again."""

    def __init__(self, stream: TextIO, style: Callable[..., str] = _unstyled) -> None:
        self.stream = stream
        self.style = style  # the renderer's colours, or none
        self.prompt: str | None = None  # set while a terminal prompt waits for input

    def write(self, text: str = "") -> None:
        if self.prompt is not None:
            self.stream.write("\r\x1b[K" + text + "\n" + self.prompt + _line_buffer())
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        """A note from the shell itself (not from the bot)."""
        self.write(self.style(f"» {text}", "dim"))

    def warn(self, text: str) -> None:
        self.write(self.style(f"» {emoji('warning')} {text}", "yellow"))


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


def _as_typed(line: str) -> str:
    return line


class ScriptInput:
    """Lines from a pipe or a file, each echoed after its prompt so the transcript reads well;
    ``mask`` hides the secret values a line sets in the echo."""

    interactive = False

    def __init__(self, stream: TextIO, out: Output, *, mask: Callable[[str], str] = _as_typed) -> None:
        self.stream = stream
        self.out = out
        self.mask = mask

    async def read(self, prompt: str, *, secret: bool = False) -> str | None:
        if isinstance(self.stream, io.StringIO):
            line = self.stream.readline()
        else:  # a pipe: read in a thread so background work goes on meanwhile
            line = await _in_daemon_thread(self.stream.readline)
        if not line:
            return None
        line = line.rstrip("\r\n")
        self.out.write(prompt + (MASK if secret and line else self.mask(line)))
        return line


class TerminalInput:
    """A person at a terminal: readline editing and history when available. Lines go into the
    history (and its file) through ``mask``, so a typed shared-key=… is never kept in clear;
    answers to secret prompts are read without echo and never kept."""

    interactive = True

    def __init__(self, out: Output, history: Path | None, *, mask: Callable[[str], str] = _as_typed) -> None:
        self.out = out
        self.history = history
        self.mask = mask
        self.readline: Any = None
        with contextlib.suppress(ImportError):
            import readline

            self.readline = readline
            readline.set_auto_history(False)  # read() adds each line, masked
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
            line = await _in_daemon_thread(input, prompt)
            self._remember(line)
            return line
        except EOFError:
            self.out.stream.write("\n")
            return None
        finally:
            self.out.prompt = None

    def _remember(self, line: str) -> None:
        if self.readline is not None and line.strip():
            self.readline.add_history(self.mask(line))

    def save(self) -> None:
        if self.readline is not None and self.history is not None:
            # lines kept before masking was in place (an older history file) are masked as well
            for index in range(self.readline.get_current_history_length()):
                item = self.readline.get_history_item(index + 1)
                if item and self.mask(item) != item:
                    self.readline.replace_history_item(index, self.mask(item))
            with contextlib.suppress(OSError):
                self.history.parent.mkdir(parents=True, exist_ok=True)
                self.readline.write_history_file(self.history)


def isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class _Scrubbed(logging.Formatter):
    """Scrubs the whole entry, traceback included: an exception's message may quote a key."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class _Kept(logging.Handler):
    """A handler that was there before the shell, passed the records it got before (``level``
    and worse); a terminal's gets them without tracebacks, which go to the log file."""

    def __init__(self, inner: logging.Handler, level: int, *, one_line: bool) -> None:
        super().__init__(max(inner.level, level))
        self.inner = inner
        self.one_line = one_line

    def handle(self, record: logging.LogRecord) -> bool:
        if self.one_line and (record.exc_info or record.exc_text or record.stack_info):
            record = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
            record.stack_info = None
        return bool(self.inner.handle(record))

    def emit(self, record: logging.LogRecord) -> None:  # handle() does the work
        self.inner.emit(record)


@contextlib.contextmanager
def tracebacks_to_file(path: Path, level: int | str = logging.WARNING) -> Iterator[None]:
    """While the shell runs, records at ``level`` and worse (the log level setting) go to ``path``
    with their tracebacks; the handlers already there get what they got before (on a terminal,
    warnings and worse), one line each, so no traceback covers the conversation."""
    root = logging.getLogger()
    saved, saved_level = list(root.handlers), root.level
    shown = root.getEffectiveLevel()
    file_handler: logging.Handler | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(path, encoding="utf-8", delay=True)
        file_handler.setLevel(level)
        file_handler.setFormatter(_Scrubbed("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    except OSError:
        file_handler = None
    terminal_streams = (sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__)
    kept = [
        _Kept(
            h,
            shown,
            one_line=type(h) is logging.StreamHandler and getattr(h, "stream", None) in terminal_streams,
        )
        for h in saved
    ]
    root.handlers[:] = [*kept, *([file_handler] if file_handler else [])]
    if file_handler is not None:
        root.setLevel(min(shown, file_handler.level))
    try:
        yield
    finally:
        root.handlers[:] = saved
        root.setLevel(saved_level)
        if file_handler is not None:
            file_handler.close()
