"""The one dispatcher for ``/circuit …``.

Front ends call :meth:`Router.handle_command` with their ``ack``; the router guarantees the ack
comes first (with an error, an instant answer such as help, or a "working…" note) and only then
does provider work. It is the single place for parsing, usage errors, permission checks, audit
rows and metrics, so operations stay small.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from circuitbot import metrics
from circuitbot.actions.registry import (
    Caller,
    Interaction,
    OpContext,
    Operation,
    OperationError,
    Params,
    resolve_provider,
)
from circuitbot.approvals import windows
from circuitbot.chat import blocks as bk
from circuitbot.chat import grammar, modals
from circuitbot.chat.reply import Reply, Surface
from circuitbot.context import doing, in_request
from circuitbot.runtime import Runtime
from circuitbot.store.audit import audit

log = logging.getLogger(__name__)

Ack = Callable[[Reply | None], Awaitable[None]]
HELP_USAGE = "/circuit help [topic]"
PAGE_ACTION = "circuit_page"
STALE_FORM = "that form is out of date; run the command again"


async def _inline(work: Coroutine[Any, Any, None]) -> None:
    await work


class CommandError(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.text)
        self.reply = reply


@dataclass
class Invocation:
    """A parsed command: the operation and its not-yet-validated parameters."""

    op: Operation
    data: dict[str, Any]
    text: str
    missing: list[str] = field(default_factory=list)
    prefix: list[str] = field(default_factory=list)  # the words that named the operation
    run_at: tuple[datetime, str | None] | None = None  # a mutating command's at= (approvals.windows)

    @property
    def needs_modal(self) -> bool:
        return self.op.mutating and bool(self.missing)

    @property
    def shown(self) -> str:
        """The line with secret values masked: what may be echoed back to chat (acks, modal metadata)."""
        data = {k: v for k, v in self.data.items() if k != "page"}
        return grammar.render_line(self.prefix or [self.op.verb], self.op.params, data)


class Router:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.registry = runtime.registry
        # Work after the ack shares the event loop with new acks: bounding it keeps acks quick
        # under a burst (the rest of the burst waits its turn instead of slowing every ack).
        self._work_slots = asyncio.Semaphore(runtime.settings.work_concurrency)
        # Where the work after an ack runs: here, or on the runtime's own loop (``workloop``),
        # so that the loop answering Slack never queues an ack behind it.
        self.offload: Callable[[Coroutine[Any, Any, None]], Awaitable[None]] = _inline
        # Before a command with work behind its ack is acknowledged: a refusal, or None to go on
        # (``WorkProcess.admit``: its backlog is bounded). Given the command as it may be echoed.
        self.admit: Callable[[str], Reply | None] = lambda _shown: None

    # -- parsing (pure, fast: runs before the ack) -------------------------------------------

    def parse(self, text: str) -> Invocation:
        text = text.strip()
        try:
            line = grammar.split(text)
        except grammar.GrammarError as exc:
            raise CommandError(Reply.error(str(exc), usage=HELP_USAGE)) from None
        words = line.words
        if not words:
            words = ["help"]
        op = self.registry.get(None, words[0])
        args = words[1:]
        prefix = words[:1]
        if op is None:
            provider = resolve_provider(words[0], self.registry.providers())
            if provider is None:
                raise CommandError(
                    Reply.error(
                        f"unknown command {bk.code(words[0])}. Try `/circuit help`.", usage=HELP_USAGE
                    )
                )
            op = self.registry.get(provider, words[1]) if len(words) >= 2 else None
            if op is None:
                verbs = ", ".join(o.verb for o in self.registry.for_provider(provider))
                provider_usage = f"/circuit {provider} <verb> …   verbs: {verbs}"
                if len(words) < 2:
                    raise CommandError(Reply.error(f"which {provider} operation?", usage=provider_usage))
                raise CommandError(
                    Reply.error(f"unknown {provider} verb {bk.code(words[1])}", usage=provider_usage)
                )
            args = words[2:]
            prefix = words[:2]
        run_at = self._run_at(op, line.options)
        try:
            data = grammar.collect(op.params, args, line.options)
        except grammar.ParamsError as exc:
            raise CommandError(Reply.error(bk.escape(str(exc)), usage=grammar.usage(op))) from None
        missing = grammar.missing_required(op.params, data)
        if missing and not op.mutating:
            names = ", ".join(m.replace("_", "-") for m in missing)
            raise CommandError(Reply.error(f"missing {names}", usage=grammar.usage(op)))
        return Invocation(op=op, data=data, text=text, missing=missing, prefix=prefix, run_at=run_at)

    def _run_at(self, op: Operation, options: dict[str, str]) -> tuple[datetime, str | None] | None:
        """A mutating command's ``at=``, taken out of its options (every mutating command has it)."""
        if not op.mutating or "at" not in options:
            return None
        now = self.runtime.clock.now()
        try:
            at, zone = windows.parse_at(options.pop("at"), now)
        except windows.ScheduleError as exc:
            raise CommandError(Reply.error(bk.escape(str(exc)), usage=grammar.usage(op))) from None
        if at <= now:
            raise CommandError(Reply.error(f"at= is in the past: {windows.when(at, zone)}"))
        return at, zone

    def validate(self, inv: Invocation) -> Params:
        try:
            return grammar.validate(inv.op.params, inv.data)
        except grammar.ParamsError as exc:
            raise CommandError(Reply.error(bk.escape(str(exc)), usage=grammar.usage(inv.op))) from None

    async def caller(
        self,
        user_id: str,
        channel_id: str | None = None,
        thread_ts: str | None = None,
        *,
        cached_only: bool = False,
    ) -> Caller:
        """Who is asking. ``cached_only`` (before an ack) never waits on a user-group lookup."""
        roles = await self.runtime.roles.roles(user_id, cached_only=cached_only)
        return Caller(user_id=user_id, roles=roles, channel_id=channel_id, thread_ts=thread_ts)

    # -- the command path ----------------------------------------------------------------------

    @in_request
    async def handle_command(
        self,
        text: str,
        *,
        user_id: str,
        channel_id: str | None,
        surface: Surface,
        ack: Ack,
        thread_ts: str | None = None,
    ) -> None:
        started = time.perf_counter()
        try:
            inv = self.parse(text)
            if inv.op.instant:
                caller = await self.caller(user_id, channel_id, thread_ts, cached_only=True)
                self._authorize(inv.op, caller)
                params = self.validate(inv)
                ctx = OpContext(self.runtime, caller, inv.shown, surface)
                try:
                    reply = inv.op.render(await inv.op.execute(ctx, params), params, ctx)
                except OperationError as exc:
                    raise CommandError(Reply.error(str(exc), usage=grammar.usage(inv.op))) from None
                await ack(reply)
                metrics.commands.labels(inv.op.name, "ok").inc()
                return
            if not inv.needs_modal:
                params = self.validate(inv)
            if (refusal := self.admit(inv.shown)) is not None:
                await ack(refusal)
                return
            if inv.needs_modal:
                await ack(None)
            else:
                await ack(Reply.working(inv.shown) if inv.op.slow or inv.op.mutating else None)
        except CommandError as exc:
            await ack(exc.reply)
            metrics.commands.labels("invalid", "error").inc()
            return

        if inv.needs_modal:  # a trigger_id lives 3 s: never queued, nor kept waiting on roles
            known = await self.caller(user_id, channel_id, thread_ts, cached_only=True)
            ctx = OpContext(self.runtime, known, inv.shown, surface)
            await self.offload(self._form_after_ack(ctx, inv))
            return
        await self.offload(
            self._command_after_ack(inv, params, user_id, channel_id, thread_ts, surface, started)
        )

    async def _form_after_ack(self, ctx: OpContext, inv: Invocation) -> None:
        result = await self._open_form(ctx, inv)
        metrics.commands.labels(inv.op.name, result).inc()

    async def _command_after_ack(
        self,
        inv: Invocation,
        params: Params,
        user_id: str,
        channel_id: str | None,
        thread_ts: str | None,
        surface: Surface,
        started: float,
    ) -> None:
        """The work behind an acknowledged command: roles in full, the audited check, the run."""
        caller = await self.caller(user_id, channel_id, thread_ts)
        ctx = OpContext(self.runtime, caller, inv.shown, surface)
        ctx.run_at, ctx.run_tz = inv.run_at or (None, None)
        try:
            await self._authorize_audited(ctx, inv.op, params.target())
            async with self._work_slots:
                await self.run(ctx, inv.op, params)
            result = "ok"
        except CommandError as exc:
            result = "refused"
            await surface.reply(exc.reply)
        except OperationError as exc:  # e.g. a preview the provider refused, before any request exists
            result = "failed"
            await surface.reply(Reply.error(str(exc)))
        metrics.commands.labels(inv.op.name, result).inc()
        metrics.command_seconds.labels(inv.op.name).observe(time.perf_counter() - started)

    async def _open_form(self, ctx: OpContext, inv: Invocation) -> str:
        """Open the operation's modal first, then check the caller's roles in full: a refused
        caller sees the form turn into the refusal. The submission is checked again."""
        form = await modals.open_for(ctx, inv.op, inv.data)
        if form is None:
            return "no_modal"
        caller = ctx.caller
        ctx.caller = await self.caller(caller.user_id, caller.channel_id, caller.thread_ts)
        try:
            await self._authorize_audited(ctx, inv.op)
        except CommandError as exc:
            await modals.refuse(ctx, form, exc.reply.text.removeprefix(":warning: "))
            if ctx.surface is not None:
                await ctx.surface.reply(exc.reply)
            return "refused"
        await modals.fill_choices(ctx, form)
        return "modal"

    @in_request
    async def handle_action(
        self, interaction: Interaction, *, user_id: str, surface: Surface, ack: Ack
    ) -> None:
        """A button or select in a message: ack at once, then hand it to its registered handler."""
        await ack(None)
        await self.offload(self._action_after_ack(interaction, user_id, surface))

    async def _action_after_ack(self, interaction: Interaction, user_id: str, surface: Surface) -> None:
        caller = await self.caller(user_id, interaction.channel_id, interaction.thread_ts)
        ctx = OpContext(self.runtime, caller, "", surface)
        if interaction.action_id.split(":", 1)[0] == PAGE_ACTION:
            await self._turn_page(ctx, interaction, surface)
            return
        handler = self.registry.action_handler(interaction.action_id)
        if handler is None:
            log.warning("no handler for action %s", interaction.action_id)
            await surface.reply(Reply.error("that button is no longer handled; run the command again"))
            return
        try:
            await handler(ctx, interaction)
        except CommandError as exc:
            await surface.reply(exc.reply)
        except OperationError as exc:
            await surface.reply(Reply.error(str(exc)))
        except Exception:
            await surface.reply(Reply.failure(log, f"handling the button `{interaction.action_id}`"))

    async def _turn_page(self, ctx: OpContext, interaction: Interaction, surface: Surface) -> None:
        """Re-run the listing a page button came from, at the page it names, in place."""
        try:
            target = json.loads(interaction.value)
            inv = self.parse(str(target["text"]))
            inv.data["page"] = int(target["page"])
            params = self.validate(inv)
        except (ValueError, KeyError, TypeError, CommandError):
            await surface.reply(Reply.error("that page link is out of date; run the command again"))
            return
        if inv.op.mutating:
            return
        try:
            await self._authorize_audited(ctx, inv.op, params.target())
        except CommandError as exc:
            await surface.reply(exc.reply)
            return
        ctx.command_text = inv.shown
        await self.run(ctx, inv.op, params, replace=True)

    @in_request
    async def handle_view(
        self,
        view: dict[str, Any],
        *,
        user_id: str,
        surface: Surface,
        ack_errors: Callable[[dict[str, str] | None], Awaitable[None]],
    ) -> None:
        """A modal submitted: the generated operation modal, or a view a room registered. Its
        handlers read the database before they ack, so all of it runs where the work runs."""
        await self.offload(self._view(view, user_id, surface, ack_errors))

    async def _view(
        self,
        view: dict[str, Any],
        user_id: str,
        surface: Surface,
        ack_errors: Callable[[dict[str, str] | None], Awaitable[None]],
    ) -> None:
        callback_id = view.get("callback_id", "")
        if callback_id == modals.CALLBACK_ID:
            await self.handle_modal_submission(view, user_id=user_id, surface=surface, ack_errors=ack_errors)
            return
        handler = self.registry.view_handler(callback_id)
        if handler is None:
            await ack_errors(None)
            await surface.reply(Reply.error(STALE_FORM))
            return
        meta = modals.metadata(view)
        # the handler acks; no user-group lookup may delay that (the click before filled the cache)
        caller = await self.caller(user_id, meta.get("channel"), meta.get("thread_ts"), cached_only=True)
        await handler(OpContext(self.runtime, caller, "", surface), view, ack_errors)

    async def handle_modal_submission(
        self,
        view: dict[str, Any],
        *,
        user_id: str,
        surface: Surface,
        ack_errors: Callable[[dict[str, str] | None], Awaitable[None]],
    ) -> None:
        """The generated modal submitted: inline field errors in the ack, or ack and run it."""
        meta = modals.metadata(view)
        op = self.registry.by_name(meta.get("op", ""))
        if op is None:
            await ack_errors(None)
            await surface.reply(Reply.error(STALE_FORM))
            return
        try:
            params = modals.read_submission(op, view)
        except grammar.ParamsError as exc:
            await ack_errors(modals.field_errors(op, exc.errors))
            return
        at_text = modals.submitted_run_at(view) if op.mutating else None
        try:
            run_at = self._run_at(op, {"at": at_text}) if at_text else None
        except CommandError as exc:
            await ack_errors({modals.RUN_AT: bk.clip(exc.reply.text, 150)})
            return
        await ack_errors(None)
        caller = await self.caller(user_id, meta.get("channel"), meta.get("thread_ts"))
        ctx = OpContext(self.runtime, caller, "", surface)
        ctx.run_at, ctx.run_tz = run_at or (None, None)
        text = await modals.recalled_text(ctx, meta)
        if text is None:
            await surface.reply(Reply.error(STALE_FORM))
            return
        ctx.command_text = text
        try:
            await self._authorize_audited(ctx, op, params.target())
            await self.run(ctx, op, params)
        except CommandError as exc:
            await surface.reply(exc.reply)
        except OperationError as exc:
            await surface.reply(Reply.error(str(exc)))

    async def run(self, ctx: OpContext, op: Operation, params: Params, *, replace: bool = False) -> None:
        """Do the work behind an acknowledged command and answer on the surface (``replace``: in
        place of the message the interaction came from, as a page turn does)."""
        with doing(op.name):  # its provider calls are counted under it
            await self._run(ctx, op, params, replace=replace)

    async def _run(self, ctx: OpContext, op: Operation, params: Params, *, replace: bool) -> None:
        if op.mutating:
            await self._request(ctx, op, params)
            return
        try:
            result = await op.execute(ctx, params)
            reply = op.render(result, params, ctx)
            outcome = "ok"
        except OperationError as exc:
            reply, outcome = Reply.error(str(exc)), "failed"
        except Exception:
            reply, outcome = Reply.failure(log, f"running `{op.name}`"), "error"
        await self._audit(ctx, op, params, "command", outcome)
        if ctx.surface is not None:
            reply.replace = replace
            await ctx.surface.reply(reply)

    async def _request(self, ctx: OpContext, op: Operation, params: Params) -> None:
        engine = self.runtime.approvals
        if engine is None:
            raise CommandError(Reply.error("mutating operations are disabled: no approval engine is running"))
        reply = await engine.submit(ctx, op, params)
        if ctx.surface is not None and reply is not None:
            await ctx.surface.reply(reply)

    def _authorize(self, op: Operation, caller: Caller) -> None:
        needed = op.required_role
        if not caller.can(needed):
            raise CommandError(
                Reply.error(f"`{op.name}` needs the {needed.value} role; ask an admin to add you")
            )

    async def _authorize_audited(self, ctx: OpContext, op: Operation, target: str | None = None) -> None:
        """``_authorize``, with an audit row for a refusal: who tried what they may not do."""
        try:
            self._authorize(op, ctx.caller)
        except CommandError as exc:
            detail = {"operation": op.name, "reason": f"needs the {op.required_role.value} role"}
            await self._write_audit(ctx, "command", "refused", target, detail)
            raise exc from None

    async def _audit(self, ctx: OpContext, op: Operation, params: Params, action: str, result: str) -> None:
        detail: dict[str, Any] = {"operation": op.name, "params": params.public_dump()}
        await self._write_audit(ctx, action, result, params.target(), detail)

    async def _write_audit(
        self, ctx: OpContext, action: str, result: str, target: str | None, detail: dict[str, Any]
    ) -> None:
        try:
            async with self.runtime.db.session() as session:
                audit(
                    session,
                    at=self.runtime.clock.now(),
                    actor=ctx.caller.user_id,
                    action=action,
                    result=result,
                    target=target,
                    detail=detail,
                )
        except Exception:  # an audit hiccup must not hide the answer from the user
            log.exception("could not write the audit row for %s", detail.get("operation"))
