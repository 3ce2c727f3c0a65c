"""A provider's failures as the errors the approval engine and chat replies understand.

Each provider client raises its own exceptions; ``ProviderErrors`` names which of them mean
what, and ``reported`` turns them into an ``OperationError`` carrying the provider's code and
message (escaped: it is shown in chat as it came; with a hint of the command that helps), or an
``OutcomeUnknown`` where a write may or may not have landed, so the approval ends needing
attention rather than "failed" (a request made again on top of a change that did land would do it
twice).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx

from circuitbot.actions.registry import OperationError, OutcomeUnknown
from circuitbot.chat import blocks as bk
from circuitbot.providers.http import ProviderHTTPError
from circuitbot.providers.kit.preconditions import changed_since_review

ErrorClasses = tuple[type[BaseException], ...]


@dataclass(frozen=True)
class ProviderErrors:
    """One provider's exception classes by meaning, its label and its hints.

    ``show_command`` is the command that shows a resource by key (``az show``): the way to
    learn whether an unconfirmed write landed. ``not_found_hints`` adds a hint to a not-found
    error by the provider's error code.
    """

    label: str
    show_command: str
    precondition_failed: ErrorClasses = ()
    write_unconfirmed: ErrorClasses = ()
    not_found: ErrorClasses = ()
    provider_error: ErrorClasses = ()
    operation_timeout: ErrorClasses = ()
    not_found_hints: Mapping[str, str] = field(default_factory=dict)

    def translate(self, exc: BaseException, key: str | None = None) -> OperationError | None:
        """The error to show for ``exc`` about resource ``key``; None when it is not a provider's."""
        show = bk.code(f"{self.show_command} {key}")
        if isinstance(exc, self.precondition_failed):
            return changed_since_review(key or "the resource", "its etag no longer matches")
        if isinstance(exc, self.write_unconfirmed):
            return OutcomeUnknown(f"{_message(exc)} {show} tells which.")
        if isinstance(exc, self.not_found):
            code = _code(exc)
            hint = self.not_found_hints.get(code or "")
            return OperationError(
                f"{self.label} {code or 'NotFound'}: {_message(exc)}{' ' + hint if hint else ''}"
            )
        if isinstance(exc, self.provider_error):
            return OperationError(f"{self.label} {_code(exc) or _status(exc)}: {_message(exc)}")
        if isinstance(exc, self.operation_timeout):
            return OutcomeUnknown(f"{bk.escape(str(exc))}; it may still finish, {show} tells")
        if isinstance(exc, ProviderHTTPError):
            return OperationError(bk.escape(str(exc)))
        if isinstance(exc, httpx.HTTPError):
            return OperationError(f"could not reach {self.label} ({exc.__class__.__name__})")
        return None

    @asynccontextmanager
    async def reported(self, key: str | None = None) -> AsyncIterator[None]:
        """Provider failures inside the block raised as ``translate`` says; others as they are."""
        try:
            yield
        except Exception as exc:
            error = self.translate(exc, key)
            if error is None:
                raise
            raise error from None


def _message(exc: BaseException) -> str:
    """The provider's own words, escaped: they go into a chat reply, and a provider (or a value
    it echoes back) must not be able to mention a channel or write a link."""
    return bk.escape(str(getattr(exc, "message", exc)))


def _code(exc: BaseException) -> str | None:
    code = getattr(exc, "code", None)
    return bk.escape(str(code)) if code is not None else None


def _status(exc: BaseException) -> int | None:
    return getattr(exc, "status", None)
