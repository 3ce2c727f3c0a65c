"""Fault injection shared by every simulator.

A ``FaultConfig`` says how often a simulator misbehaves (server errors, throttling,
unavailability, dropped connections, answers lost after the request was processed, malformed
bodies, added latency) and can queue exact
faults for the next requests, which is what tests use. ``FaultInjector`` holds the live config
and a seeded random source, so the same seed and the same request order give the same faults.
The config can be replaced at runtime through ``/_sandbox/faults``.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DROP_EXTENSION = "circuitbot.sandbox.drop"
"""ASGI scope extension: a callable that closes the client connection without an answer.

The loopback server provides it; in-process there is no connection, so the app raises
``ConnectionDropped`` and the simulator's transport turns it into ``httpx.RemoteProtocolError``.
"""


class ConnectionDropped(Exception):
    """The simulator chose to drop the connection instead of answering."""


FaultKind = Literal["status", "drop", "process_then_drop", "malformed"]
"""``drop`` closes the connection before the request reaches the model; ``process_then_drop`` lets
the model act on it (a write is applied) and then closes the connection without the answer, the
case a client cannot tell from a drop and must not resolve by sending the request again."""


def _check_regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


class QueuedFault(BaseModel):
    """Fail the next ``count`` matching requests in one exact way."""

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind = "status"
    status: int = Field(500, ge=400, le=599, description="HTTP status answered when kind is 'status'")
    count: int = Field(1, ge=1)
    retry_after: int | None = Field(
        None, ge=0, description="Retry-After seconds; 429 and 503 default to throttle_retry_after"
    )
    method: str | None = Field(None, description="only requests with this method (case-insensitive)")
    path: str | None = Field(None, description="only requests whose path matches this regex (search)")

    @field_validator("path")
    @classmethod
    def _valid_path(cls, value: str | None) -> str | None:
        return _check_regex(value)

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or re.search(self.path, path) is not None


class FaultConfig(BaseModel):
    """How a simulator misbehaves. All rates are probabilities per request; their sum is at most 1."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(
        0.0, ge=0, description="added before every answer, through the simulator's clock"
    )
    error_rate: float = Field(0.0, ge=0, le=1, description="500 in the provider's error shape")
    throttle_rate: float = Field(0.0, ge=0, le=1, description="429 with Retry-After")
    unavailable_rate: float = Field(0.0, ge=0, le=1, description="503 with Retry-After")
    drop_rate: float = Field(0.0, ge=0, le=1, description="connection closed with no answer")
    process_then_drop_rate: float = Field(
        0.0, ge=0, le=1, description="the request is processed, then the connection closes with no answer"
    )
    malformed_rate: float = Field(0.0, ge=0, le=1, description="200 with a truncated JSON body")
    throttle_retry_after: int = Field(1, ge=0, description="Retry-After seconds on injected 429 and 503")
    seed: int = 0
    only_paths: str | None = Field(None, description="faults and latency only for paths matching this regex")
    fail_next: list[QueuedFault] = Field(default_factory=list)

    @field_validator("only_paths")
    @classmethod
    def _valid_only_paths(cls, value: str | None) -> str | None:
        return _check_regex(value)

    @model_validator(mode="after")
    def _rates_fit(self) -> FaultConfig:
        total = (
            self.error_rate
            + self.throttle_rate
            + self.unavailable_rate
            + self.drop_rate
            + self.malformed_rate
            + self.process_then_drop_rate
        )
        if total > 1.0 + 1e-9:
            raise ValueError(f"fault rates add up to {total:g}; at most 1 is possible")
        return self


@dataclass(frozen=True)
class InjectedFault:
    """One decided fault: answer ``status`` (with ``retry_after``), drop (before or after the model
    processed the request), or send a malformed body."""

    kind: FaultKind
    status: int = 200
    retry_after: int | None = None

    @property
    def code(self) -> str:
        """A provider-neutral error code ("TooManyRequests"); simulators map it to their own."""
        return default_error_code(self.status)

    @property
    def message(self) -> str:
        return f"Injected fault: {HTTPStatus(self.status).phrase}." if self.kind == "status" else ""


def default_error_code(status: int) -> str:
    """'NotFound', 'TooManyRequests', 'ServiceUnavailable'… from an HTTP status."""
    try:
        return HTTPStatus(status).phrase.replace(" ", "").replace("-", "")
    except ValueError:
        return f"Http{status}"


class FaultInjector:
    """The live fault config of one simulator and the decisions drawn from it."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self.replace(config or FaultConfig())

    @property
    def config(self) -> FaultConfig:
        """The current config; ``fail_next`` shows what is still queued."""
        return self._config.model_copy(deep=True)

    def replace(self, config: FaultConfig) -> None:
        """Install a new config and restart its random sequence from its seed."""
        self._config = config.model_copy(deep=True)
        self._rng = random.Random(config.seed)
        self._only_paths = re.compile(config.only_paths) if config.only_paths else None

    def applies_to(self, path: str) -> bool:
        return self._only_paths is None or self._only_paths.search(path) is not None

    def latency_seconds(self, path: str) -> float:
        return self._config.latency_ms / 1000 if self.applies_to(path) else 0.0

    def decide(self, method: str, path: str) -> InjectedFault | None:
        """The fault for this request, if any. Queued faults come first, then the rates.

        One random number is drawn per eligible request whatever the rates are, so changing a
        rate does not shift which later requests are hit.
        """
        if not self.applies_to(path):
            return None
        config = self._config
        for queued in config.fail_next:
            if queued.matches(method, path):
                queued.count -= 1
                if queued.count == 0:
                    config.fail_next.remove(queued)
                return self._fault(queued.kind, queued.status, queued.retry_after)
        draw = self._rng.random()
        for kind, status, rate in (
            ("status", 500, config.error_rate),
            ("status", 429, config.throttle_rate),
            ("status", 503, config.unavailable_rate),
            ("drop", 0, config.drop_rate),
            ("malformed", 200, config.malformed_rate),
            # last, so that adding it did not shift which requests the other rates hit
            ("process_then_drop", 0, config.process_then_drop_rate),
        ):
            if draw < rate:
                return self._fault(kind, status, None)
            draw -= rate
        return None

    def _fault(self, kind: str, status: int, retry_after: int | None) -> InjectedFault:
        if kind in ("drop", "process_then_drop"):
            return InjectedFault(kind, 0)  # type: ignore[arg-type]
        if kind == "malformed":
            return InjectedFault("malformed", 200)
        if retry_after is None and status in (429, 503):
            retry_after = self._config.throttle_retry_after
        return InjectedFault("status", status, retry_after)
