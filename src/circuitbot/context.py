"""What the bot is doing now, for logs, metrics and audit rows: a correlation id and an operation.

Context variables, so each asyncio task carries its own and a task inherits them from the code
that created it: a Slack request's id follows its command into the work done after the ack, the
provider calls that work makes (their log lines and ``circuitbot_provider_call_seconds``) and the
audit rows it writes.

* A **Slack request** (a command, a click, a form) gets a fresh id at the front end (``c-…``).
* An **approved change** runs under its request's id (``R…``), whichever process runs it.
* A **watch tick** has no correlation id; its provider calls count under ``watch.poll``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

NO_OPERATION = "-"

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
operation: ContextVar[str] = ContextVar("operation", default=NO_OPERATION)


def new_correlation_id() -> str:
    return "c-" + secrets.token_hex(6)


@contextlib.contextmanager
def correlated(value: str | None = None, *, doing: str | None = None) -> Iterator[str]:
    """Within the block, work is correlated under ``value`` (a fresh id if None) and, given
    ``doing``, counted under that operation; an operation set inside ends with the block."""
    cid = value or new_correlation_id()
    token = correlation_id.set(cid)
    op_token = operation.set(doing if doing is not None else operation.get())
    try:
        yield cid
    finally:
        operation.reset(op_token)
        correlation_id.reset(token)


def in_request(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Run an entry point of a request (a command, a click, a form) correlated: under the id its
    front end set, or a fresh one."""

    @functools.wraps(method)
    async def correlated_call(*args: P.args, **kwargs: P.kwargs) -> T:
        with correlated(correlation_id.get()):
            return await method(*args, **kwargs)

    return correlated_call


@contextlib.contextmanager
def doing(name: str) -> Iterator[None]:
    """Within the block, provider calls are counted under operation ``name``."""
    token = operation.set(name)
    try:
        yield
    finally:
        operation.reset(token)


class ContextFilter(logging.Filter):
    """Puts the correlation id and operation on every record (JSON logs show them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        cid = correlation_id.get()
        if cid is not None and not hasattr(record, "correlation_id"):
            record.correlation_id = cid
        current = operation.get()
        if current != NO_OPERATION and not hasattr(record, "operation"):
            record.operation = current
        return True
