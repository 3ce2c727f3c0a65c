"""``/circuit watch|unwatch <provider> <id> [#channel]`` and ``/circuit watches [#channel]``.

Following a circuit changes nothing at the provider, so none of these needs an approval.
"""

from __future__ import annotations

import logging
import re

from pydantic import Field, field_validator

from circuitbot.actions.registry import (
    OpContext,
    Operation,
    OperationError,
    Params,
    Registry,
    Role,
    WatchTarget,
    resolve_provider,
)
from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import PostError, Reply
from circuitbot.providers import catalog
from circuitbot.watch.engine import WatchEngine
from circuitbot.watch.model import WatchInfo
from circuitbot.watch.status import WatchStatus

log = logging.getLogger(__name__)

CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
PER_PAGE = 25


def _channel(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.removeprefix("#")
    if not CHANNEL_ID.match(value):
        raise ValueError("name the channel as #channel (a channel Slack can link, such as <#C0123|ops>)")
    return value


class WatchParams(Params):
    positional = ("provider", "resource", "channel")
    provider: str = Field(description="a provider's name or short alias (`/circuit help` lists them)")
    resource: str = Field(description="the resource id (a cross-connection, connection or circuit id)")
    channel: str | None = Field(None, description="where to post the changes (default: here)")

    @field_validator("provider")
    @classmethod
    def _provider_name(cls, value: str) -> str:
        """``az`` is ``azure`` from here on, so audit targets read ``azure:<id>`` on every path."""
        return catalog.canonical_name(value.strip())

    @field_validator("channel")
    @classmethod
    def _channel_id(cls, value: str | None) -> str | None:
        return _channel(value)

    def target(self) -> str | None:
        return f"{self.provider}:{self.resource}"


class WatchesParams(Params):
    positional = ("channel",)
    channel: str | None = Field(None, description="only the watches of this channel")

    @field_validator("channel")
    @classmethod
    def _channel_id(cls, value: str | None) -> str | None:
        return _channel(value)


def _engine(ctx: OpContext) -> WatchEngine:
    engine = ctx.runtime.watches
    if engine is None:
        raise OperationError("watches are not running in this process")
    return engine


def _provider(ctx: OpContext, word: str) -> str:
    engine = _engine(ctx)
    known = sorted(set(engine.pollers) | set(catalog.names()))
    provider = resolve_provider(word, known)
    if provider is None:
        raise OperationError(
            f"unknown provider {bk.code(word)}; watchable: {', '.join(sorted(engine.pollers))}"
        )
    return provider


def _where(ctx: OpContext, channel: str | None) -> str:
    where = channel or ctx.caller.channel_id or ctx.runtime.settings.notify_channel
    if not where:
        raise OperationError("which channel? add #channel, or set CIRCUITBOT_NOTIFY_CHANNEL")
    return where


# Why the bot cannot post in a channel (Slack's error code), and what the user can do about it.
_CANNOT_POST = {
    "channel_not_found": (
        "it does not exist, or it is private and I am not in it",
        "invite me there with `/invite @circuitbot`, or name another channel",
    ),
    "not_in_channel": (
        "I am not in it",
        "invite me there with `/invite @circuitbot`, or name another channel",
    ),
    "is_archived": ("it is archived", "name another channel"),
}


async def _check_postable(ctx: OpContext, channel: str) -> None:
    """Refuse a channel the bot cannot post in, before promising to follow anything there.

    A failure that may pass (rate limiting, a dropped connection, a missing scope) lets the watch
    start: the outbox retries its posts, and pauses the watch should the channel prove gone."""
    poster = ctx.runtime.poster
    if poster is None:
        return
    try:
        await poster.check_channel(channel)
    except PostError as error:
        if not error.permanent:
            log.warning("could not check channel %s before watching: %s", channel, error.error)
            return
        why, remedy = _CANNOT_POST.get(error.error, ("Slack refused it", "name another channel"))
        raise OperationError(
            f"I can't post in <#{channel}>: {error.error} ({why}). Please {remedy}."
        ) from None


async def watch_execute(ctx: OpContext, params: WatchParams) -> WatchInfo:
    provider = _provider(ctx, params.provider)
    channel = _where(ctx, params.channel)
    await _check_postable(ctx, channel)
    # Asked from inside a thread of that channel: follow it there.
    thread_ts = ctx.caller.thread_ts if channel == ctx.caller.channel_id else None
    return await _engine(ctx).watch(
        WatchTarget(provider, params.resource),
        channel,
        thread_ts=thread_ts,
        created_by=ctx.caller.user_id,
    )


def watch_render(info: WatchInfo, params: WatchParams, ctx: OpContext) -> Reply:
    name = f"{info.provider} *{bk.escape(info.label)}*"
    if not info.created:
        return Reply.plain(f":eyes: {name} is already watched in <#{info.channel}>.")
    return Reply.plain(f":eyes: Watching {name} in <#{info.channel}>: each change goes to its thread.")


async def unwatch_execute(ctx: OpContext, params: WatchParams) -> list[WatchInfo]:
    provider = _provider(ctx, params.provider)
    channel = _where(ctx, params.channel)
    return await _engine(ctx).unwatch(provider, params.resource, channel, by=ctx.caller.user_id)


def unwatch_render(infos: list[WatchInfo], params: WatchParams, ctx: OpContext) -> Reply:
    info = infos[0]
    return Reply.plain(
        f":no_bell: Stopped watching {info.provider} *{bk.escape(info.label)}* in <#{info.channel}>."
    )


async def watches_execute(ctx: OpContext, params: WatchesParams) -> list[WatchInfo]:
    return await _engine(ctx).list_watches(params.channel)


def watches_render(infos: list[WatchInfo], params: WatchesParams, ctx: OpContext) -> Reply:
    where = f" in <#{params.channel}>" if params.channel else ""
    if not infos:
        return Reply.plain(f"Nothing is watched{where}. Start with `/circuit watch <provider> <id>`.")
    shown, page, pages = bk.paginate(infos, params.page, PER_PAGE)
    lines = bk.table(
        ("provider", "resource", "channel", "state", "next check"),
        [
            (
                i.provider,
                bk.clip(i.label, 40),
                f"#{i.channel}",
                bk.clip(i.state_text(), 50),
                "—" if i.status != WatchStatus.ACTIVE else i.next_poll_at.strftime("%H:%M:%S UTC"),
            )
            for i in shown
        ],
    )
    head = f"*{len(infos)} watch{'es' if len(infos) != 1 else ''}*{where}" + (
        f" (page {page} of {pages})" if pages > 1 else ""
    )
    blocks = [bk.section(head), *bk.code_sections(lines), *bk.pager(ctx.command_text, page, pages)]
    return Reply(text=head, blocks=blocks)


def register(registry: Registry) -> None:
    registry.add(
        Operation(
            provider=None,
            verb="watch",
            summary="post every state change of a resource to a channel, in a thread",
            params=WatchParams,
            execute=watch_execute,
            render=watch_render,
            role=Role.REQUESTER,
            slow=True,
            help="Polls the resource fast while it changes and slowly when stable, until it ends.",
            examples=("/circuit watch azure 9f8e1c52-… #net-ops", "/circuit watch eqx 3a58dd05-…"),
        )
    )
    registry.add(
        Operation(
            provider=None,
            verb="unwatch",
            summary="stop posting a resource's changes to a channel",
            params=WatchParams,
            execute=unwatch_execute,
            render=unwatch_render,
            role=Role.REQUESTER,
            examples=("/circuit unwatch azure 9f8e1c52-… #net-ops",),
        )
    )
    registry.add(
        Operation(
            provider=None,
            verb="watches",
            summary="what is watched, in one channel or everywhere",
            params=WatchesParams,
            execute=watches_execute,
            render=watches_render,
            role=Role.READER,
            examples=("/circuit watches", "/circuit watches #net-ops"),
        )
    )
