"""The command grammar: ``/circuit <verb> …`` and ``/circuit <provider> <verb> [args] [key=value …]``.

Parsing is pure and fast (it runs before Slack's ack). Slack sends mentions and links in its
own markup (``<#C0123|ops>``, ``<@U0123>``, ``<https://…|label>``, ``<!here>``) and the characters
``&``, ``<`` and ``>`` as the entities ``&amp;``, ``&lt;`` and ``&gt;``. The markup is read first
(mentions become plain ids, links their text), the entities are decoded after, in that order:
a typed ``&lt;#C0123&gt;`` is text, never a channel.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from circuitbot.actions.registry import Operation, Params

# Slack's markup: <#C…|name>, <@U…|name>, <!here> / <!subteam^S…|@team>, <https://…|label>
SLACK_REF = re.compile(
    r"<(?:[#@](?P<id>[CGDUW][A-Z0-9]+)|!(?P<special>[^<>|]+)|(?P<url>[A-Za-z][\w+.-]*:[^<>|\s]*))"
    r"(?:\|(?P<label>[^<>]*))?>"
)
ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
# a read reference stands in the line as a private-use placeholder until the line is split
HOLD, HOLD_END = "\ue000", "\ue001"
HELD = re.compile(HOLD + r"(\d+)" + HOLD_END)
OPTION = re.compile(r"^([A-Za-z][\w-]*)=(.*)$", re.DOTALL)
# Far longer than any real command line; a longer one is refused before it is parsed, since
# the parse (shlex) costs more than linear time in a token's length.
MAX_LINE_CHARS = 4000
# What makes shlex do more than split on its whitespace (POSIX mode, no comments): quotes and
# backslashes. A line without them is split directly, to the same words.
SHLEX_SPECIAL = re.compile(r"[\"'\\]")
SHLEX_BLANKS = " \t\r\n"
SHLEX_WHITESPACE = re.compile(r"[ \t\r\n]+")


class GrammarError(ValueError):
    """The line cannot be read (unbalanced quotes and the like)."""


@dataclass
class Words:
    """A command line split into words and key=value options."""

    words: list[str]
    options: dict[str, str] = field(default_factory=dict)


def decode(text: str) -> str:
    """Slack's entities back to the characters typed (``&amp;`` last, so ``&amp;lt;`` is ``&lt;``)."""
    for entity, char in ENTITIES:
        text = text.replace(entity, char)
    return text


def read_ref(match: re.Match[str]) -> str:
    """One piece of Slack markup as the words it stands for: a mention's id, ``@here``, a link's
    text (its label, else its address)."""
    if match["id"]:
        return match["id"]
    if match["special"]:
        return decode(match["label"]) if match["label"] else "@" + match["special"]
    return decode(match["label"] or match["url"])


def split(text: str) -> Words:
    if len(text) > MAX_LINE_CHARS:  # refused before any parsing: its cost grows with the length
        raise GrammarError(f"that command is {len(text):,} characters long; the limit is {MAX_LINE_CHARS:,}")
    # Slack turns typed quotes into curly ones; shlex needs straight ones.
    text = text.replace("“", '"').replace("”", '"').replace("‘", "'").replace("’", "'")
    text = text.replace(HOLD, "").replace(HOLD_END, "")
    refs: list[str] = []

    def hold(match: re.Match[str]) -> str:
        refs.append(read_ref(match))
        return f"{HOLD}{len(refs) - 1}{HOLD_END}"

    # markup first, entities after: a reference's text (a label with spaces or quotes) is put
    # back only once the line is split, so it stays one word
    text = decode(SLACK_REF.sub(hold, text))
    if SHLEX_SPECIAL.search(text):
        try:
            tokens = shlex.split(text)
        except ValueError as exc:
            raise GrammarError(f"cannot read that line: {exc}") from None
    else:  # what shlex makes of a line without quotes or escapes, at a tenth of the cost
        tokens = SHLEX_WHITESPACE.split(text.strip(SHLEX_BLANKS))
        tokens = tokens if tokens != [""] else []
    result = Words(words=[])

    def put_back(held: str) -> str:
        return HELD.sub(lambda m: refs[int(m.group(1))], held)

    for token in tokens:
        match = OPTION.match(token)  # before put_back: a link's label is never an option
        if match:
            result.options[match.group(1).replace("-", "_").lower()] = put_back(match.group(2))
        else:
            result.words.append(put_back(token))
    return result


def usage(op: Operation, command: str = "/circuit") -> str:
    """The usage line generated from the operation's params model."""
    parts = [command]
    if op.provider:
        parts.append(op.provider)
    parts.append(op.verb)
    model = op.params
    for name in model.positional:
        info = model.model_fields[name]
        label = name.replace("_", "-")
        parts.append(f"<{label}>" if info.is_required() else f"[{label}]")
    extra = [name for name, _ in model.visible_fields() if name not in model.positional]
    if extra:
        parts.append("[" + " ".join(f"{n.replace('_', '-')}=…" for n in extra) + "]")
    return " ".join(parts)


def missing_required(model: type[Params], data: dict[str, Any]) -> list[str]:
    missing = [n for n, info in model.model_fields.items() if info.is_required() and n not in data]
    # A change whose fields are all optional still needs one of them: without, its modal opens.
    choose = model.modal_unless_one_of
    if choose and not any(n in data for n in choose):
        missing.extend(choose)
    return missing


def collect(model: type[Params], words: list[str], options: dict[str, str]) -> dict[str, Any]:
    """Map positional words and key=value options onto the model's fields (no validation yet)."""
    data: dict[str, Any] = {}
    fields = model.model_fields
    positional = list(model.positional)
    if len(words) > len(positional):
        if model.rest_of_line and positional:
            head, rest = words[: len(positional) - 1], words[len(positional) - 1 :]
            words = [*head, " ".join(rest)]
        else:
            extra = words[len(positional) :]
            # a stray word may be a secret typed in the wrong place: do not echo it then
            said = f"{len(extra)} argument(s) too many" if model.secret_names() else " ".join(extra)
            raise ParamsError({"": f"unexpected argument(s): {said} (quote text that has spaces)"})
    data.update(zip(positional, words, strict=False))
    for key, value in options.items():
        name = key if key in fields else _by_alias(model, key)
        if name is None:
            raise ParamsError({key: f"unknown option {key}="})
        data[name] = value
    return data


def _by_alias(model: type[Params], key: str) -> str | None:
    for name, info in model.model_fields.items():
        if info.alias and info.alias.replace("-", "_").lower() == key:
            return name
    return None


class ParamsError(ValueError):
    """Bad parameters: field name → message (``""`` for the line as a whole)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in errors.items()))
        self.errors = errors


def validate(model: type[Params], data: dict[str, Any]) -> Params:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            loc = error.get("loc") or ("",)
            name = str(loc[0])
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            if name in data and name not in model.secret_names():
                message = f"{message} (got {str(data[name])[:60]!r})"
            errors.setdefault(name, message)
        raise ParamsError(errors) from None


def render_line(prefix: list[str], model: type[Params], data: dict[str, Any]) -> str:
    """A command line rebuilt from parsed values, secrets masked: what may be echoed back to chat.

    Rebuilt rather than searched-and-replaced, so a secret typed with quotes or escapes is masked too.
    Positional fields present from the first on are written positionally, the rest as key=value.
    """
    secret = model.secret_names()

    def shown(name: str) -> str:
        return "••••" if name in secret else shlex.quote(str(data[name]))

    leading: list[str] = []
    for name in model.positional:
        if name not in data:
            break
        leading.append(name)
    parts = [*prefix, *(shown(name) for name in leading)]
    parts += [
        f"{name.replace('_', '-')}={shown(name)}"
        for name, _ in model.visible_fields()
        if name in data and name not in leading
    ]
    return " ".join(parts)
