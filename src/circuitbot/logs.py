"""Logging set-up: text or JSON lines, with secrets scrubbed from every record."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from circuitbot.context import ContextFilter
from circuitbot.settings import Settings

# Tokens and keys that must never reach a log line, whatever logged them.
_SECRET_NAMES = (
    r"shared[-_]?key|client[-_]?secret|access[-_]?key[-_]?secret|password|api[-_]?key|secret[-_]?key"
)
SECRET_PATTERNS = (
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),  # Slack tokens
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    # name=value, name: value, "name": "value" (quoted values whole), and URL-encoded name%3Dvalue
    re.compile(rf"(?i)((?:{_SECRET_NAMES})[\"']?\s*(?:[:=]|%3D)\s*)(\"[^\"]*\"|'[^']*'|[^\s,}}&]+)"),
)


def scrub(text: str) -> str:
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "••••", text)
    return text


class ScrubFilter(logging.Filter):
    """Cleans a record's message; formatters below clean tracebacks too."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class ScrubbingFormatter(logging.Formatter):
    """A text formatter whose whole output, traceback included, is scrubbed. Use it for every
    handler (the shell's log file too)."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("correlation_id", "request_id", "provider", "operation", "user"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(settings: Settings, *, quiet: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.addFilter(ScrubFilter())
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(ScrubbingFormatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # The shell talks to a person on the same terminal: only warnings and worse.
    root.setLevel(logging.WARNING if quiet else settings.log_level)
    # Alembic announces every plugin and migration step at INFO on each start.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # APScheduler logs every run of every job at INFO (the outbox sender's twice a second).
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
