"""The registry: every operation the bot can perform, declared once.

An :class:`Operation` names its provider and verb, its parameters (a pydantic model), whether it
changes anything, its help text, and the functions that do the work. Slash-command help,
modals, the shell and the approval flow are all driven from here; nothing is written per command.

Providers and rooms contribute operations through a ``register(registry)`` function.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic.fields import FieldInfo

from circuitbot.chat.reply import Reply
from circuitbot.providers.catalog import aliases_of

if TYPE_CHECKING:
    from circuitbot.chat.reply import Surface
    from circuitbot.runtime import Runtime


class Role(enum.StrEnum):
    READER = "reader"
    REQUESTER = "requester"
    APPROVER = "approver"
    ADMIN = "admin"


@dataclass(frozen=True)
class Caller:
    """Who is asking, from where, and what they may do."""

    user_id: str
    roles: frozenset[Role] = frozenset({Role.READER})
    channel_id: str | None = None
    thread_ts: str | None = None

    def can(self, role: Role) -> bool:
        return role is Role.READER or role in self.roles or Role.ADMIN in self.roles


class Params(BaseModel):
    """Base of every operation's parameters.

    ``positional`` lists the fields that may be given without ``key=``, in order; the last one
    may take the rest of the line when ``rest_of_line`` is set (free text such as notes).
    Secret fields are typed ``SecretStr``: they are masked in every rendering and encrypted at rest.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    positional: ClassVar[tuple[str, ...]] = ()
    rest_of_line: ClassVar[bool] = False
    # Optional fields of which a command needs at least one; given none, a mutating command
    # opens its modal (a change of attributes, given only the resource's id).
    modal_unless_one_of: ClassVar[tuple[str, ...]] = ()

    page: int = Field(1, ge=1, description="page of a long listing", json_schema_extra={"hidden": True})

    def target(self) -> str | None:
        """The resource this acts on (for audit rows and watches), if any."""
        return None

    @classmethod
    def secret_names(cls) -> frozenset[str]:
        """The fields typed ``SecretStr`` (or ``SecretStr | None``): masked everywhere, encrypted at rest."""
        return frozenset(name for name, info in cls.model_fields.items() if _mentions_secret(info.annotation))

    @classmethod
    def visible_fields(cls) -> list[tuple[str, FieldInfo]]:
        """The fields a person sets (help, usage, modals): all but hidden ones such as ``page``."""
        return [
            (name, info)
            for name, info in cls.model_fields.items()
            if not (isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("hidden"))
        ]

    def public_dump(self) -> dict[str, Any]:
        """The parameters as JSON values with every secret masked: safe for Slack, logs and audit rows."""
        out = self.model_dump(mode="json", exclude={"page"})
        for name in self.secret_names():
            if out.get(name):
                out[name] = "••••"
        return out


def _mentions_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(_mentions_secret(arg) for arg in getattr(annotation, "__args__", ()))


class NoParams(Params):
    pass


class OperationError(Exception):
    """A failure to show the user as it is (a provider's refusal, a missing resource)."""


class OutcomeUnknown(OperationError):
    """The provider may or may not have applied a change (its answer was lost, or it is still
    running past our patience). The approval ends needing attention, never "failed", so nobody
    requests it again on top of a change that landed."""


class Refused(OperationError):
    """A mutation refused before approval: it would change nothing, or a precondition fails."""


class Verified(enum.StrEnum):
    """What ``verify`` finds at the provider after a crash, for a change whose outcome was not
    recorded."""

    LANDED = "landed"  # in place, and the provider's operation has ended
    NOT_LANDED = "not landed"  # not in place, or its operation ended Failed
    IN_FLIGHT = "in flight"  # the resource is still changing: ask again later


@dataclass
class Preview:
    """What a mutation will change, read from the provider before anyone approves it."""

    summary: str  # one line, e.g. "move 1f3c… to port pair B"
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)  # (what, old, new)
    precondition: dict[str, Any] = field(default_factory=dict)  # re-checked at execution (etag, state)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class WatchTarget:
    """A resource to follow after an operation succeeded."""

    provider: str
    resource_id: str
    label: str | None = None


@dataclass
class OpContext:
    """What an operation's functions get: the runtime (providers, db, settings), the caller,
    and the command line it came from (for page links)."""

    runtime: Runtime
    caller: Caller
    command_text: str = ""
    surface: Surface | None = None
    # Set by the approval executor: the preview's precondition (e.g. an Azure etag for If-Match).
    precondition: dict[str, Any] | None = None
    # Set by the approval executor: the request id, a stable idempotency token for providers
    # that take one (Alibaba ClientToken), the same on every attempt of one request.
    request_id: str | None = None
    # A mutating command's at=: when it is to run once approved (UTC), and the zone it was given in.
    run_at: datetime | None = None
    run_tz: str | None = None
    # Set by the approval executor: a note in the request's thread (progress of a long change).
    progress: Callable[[str], Awaitable[None]] | None = None

    def provider(self, name: str) -> Any:
        return self.runtime.provider(name)


P = TypeVar("P", bound=Params)

Execute = Callable[[OpContext, P], Awaitable[Any]]
Render = Callable[[Any, P, OpContext], Reply]
PreviewFn = Callable[[OpContext, P], Awaitable[Preview]]
Verify = Callable[[OpContext, P, dict[str, Any]], Awaitable[Verified]]
Follow = Callable[[P, Any], WatchTarget | None]
# Choices for modal fields that depend on the provider (e.g. port pairs): field -> [(label, value)].
Choices = Callable[[OpContext, dict[str, Any]], Awaitable[dict[str, list[tuple[str, str]]]]]


@dataclass(frozen=True)
class Interaction:
    """A button press or select in a message: which control, its value, and where it was."""

    action_id: str
    value: str
    channel_id: str | None = None
    message_ts: str | None = None
    thread_ts: str | None = None
    trigger_id: str | None = None


# A button handler: runs after the front end has acked the click.
ActionHandler = Callable[[OpContext, Interaction], Awaitable[None]]
# A modal submission handler for a callback id; it must call ack_errors (quickly) exactly once.
ViewHandler = Callable[
    [OpContext, dict[str, Any], Callable[[dict[str, str] | None], Awaitable[None]]], Awaitable[None]
]


def _default_render(result: Any, params: Params, ctx: OpContext) -> Reply:
    if isinstance(result, Reply):
        return result
    return Reply.plain(str(result) if result is not None else "Done.")


@dataclass(frozen=True)
class Operation(Generic[P]):
    """One provider operation (or a provider-neutral verb when ``provider`` is None).

    - ``execute`` does the work (for mutations: only ever called by the approval executor).
    - ``render`` turns the result into a Reply.
    - ``preview`` (mutations) reads current state and says what will change; raises Refused.
    - ``verify`` (mutations) tells, after a crash, whether the change landed at the provider, or
      is still in flight there (recovery then asks again until it is not).
    - ``resume`` (mutations made of steps, such as a drain): instead of ``verify``, recovery
      calls it after a crash to finish what is left; it must skip every step already done, so
      that no step runs twice.
    - ``follow`` names what to watch once the mutation succeeded.
    - ``choices`` loads provider-dependent options for the modal after it has opened.
    - ``instant`` operations do no I/O and may answer inside the Slack ack (help).
    - ``slow`` operations get a "working…" reply first.
    """

    provider: str | None
    verb: str
    summary: str
    params: type[P]
    execute: Execute
    render: Render = _default_render
    mutating: bool = False
    preview: PreviewFn | None = None
    verify: Verify | None = None
    resume: Execute | None = None
    follow: Follow | None = None
    choices: Choices | None = None
    aliases: tuple[str, ...] = ()
    approvals: int = 1
    role: Role | None = None
    instant: bool = False
    slow: bool = False
    help: str = ""
    examples: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.provider}.{self.verb}" if self.provider else self.verb

    @property
    def required_role(self) -> Role:
        if self.role is not None:
            return self.role
        return Role.REQUESTER if self.mutating else Role.READER

    @property
    def words(self) -> tuple[str, ...]:
        """The words that invoke it: the verb and its aliases."""
        return (self.verb, *self.aliases)


class Registry:
    """Operations by provider and verb. Built once at start-up; read-only afterwards."""

    def __init__(self) -> None:
        self._ops: dict[tuple[str | None, str], Operation] = {}
        self._words: dict[tuple[str | None, str], Operation] = {}
        self._actions: dict[str, ActionHandler] = {}
        self._views: dict[str, ViewHandler] = {}
        self._providers: list[str] | None = None  # known once the registry is built

    def on_action(self, action_id: str, handler: ActionHandler) -> None:
        """Handle buttons whose action_id is ``action_id`` or starts with ``action_id + ":"``."""
        if action_id in self._actions:
            raise ValueError(f"action {action_id!r} is registered twice")
        self._actions[action_id] = handler

    def action_handler(self, action_id: str) -> ActionHandler | None:
        return self._actions.get(action_id) or self._actions.get(action_id.split(":", 1)[0])

    def on_view(self, callback_id: str, handler: ViewHandler) -> None:
        if callback_id in self._views:
            raise ValueError(f"view {callback_id!r} is registered twice")
        self._views[callback_id] = handler

    def view_handler(self, callback_id: str) -> ViewHandler | None:
        return self._views.get(callback_id)

    def add(self, op: Operation) -> Operation:
        self._providers = None
        if op.mutating and op.preview is None:
            raise ValueError(f"mutating operation {op.name} needs a preview")
        for word in op.words:
            key = (op.provider, word.lower())
            if key in self._words:
                raise ValueError(f"{op.provider or 'circuit'} {word!r} is registered twice")
            self._words[key] = op
        self._ops[(op.provider, op.verb)] = op
        return op

    def get(self, provider: str | None, word: str) -> Operation | None:
        return self._words.get((provider, word.lower()))

    def by_name(self, name: str) -> Operation | None:
        provider, _, verb = name.rpartition(".")
        return self._ops.get((provider or None, verb))

    def providers(self) -> list[str]:
        if self._providers is None:  # asked for every command a provider's word starts
            self._providers = sorted({p for p, _ in self._ops if p})
        return list(self._providers)

    def for_provider(self, provider: str | None) -> list[Operation]:
        return sorted((op for (p, _), op in self._ops.items() if p == provider), key=lambda o: o.verb)

    def __iter__(self) -> Iterator[Operation]:
        return iter(sorted(self._ops.values(), key=lambda o: (o.provider or "", o.verb)))

    def __len__(self) -> int:
        return len(self._ops)


def resolve_provider(word: str, known: Iterable[str]) -> str | None:
    """The provider among ``known`` that a word names (its name or short alias), if any."""
    word = word.lower()
    for provider in known:
        if word == provider or word in aliases_of(provider):
            return provider
    return None
