"""Provider-neutral verbs that belong to the command layer itself: ``help``, ``list``, ``show``.

``list`` and ``show`` hand over to each provider's own ``list``/``show`` operation, so a
provider only declares those once.
"""

from __future__ import annotations

import functools

from pydantic import Field

from circuitbot.actions.registry import (
    Caller,
    OpContext,
    Operation,
    OperationError,
    Params,
    Registry,
    resolve_provider,
)
from circuitbot.chat import blocks as bk
from circuitbot.chat import grammar
from circuitbot.chat.reply import Reply
from circuitbot.providers import catalog


class HelpParams(Params):
    positional = ("topic", "verb")
    topic: str | None = Field(None, description="a verb, or a provider (see `/circuit help`)")
    verb: str | None = Field(None, description="a provider's verb")


def _visible_to(caller: Caller, ops: list[Operation]) -> list[Operation]:
    return [op for op in ops if caller.can(op.required_role)]


def _line(op: Operation) -> str:
    words = f"{op.provider} {op.verb}" if op.provider else op.verb
    alias = f" ({', '.join(op.aliases)})" if op.aliases else ""
    lock = " :lock:" if op.mutating else ""
    return f"`{words}`{alias}{lock} — {op.summary}"


async def help_execute(ctx: OpContext, params: HelpParams) -> Reply:
    registry = ctx.runtime.registry
    if params.topic is None:
        return _overview(ctx, registry)
    provider = resolve_provider(params.topic, registry.providers())
    if provider and params.verb is None:
        ops = _visible_to(ctx.caller, registry.for_provider(provider))
        short = catalog.aliases_of(provider)
        head = f"{provider}" + (f" (alias `{short[0]}`)" if short else "")
        title = _title(provider)
        lines = [f"• {_line(op)}\n    `{grammar.usage(op)}`" for op in ops]
        if title:
            lines.insert(0, title)
        text = f"*{head}*\n" + ("\n".join(lines) if lines else "no operations you may run")
        return Reply(text=text, blocks=[bk.header(f"/circuit {provider}"), *bk.sections(lines)])
    op = registry.get(provider, params.verb) if provider and params.verb else registry.get(None, params.topic)
    if op is None and provider is None:
        matches = [o for o in registry if params.topic.lower() in o.words]
        op = matches[0] if len(matches) == 1 else None
        if len(matches) > 1:
            names = ", ".join(f"`{o.provider} {o.verb}`" for o in matches)
            return Reply.plain(f"{bk.code(params.topic)} is a verb of several providers: {names}")
    if op is None or not ctx.caller.can(op.required_role):
        raise OperationError(f"no help topic {bk.code(' '.join(filter(None, [params.topic, params.verb])))}")
    return _detail(op, ctx)


def _overview(ctx: OpContext, registry: Registry) -> Reply:
    lines = _overview_lines(registry, Caller(user_id="", roles=ctx.caller.roles))  # roles only: the key
    text = "\n".join(lines)
    return Reply(text=text, blocks=[bk.header("circuitbot"), *bk.sections(lines)])


@functools.lru_cache(maxsize=64)
def _overview_lines(registry: Registry, caller: Caller) -> tuple[str, ...]:
    """The overview's lines: the same for every caller with the same roles (the front end answers
    ``help`` before its ack, so it is built once per registry and roles, not per request)."""
    visible = functools.partial(_visible_to, caller)
    lines = ["*Commands*", *(f"• {_line(op)}" for op in visible(registry.for_provider(None)))]
    for provider in registry.providers():
        ops = visible(registry.for_provider(provider))
        if ops:
            alias = next(iter(catalog.aliases_of(provider)), provider)
            title = _title(provider)
            lines.append(f"*{provider}* (`/circuit {alias} <verb>`)" + (f": {title}" if title else ""))
            lines.extend(f"• {_line(op)}" for op in ops)
    lines.append(":lock: = needs approval. `/circuit help <verb>` or `/circuit help <provider>` for more.")
    return tuple(lines)


def _title(provider: str) -> str:
    try:
        return catalog.spec_of(provider).title
    except LookupError:  # a provider outside the catalog (a test double) has no title
        return ""


def _detail(op: Operation, ctx: OpContext) -> Reply:
    lines = [f"*{op.name}* — {op.summary}", f"`{grammar.usage(op)}`"]
    if op.help:
        lines.append(op.help)
    if op.aliases:
        lines.append("Aliases: " + ", ".join(f"`{a}`" for a in op.aliases))
    if op.mutating:
        needed = ctx.runtime.settings.approvals_needed(op.name, op.approvals)
        lines.append(f"Needs {needed} approval{'s' if needed != 1 else ''} before it runs.")
    for name, info in op.params.visible_fields():
        need = "required" if info.is_required() else "optional"
        lines.append(
            f"• `{name.replace('_', '-')}` ({need}){' — ' + info.description if info.description else ''}"
        )
    if op.examples:
        lines.append("Examples:\n" + "\n".join(f"`{e}`" for e in op.examples))
    text = "\n".join(lines)
    return Reply(text=text, blocks=bk.sections(lines))


class ShowParams(Params):
    positional = ("provider", "resource")
    provider: str = Field(description="a provider's name or short alias (`/circuit help` lists them)")
    resource: str = Field(description="the resource id or service key")


async def _delegate(ctx: OpContext, provider_word: str, verb: str, data: dict) -> Reply:
    registry = ctx.runtime.registry
    provider = resolve_provider(provider_word, registry.providers())
    if provider is None:
        raise OperationError(
            f"unknown provider {bk.code(provider_word)}; known: {', '.join(registry.providers())}"
        )
    op = registry.get(provider, verb)
    if op is None:
        raise OperationError(f"{provider} has no `{verb}` yet")
    params = grammar.validate(op.params, data)
    return op.render(await op.execute(ctx, params), params, ctx)


async def show_execute(ctx: OpContext, params: ShowParams) -> Reply:
    registry = ctx.runtime.registry
    provider = resolve_provider(params.provider, registry.providers())
    op = registry.get(provider, "show") if provider else None
    key = op.params.positional[0] if op and op.params.positional else "resource"
    return await _delegate(ctx, params.provider, "show", {key: params.resource})


class ListParams(Params):
    positional = ("provider",)
    provider: str | None = Field(None, description="one provider, or all")


async def list_execute(ctx: OpContext, params: ListParams) -> Reply:
    registry = ctx.runtime.registry
    providers = [params.provider] if params.provider else registry.providers()
    if not providers:
        return Reply.plain("No providers are installed.")
    # one provider pages through its own listing; all of them show each one's first page
    data = {"page": params.page} if len(providers) == 1 else {}
    replies = []
    for provider in providers:
        try:
            replies.append(await _delegate(ctx, provider, "list", data))
        except OperationError as exc:
            if params.provider:
                raise
            replies.append(Reply.plain(f"*{provider}*: {exc}"))
    if len(replies) == 1:
        return replies[0]
    return Reply(text="\n".join(r.text for r in replies), blocks=[b for r in replies for b in r.blocks])


def register(registry: Registry) -> None:
    registry.add(
        Operation(
            provider=None,
            verb="help",
            summary="this list, or help on one verb or provider",
            params=HelpParams,
            execute=help_execute,
            instant=True,
            examples=("/circuit help", "/circuit help azure", "/circuit help az move"),
        )
    )
    registry.add(
        Operation(
            provider=None,
            verb="show",
            summary="one resource at one provider",
            params=ShowParams,
            execute=show_execute,
            slow=True,
            examples=("/circuit show azure 9f8e1c52-…",),
        )
    )
    registry.add(
        Operation(
            provider=None,
            verb="list",
            summary="circuits at one provider or all",
            params=ListParams,
            execute=list_execute,
            slow=True,
            examples=("/circuit list", "/circuit list az"),
        )
    )
