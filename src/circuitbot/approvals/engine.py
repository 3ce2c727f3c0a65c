"""The approval engine: request → decision → execution, exactly once.

Every mutating operation arrives here from the router (``submit``). The request is persisted
with the operation's preview and precondition, posted with Approve / Reject buttons, and waits.

Every status change is a compare-and-set in the database (``UPDATE … WHERE id = :id AND status =
:expected``), so concurrent clicks, double clicks, a sweep and other replicas agree on one winner:

    pending → approved → executing → succeeded | failed | needs_attention
    pending → rejected | expired | canceled

(the table of these moves is ``status.TRANSITIONS``; ``_cas`` refuses any other).

Execution is claimed (approved → executing) before the provider is called and is never retried
blindly: a request found in ``executing`` after a crash is reconciled with the operation's
``verify`` (is the change visible at the provider?) and becomes succeeded or needs_attention.
On PostgreSQL the executor also holds a row lock (its lease) from just after the claim until the
outcome is recorded, so a replica that starts meanwhile can tell a running execution from an
orphaned one (``FOR UPDATE SKIP LOCKED``); under the lease it checks that the claim is still its
own, and the sweep claims a request only when it can run it at once.

The request's Slack messages are in ``notify``, the read-only listings in ``listings``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from circuitbot import metrics
from circuitbot.actions.registry import (
    Caller,
    OpContext,
    Operation,
    OperationError,
    OutcomeUnknown,
    Params,
    Preview,
    Refused,
    Role,
)
from circuitbot.approvals import listings, notify, policy
from circuitbot.approvals import messages as msg
from circuitbot.approvals.secrets import Masker, SecretBox, SecretKeyMissing, secret_fields
from circuitbot.approvals.status import RequestStatus, check_transition
from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply
from circuitbot.store.audit import audit
from circuitbot.store.tables import ApprovalDecision, ApprovalRequest

if TYPE_CHECKING:
    from circuitbot.runtime import Runtime

log = logging.getLogger(__name__)

ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # base32: no 0/1/8/9 to confuse with O/I/B/g
AfterClaim = Callable[[str], Awaitable[None]]


def new_request_id() -> str:
    return "R" + "".join(secrets.choice(ID_ALPHABET) for _ in range(6))


class Audited:
    """Who a status change is audited as, with what result and detail (see ``ApprovalEngine._cas``)."""

    def __init__(self, actor: str, result: str = "ok", **detail: Any) -> None:
        self.actor = actor
        self.result = result
        self.detail = detail


class ApprovalEngine:
    """Owns the approval state machine; one per process, any number of processes per database."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        instance_id: str | None = None,
        sweep_seconds: float = 5.0,
        expiry_seconds: float = 60.0,
        orphan_after_seconds: float = 60.0,
        local_key: bool = False,
    ) -> None:
        self.runtime = runtime
        # Who claimed a request: host and process, plus a nonce so two engines never look alike.
        self.instance_id = instance_id or f"{socket.gethostname()[:40]}/{os.getpid()}/{secrets.token_hex(3)}"
        self.sweep_seconds = sweep_seconds
        self.expiry_seconds = expiry_seconds
        # An 'executing' row claimed this long ago whose lease is free has lost its executor.
        self.orphan_after_seconds = orphan_after_seconds
        # Test hook: runs once a claimed request is leased, before execute (raise to simulate a crash).
        self.after_claim: AfterClaim | None = None
        # Built now, so a bad key stops start-up rather than the first request. ``local_key``: may
        # keep a generated key in data_dir, where that is the user's own (sandbox, shell).
        self.box = SecretBox(runtime.settings, local=local_key)
        self.notify = notify.Notifier(runtime)
        self._task: asyncio.Task | None = None
        self._stopping = asyncio.Event()  # set by stop(): no new round, and the sleep is cut short

    # -- plumbing ------------------------------------------------------------------------------

    @property
    def settings(self):
        return self.runtime.settings

    @property
    def db(self):
        return self.runtime.db

    @property
    def clock(self):
        return self.runtime.clock

    def _audit(
        self,
        session: AsyncSession,
        *,
        actor: str,
        action: str,
        result: str,
        row: ApprovalRequest | None = None,
        target: str | None = None,
        request_id: str | None = None,
        **detail: Any,
    ) -> None:
        if row is not None:
            detail.setdefault("operation", row.operation)
        audit(
            session,
            at=self.clock.now(),
            actor=actor,
            action=action,
            result=result,
            target=row.target if row is not None else target,
            request_id=row.id if row is not None else request_id,
            detail=msg.jsonable({k: v for k, v in detail.items() if v is not None}),
        )

    async def _cas(
        self,
        session: AsyncSession,
        request: ApprovalRequest | str,
        expected: RequestStatus,
        new: RequestStatus,
        *conditions: Any,
        audit: Audited | None = None,
        **values: Any,
    ) -> bool:
        """Move one request from ``expected`` to ``new``; False when someone else moved it first.
        The move must be one ``status.TRANSITIONS`` allows (else ForbiddenTransition, and nothing
        is written). With ``audit``, a move writes its audit row (``status.<new>``) in the same
        transaction."""
        check_transition(expected, new)
        request_id = request if isinstance(request, str) else request.id
        stmt = (
            update(ApprovalRequest)
            .where(ApprovalRequest.id == request_id, ApprovalRequest.status == expected, *conditions)
            .values(status=new, **values)
            .execution_options(synchronize_session=False)
        )
        moved = (await session.execute(stmt)).rowcount == 1
        if moved:
            metrics.approvals.labels(new).inc()
            if audit is not None:
                row = await session.get(ApprovalRequest, request_id) if isinstance(request, str) else request
                self._audit(
                    session,
                    actor=audit.actor,
                    action=f"status.{new}",
                    result=audit.result,
                    row=row,
                    **audit.detail,
                )
        return moved

    async def load(self, request_id: str) -> tuple[ApprovalRequest | None, list[str]]:
        """The request and the users who approved it so far, in order."""
        return await listings.load(self.db, request_id)

    # -- request -------------------------------------------------------------------------------

    async def submit(self, ctx: OpContext, op: Operation, params: Params) -> Reply | None:
        """Turn a validated mutating command into a pending request; the reply is for the requester."""
        caller = ctx.caller
        masker = Masker(secret_fields(params).values())
        public = msg.jsonable(params.public_dump())
        target = params.target()
        refusal = policy.request_refusal(caller, op)
        if refusal is None:
            try:
                preview = await self._preview(ctx, op, params, masker)
            except OperationError as exc:
                refusal = masker.text(str(exc))
            else:
                if not preview.changes:
                    refusal = f"nothing to change: {masker.text(preview.summary)}"
        if refusal is None:
            try:
                sealed = self.box.seal(params)
            except SecretKeyMissing as exc:
                refusal = str(exc)
        if refusal is not None:
            async with self.db.session() as session:
                self._audit(
                    session,
                    actor=caller.user_id,
                    action="request.refused",
                    result="refused",
                    target=target,
                    operation=op.name,
                    params=public,
                    reason=refusal,
                )
            return Reply.error(f"`{op.name}` refused: {refusal}")

        now = self.clock.now()
        preview_data = masker(
            msg.jsonable(
                {
                    "summary": preview.summary,
                    "changes": [list(change) for change in preview.changes],
                    "notes": preview.notes,
                    "params": public,
                }
            )
        )
        row = None
        for _ in range(5):  # ids are random: retry the rare collision
            row = ApprovalRequest(
                id=new_request_id(),
                operation=op.name,
                provider=op.provider,
                target=target,
                params=sealed,
                requester=caller.user_id,
                channel=caller.channel_id,
                thread_ts=caller.thread_ts,
                preview=preview_data,
                precondition=msg.jsonable(preview.precondition),
                status=RequestStatus.PENDING,
                approvals_required=policy.approvals_required(self.settings, op),
                created_at=now,
                expires_at=policy.expires_at(self.settings, now),
            )
            try:
                async with self.db.session() as session:
                    session.add(row)
                    await session.flush()
                    self._audit(
                        session,
                        actor=caller.user_id,
                        action="request.created",
                        result="ok",
                        row=row,
                        params=public,
                        summary=preview_data["summary"],
                    )
                break
            except IntegrityError:
                row = None
        if row is None:
            raise OperationError("could not store the request; try again")
        metrics.approvals.labels(RequestStatus.PENDING).inc()
        log.info("request %s created for %s by %s", row.id, op.name, caller.user_id)
        where = await self.notify.post_request(row)
        return msg.created(row, where)

    async def _preview(self, ctx: OpContext, op: Operation, params: Params, masker: Masker) -> Preview:
        if op.preview is None:
            raise Refused(f"{op.name} has no preview, so it cannot be approved")
        try:
            return await op.preview(ctx, params)
        except OperationError:
            raise
        except Exception as exc:
            error_id = secrets.token_hex(4)
            log.error(
                "preview of %s failed (error id %s): %s: %s",
                op.name,
                error_id,
                exc.__class__.__name__,
                masker.text(str(exc)),
            )
            raise OperationError(f"could not read the current state (error id {error_id})") from None

    # -- decisions -----------------------------------------------------------------------------

    async def _check_decidable(
        self, ctx: OpContext, request_id: str, action: str, *, rejecting: bool = False
    ) -> tuple[ApprovalRequest | None, Reply | None]:
        """The request if ``ctx.caller`` may decide it now, else the refusal to tell them."""
        row, _ = await self.load(request_id)
        user_id = ctx.caller.user_id
        if row is None:
            return None, Reply.error(f"no request `{request_id}`")
        refusal = policy.decision_refusal(ctx.caller, row.requester, self.settings, rejecting=rejecting)
        if refusal is not None:
            async with self.db.session() as session:
                self._audit(session, actor=user_id, action=action, result="refused", row=row, reason=refusal)
            log.info("refused %s of %s by %s: %s", action, row.id, user_id, refusal)
            return None, Reply.error(f"{refusal} (`{row.id}`)")
        row = await self._expire_if_due(row)
        if row.status != RequestStatus.PENDING:
            async with self.db.session() as session:
                self._audit(
                    session, actor=user_id, action=action, result="too_late", row=row, status=row.status
                )
            return None, self._already(row)
        return row, None

    async def _expire_if_due(self, row: ApprovalRequest) -> ApprovalRequest:
        """The request as it stands once expired if its time is up (the sweep may not have run)."""
        if row.status != RequestStatus.PENDING or row.expires_at > self.clock.now():
            return row
        await self._expire(row.id)
        row, _ = await self.load(row.id)
        assert row is not None
        return row

    def _already(self, row: ApprovalRequest) -> Reply:
        by = f" by {msg.user(row.decided_by)}" if row.decided_by else ""
        if row.status in (RequestStatus.REJECTED, RequestStatus.CANCELED, RequestStatus.EXPIRED):
            return Reply.error(
                f"`{row.id}` was already {row.status}{by if row.status != RequestStatus.EXPIRED else ''}"
            )
        now = "" if row.status == RequestStatus.APPROVED else f", now {row.status.replace('_', ' ')}"
        return Reply.error(f"`{row.id}` was already approved{by}{now}")

    async def _vote(self, ctx: OpContext, row: ApprovalRequest, decision: str, **detail: Any) -> Reply | None:
        """Record one person's vote (once per request); a Reply when it could not be recorded."""
        try:
            async with self.db.session() as session:
                session.add(
                    ApprovalDecision(
                        request_id=row.id, user_id=ctx.caller.user_id, decision=decision, at=self.clock.now()
                    )
                )
                await session.flush()
                self._audit(
                    session,
                    actor=ctx.caller.user_id,
                    action=f"vote.{decision}",
                    result="ok",
                    row=row,
                    **detail,
                )
        except IntegrityError:
            async with self.db.session() as session:
                self._audit(
                    session, actor=ctx.caller.user_id, action=f"vote.{decision}", result="duplicate", row=row
                )
            return Reply.error(f"you have already voted on `{row.id}`")
        return None

    async def approve(self, ctx: OpContext, request_id: str) -> Reply:
        """An approve click: the vote, and the approval when it completes them. The reply is for
        the clicker; the caller runs the request next (``execute``), after telling them."""
        row, refusal = await self._check_decidable(ctx, request_id, "vote.approve")
        if refusal is not None:
            return refusal
        assert row is not None
        refusal = await self._vote(ctx, row, "approve")
        if refusal is not None:
            return refusal
        # Every voter commits its vote before counting, so the last of concurrent voters sees them all.
        votes = (
            select(func.count())
            .select_from(ApprovalDecision)
            .where(ApprovalDecision.request_id == row.id, ApprovalDecision.decision == "approve")
            .scalar_subquery()
        )
        now = self.clock.now()
        async with self.db.session() as session:
            won = await self._cas(
                session,
                row,
                RequestStatus.PENDING,
                RequestStatus.APPROVED,
                votes >= ApprovalRequest.approvals_required,
                ApprovalRequest.expires_at > now,
                audit=Audited(ctx.caller.user_id),
                decided_by=ctx.caller.user_id,
                decided_at=now,
            )
        row, approvers = await self.load(row.id)
        assert row is not None
        if won:
            log.info("request %s approved by %s", row.id, ctx.caller.user_id)
            await self.notify.refresh(row.id)
            return Reply.plain(f":white_check_mark: You approved `{row.id}`; running it now.")
        if row.status == RequestStatus.PENDING:
            await self.notify.refresh(row.id)
            await self.notify.thread(
                row,
                msg.thread_note(
                    f"{msg.user(ctx.caller.user_id)} approved ({len(approvers)} of {row.approvals_required})."
                ),
            )
            return Reply.plain(
                f"Your approval of `{row.id}` is recorded: {len(approvers)} of {row.approvals_required}."
            )
        return self._already(row)

    async def ask_reject(self, ctx: OpContext, request_id: str) -> Reply | None:
        """A reject click: the reason form (or a rejection at once where there are no forms)."""
        surface = ctx.surface
        if surface is None:
            return await self.reject(ctx, request_id, None)
        where = {"channel": ctx.caller.channel_id, "thread_ts": ctx.caller.thread_ts}
        view_id = None
        if policy.approver_refusal(ctx.caller) is None:
            # Slack's trigger_id lives 3 s: the form opens before any database work. The submission
            # is checked again from the start, so what is found below only fills the form in.
            view_id = await surface.open_modal(msg.reject_modal(request_id, **where))
        row, refusal = await self._check_decidable(ctx, request_id, "vote.reject", rejecting=True)
        if view_id is not None:
            view = (
                msg.reject_refused_modal(request_id, refusal)
                if refusal is not None
                else msg.reject_modal(request_id, row, **where)
            )
            try:
                await surface.update_modal(view_id, view)
            except Exception as exc:  # closed meanwhile; the reply below still says why
                log.info("could not update the reject form of %s: %s", request_id, exc.__class__.__name__)
        return refusal

    async def reject(self, ctx: OpContext, request_id: str, reason: str | None) -> Reply:
        row, refusal = await self._check_decidable(ctx, request_id, "vote.reject", rejecting=True)
        if refusal is not None:
            return refusal
        assert row is not None
        refusal = await self._vote(ctx, row, "reject", reason=reason)
        if refusal is not None:
            return refusal
        async with self.db.session() as session:
            won = await self._cas(
                session,
                row,
                RequestStatus.PENDING,
                RequestStatus.REJECTED,
                audit=Audited(ctx.caller.user_id, reason=reason),
                decided_by=ctx.caller.user_id,
                decided_at=self.clock.now(),
                reason=reason,
            )
        row, _ = await self.load(row.id)
        assert row is not None
        if not won:
            return self._already(row)
        log.info("request %s rejected by %s", row.id, ctx.caller.user_id)
        await self.notify.refresh(row.id)
        return Reply.plain(f":no_entry: You rejected `{row.id}`.")

    async def cancel(self, ctx: OpContext, request_id: str) -> Reply:
        """The requester withdraws a pending request (admins may too)."""
        row, _ = await self.load(request_id)
        user_id = ctx.caller.user_id
        if row is None:
            return Reply.error(f"no request `{request_id}`")
        refusal = policy.cancel_refusal(ctx.caller, row.requester)
        if refusal is not None:
            async with self.db.session() as session:
                self._audit(
                    session, actor=user_id, action="cancel", result="refused", row=row, reason=refusal
                )
            return Reply.error(f"{refusal} (`{row.id}`)")
        row = await self._expire_if_due(row)
        now = self.clock.now()
        async with self.db.session() as session:
            won = await self._cas(
                session,
                row,
                RequestStatus.PENDING,
                RequestStatus.CANCELED,
                ApprovalRequest.expires_at > now,
                audit=Audited(user_id),
                decided_by=user_id,
                decided_at=now,
            )
            if not won:
                self._audit(session, actor=user_id, action="cancel", result="too_late", row=row)
        if not won:
            row, _ = await self.load(row.id)
            assert row is not None
            return self._already(row)
        await self.notify.refresh(row.id)
        return Reply.plain(f"Request `{row.id}` canceled.")

    # -- execution -----------------------------------------------------------------------------

    async def execute(self, request_id: str) -> str | None:
        """Claim an approved request and run it; the final status, or None if not ours to run
        (not approved, or claimed by a click or a replica first)."""
        async with self.db.session() as session:
            claimed = await self._claim(session, request_id)
        if not claimed:
            return None
        return await self._run_claimed(request_id)

    async def _claim(self, session: AsyncSession, request_id: str) -> bool:
        return await self._cas(
            session,
            request_id,
            RequestStatus.APPROVED,
            RequestStatus.EXECUTING,
            audit=Audited("system", instance=self.instance_id),
            claimed_by=self.instance_id,
            claimed_at=self.clock.now(),
        )

    @asynccontextmanager
    async def _lease(self, request_id: str) -> AsyncIterator[tuple[AsyncSession, ApprovalRequest | None]]:
        """The claimed request read again in the transaction that runs it and records its outcome.

        On PostgreSQL the read takes the row lock (the executor's lease), held until the outcome is
        committed, so a replica starting meanwhile sees a live execution (locked) rather than an
        orphan (claimed, unlocked)."""
        async with self.db.session() as session:
            query = select(ApprovalRequest).where(ApprovalRequest.id == request_id)
            if self.db.skip_locked:
                query = query.with_for_update()
            yield session, (await session.scalars(query)).first()

    async def _run_claimed(self, request_id: str) -> str | None:
        """Run a request this instance claimed; the final status (None: no such request)."""
        result: Any = None
        detail: Reply | None = None
        error: str | None = None
        unknown = False  # the provider may or may not have applied it
        masker = Masker(())
        async with self._lease(request_id) as (session, row):
            if row is None or row.status != RequestStatus.EXECUTING or row.claimed_by != self.instance_id:
                # Between the claim and the lease another replica's recovery took it for an orphan.
                log.warning("request %s is no longer ours to run", request_id)
                return row.status if row is not None else None
            await self.notify.refresh(row.id)
            op = self.runtime.registry.by_name(row.operation)
            if self.after_claim is not None:
                await self.after_claim(row.id)
            try:
                if op is None:
                    raise OperationError(f"the operation {row.operation} no longer exists")
                params = self.box.open(op.params, row.params)
                masker = Masker(secret_fields(params).values())
                ctx = await self._context(row)
                # The one and only call: nothing below may retry it.
                result = await op.execute(ctx, params)
            except OutcomeUnknown as exc:
                error = masker.text(str(exc)) or exc.__class__.__name__
                unknown = True
            except OperationError as exc:
                error = masker.text(str(exc)) or exc.__class__.__name__
            except Exception as exc:
                error = masker.text(f"{exc.__class__.__name__}: {exc}")
                # Frames only: the exception text may carry what the provider echoed back.
                log.error(
                    "request %s (%s) failed: %s\n%s",
                    row.id,
                    row.operation,
                    error,
                    "".join(traceback.format_tb(exc.__traceback__)),
                )
            if error is None:
                try:
                    detail = op.render(result, params, ctx)
                    detail = Reply(
                        text=masker.text(detail.text), blocks=masker(detail.blocks), ephemeral=False
                    )
                except Exception as exc:
                    log.warning("could not render the result of %s: %s", row.id, exc.__class__.__name__)
                    detail = Reply.plain("Done.", ephemeral=False)
            status = (
                RequestStatus.SUCCEEDED
                if error is None
                else RequestStatus.NEEDS_ATTENTION
                if unknown
                else RequestStatus.FAILED
            )
            stored = {"text": bk.clip(detail.text, 4000)} if detail is not None else None
            finished = await self._cas(
                session,
                row,
                RequestStatus.EXECUTING,
                status,
                ApprovalRequest.claimed_by == self.instance_id,
                audit=Audited("system", error=error),
                finished_at=self.clock.now(),
                result=stored,
                error=error,
            )
            if not finished:
                self._audit(
                    session, actor="system", action=f"status.{status}", result="lost", row=row, error=error
                )
        if not finished:  # reconciled by another replica meanwhile; its verdict stands
            log.warning("request %s was no longer ours to finish", row.id)
            return (await self.load(row.id))[0].status
        log.info("request %s %s", row.id, status)
        await self.notify.refresh(row.id)
        if error is None:
            await self.notify.thread(
                row, msg.thread_note(f":large_green_circle: `{row.id}` succeeded.", detail)
            )
            await self._follow(row, op, params, result)
        elif status == RequestStatus.NEEDS_ATTENTION:
            await self.notify.thread(
                row, msg.thread_note(f":warning: `{row.id}` needs attention: {bk.escape(error)}")
            )
        else:
            await self.notify.thread(
                row, msg.thread_note(f":red_circle: `{row.id}` failed: {bk.escape(error)}")
            )
        return status

    async def _context(self, row: ApprovalRequest) -> OpContext:
        roles = (
            await self.runtime.roles.roles(row.requester)
            if self.runtime.roles
            else frozenset({Role.REQUESTER})
        )
        caller = Caller(user_id=row.requester, roles=roles, channel_id=row.channel, thread_ts=row.thread_ts)
        return OpContext(
            self.runtime, caller, "", None, precondition=dict(row.precondition or {}), request_id=row.id
        )

    async def _follow(self, row: ApprovalRequest, op: Operation, params: Params, result: Any) -> None:
        """Watch what the operation changed, in the thread of its approval message."""
        watches = self.runtime.watches
        if op.follow is None or watches is None or not hasattr(watches, "watch"):
            return
        try:
            target = op.follow(params, result)
            if target is None:
                return
            channel, ts = (notify.copies(row) or [(row.channel, row.thread_ts)])[0]
            if channel is None:
                return
            await watches.watch(
                target, channel=channel, thread_ts=ts, created_by=row.requester, request_id=row.id
            )
        except Exception as exc:  # the change is done; a missing watch is only an inconvenience
            log.warning("could not watch the result of %s: %s", row.id, exc)

    async def run_approved(self, limit: int = 20) -> list[str]:
        """Claim and run approved requests that no click is running (a crash, another replica).

        One at a time, each claimed only when it can run at once: a request claimed but queued
        behind a slow one would sit unlocked in 'executing' and look orphaned to recovery."""
        ran: list[str] = []
        for _ in range(limit):
            if self._stopping.is_set():
                break
            async with self.db.session() as session:
                query = (
                    select(ApprovalRequest.id)
                    .where(ApprovalRequest.status == RequestStatus.APPROVED)
                    .order_by(ApprovalRequest.decided_at, ApprovalRequest.id)
                    .limit(1)
                )
                if self.db.skip_locked:
                    query = query.with_for_update(skip_locked=True)
                request_id = await session.scalar(query)
                if request_id is None:
                    break
                claimed = await self._claim(session, request_id)
            if claimed:  # else a click or another replica took it first: look for the next one
                ran.append(request_id)
                await self._run_claimed(request_id)
        return ran

    # -- recovery and expiry -------------------------------------------------------------------

    async def recover(self) -> dict[str, str]:
        """Reconcile requests left in 'executing' by a dead executor: request id → new status.

        Never re-executes: the operation's ``verify`` says whether the change is visible."""
        outcome: dict[str, str] = {}
        seen: set[str] = set()
        while True:
            async with self.db.session() as session:
                query = select(ApprovalRequest).where(
                    ApprovalRequest.status == RequestStatus.EXECUTING, ApprovalRequest.id.not_in(seen)
                )
                if self.db.skip_locked:
                    # Locked rows have a live executor; a fresh claim may not have taken its lease yet.
                    cutoff = self.clock.now() - timedelta(seconds=self.orphan_after_seconds)
                    query = query.where(ApprovalRequest.claimed_at <= cutoff).with_for_update(
                        skip_locked=True
                    )
                row = (await session.scalars(query.order_by(ApprovalRequest.claimed_at).limit(1))).first()
                if row is None:
                    break
                seen.add(row.id)
                visible, why = await self._verify(row)
                status = RequestStatus.SUCCEEDED if visible else RequestStatus.NEEDS_ATTENTION
                moved = await self._cas(
                    session,
                    row,
                    RequestStatus.EXECUTING,
                    status,
                    ApprovalRequest.claimed_by == row.claimed_by,
                    audit=Audited(
                        "system", "recovered", error=None if visible else why, claimed_by=row.claimed_by
                    ),
                    finished_at=self.clock.now(),
                    error=None if visible else why,
                    result={"text": "reconciled after a restart: the change is visible"} if visible else None,
                )
            if moved:
                outcome[row.id] = status
                log.warning("request %s was interrupted while executing: now %s", row.id, status)
                await self.notify.refresh(row.id)
                await self.notify.thread(row, msg.recovered_note(row, visible, why))
        return outcome

    async def _verify(self, row: ApprovalRequest) -> tuple[bool, str]:
        op = self.runtime.registry.by_name(row.operation)
        if op is None or op.verify is None:
            return False, "the operation cannot check whether it took effect."
        try:
            params = self.box.open(op.params, row.params)
            visible = await op.verify(await self._context(row), params, dict(row.precondition or {}))
        except Exception as exc:
            return False, f"checking the provider failed ({exc.__class__.__name__})."
        if visible is True:
            return True, ""
        return False, "the change is not visible at the provider."

    async def expire_due(self) -> list[str]:
        """Expire pending requests past their TTL; the ids expired by this call."""
        now = self.clock.now()
        async with self.db.session() as session:
            due = list(
                await session.scalars(
                    select(ApprovalRequest.id).where(
                        ApprovalRequest.status == RequestStatus.PENDING, ApprovalRequest.expires_at <= now
                    )
                )
            )
        return [rid for rid in due if await self._expire(rid)]

    async def _expire(self, request_id: str) -> bool:
        now = self.clock.now()
        async with self.db.session() as session:
            moved = await self._cas(
                session,
                request_id,
                RequestStatus.PENDING,
                RequestStatus.EXPIRED,
                ApprovalRequest.expires_at <= now,
                audit=Audited("system"),
                decided_at=now,
                decided_by="system",
            )
        if moved:
            log.info("request %s expired", request_id)
            await self.notify.refresh(request_id)
        return moved

    # -- listings ------------------------------------------------------------------------------

    async def requests(
        self, status: str, *, page: int = 1, per_page: int = 10
    ) -> tuple[list[tuple[ApprovalRequest, list[str]]], int, int, int]:
        """Requests in ``status``, newest first (see ``listings.requests``)."""
        return await listings.requests(self.db, status, page=page, per_page=per_page)

    # -- scheduling ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Reconcile what a previous process left executing, then run the periodic jobs."""
        if self._task is not None:
            return
        await self.recover()
        self._task = asyncio.create_task(self._loop(), name="approvals")

    async def stop(self, grace_seconds: float = 20.0) -> None:
        """Stop the periodic jobs. A round under way may finish (within ``grace_seconds``): cut
        short, an execution would be left to recovery instead of ending normally."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait({task}, timeout=grace_seconds)  # a deadline of the host's, in real time
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        finally:
            self._stopping.clear()

    async def _loop(self) -> None:
        next_expiry = self.clock.monotonic()
        while not self._stopping.is_set():
            jobs: list[Callable[[], Awaitable[Any]]] = [self.run_approved]
            if self.db.skip_locked:  # orphans of replicas that never came back
                jobs.append(self.recover)
            if self.clock.monotonic() >= next_expiry:
                jobs.append(self.expire_due)
                next_expiry = self.clock.monotonic() + self.expiry_seconds
            for job in jobs:
                if self._stopping.is_set():
                    return
                try:
                    await job()
                except Exception:  # one bad round must not stop the next
                    log.exception("approvals job %s failed", job.__name__)
            await self._pause(self.sweep_seconds)

    async def _pause(self, seconds: float) -> None:
        """The clock's sleep between rounds, over as soon as stop() is called."""
        sleep = asyncio.ensure_future(self.clock.sleep(seconds))
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({sleep, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleep.cancel()
            stopping.cancel()
