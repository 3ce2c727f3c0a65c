"""Deciding: approve, reject and cancel clicks, and expiry, on a pending request.

Each decision is re-checked from the start on every call (who may decide, whether the request is
still pending and unexpired), then made by one compare-and-set from pending, so concurrent clicks,
double clicks and the expiry sweep agree on one winner. A vote is recorded once per person (a
unique key); the approval that completes the votes is the one that moves the request. The edit
of the request's card that shows a decision is written to the outbox with it.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from circuitbot.actions.registry import OpContext
from circuitbot.approvals import messages as msg
from circuitbot.approvals import policy
from circuitbot.approvals.core import Audited
from circuitbot.approvals.scheduled import Scheduled
from circuitbot.approvals.status import RequestStatus
from circuitbot.approvals.windows import ScheduleError, when
from circuitbot.chat.reply import Reply
from circuitbot.store.tables import ApprovalDecision, ApprovalRequest

log = logging.getLogger(__name__)


class Deciding(Scheduled):
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
        expired, _ = await self.load(row.id)
        assert expired is not None
        return expired

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
        try:  # at=, a change window, a freeze: when it may run, once approved now
            scheduled = self.slot(row.provider, row.run_at)
        except ScheduleError as exc:
            return Reply.error(f"`{row.id}` cannot be scheduled: {exc}")
        async with self.db.session() as session:
            won = await self._cas(
                session,
                row,
                RequestStatus.PENDING,
                RequestStatus.APPROVED,
                votes >= ApprovalRequest.approvals_required,
                ApprovalRequest.expires_at > now,
                audit=Audited(ctx.caller.user_id, scheduled_for=scheduled.isoformat() if scheduled else None),
                decided_by=ctx.caller.user_id,
                decided_at=now,
                scheduled_for=scheduled,
            )
            owed = await self.notify.enqueue_refresh(session, row.id) if won else []
        row, approvers = await self.load(row.id)
        assert row is not None
        if won:
            log.info("request %s approved by %s", row.id, ctx.caller.user_id)
            await self.notify.send(owed)
            if scheduled is not None:
                why = self.calendar.why_waiting(row.provider, now) if row.run_at is None else ""
                return Reply.plain(
                    f":calendar: You approved `{row.id}`; it is scheduled for {when(scheduled, row.run_tz)}"
                    f"{' (' + why + ')' if why else ''}. It can be canceled until it starts."
                )
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
        channel, thread_ts = ctx.caller.channel_id, ctx.caller.thread_ts
        view_id = None
        if policy.approver_refusal(ctx.caller) is None:
            # Slack's trigger_id lives 3 s: the form opens before any database work. The submission
            # is checked again from the start, so what is found below only fills the form in.
            view_id = await surface.open_modal(
                msg.reject_modal(request_id, channel=channel, thread_ts=thread_ts)
            )
        row, refusal = await self._check_decidable(ctx, request_id, "vote.reject", rejecting=True)
        if view_id is not None:
            view = (
                msg.reject_refused_modal(request_id, refusal)
                if refusal is not None
                else msg.reject_modal(request_id, row, channel=channel, thread_ts=thread_ts)
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
            owed = await self.notify.enqueue_refresh(session, row.id) if won else []
        row, _ = await self.load(row.id)
        assert row is not None
        if not won:
            return self._already(row)
        log.info("request %s rejected by %s", row.id, ctx.caller.user_id)
        await self.notify.send(owed)
        return Reply.plain(f":no_entry: You rejected `{row.id}`.")

    async def cancel(self, ctx: OpContext, request_id: str) -> Reply:
        """The requester withdraws a pending request, or an approved one that has not started
        (a scheduled change); admins may too."""
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
            if row.status == RequestStatus.APPROVED:  # a scheduled change, until an executor claims it
                won = await self._cas(
                    session,
                    row,
                    RequestStatus.APPROVED,
                    RequestStatus.CANCELED,
                    audit=Audited(user_id, approved_by=row.decided_by),
                    decided_by=user_id,
                    decided_at=now,
                )
            else:
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
            owed = await self.notify.enqueue_refresh(session, row.id) if won else []
        if not won:
            row, _ = await self.load(row.id)
            assert row is not None
            return self._already(row)
        await self.notify.send(owed)
        return Reply.plain(f"Request `{row.id}` canceled.")

    # -- expiry: the clock decides what nobody did ---------------------------------------------

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
            owed = await self.notify.enqueue_refresh(session, request_id) if moved else []
        if moved:
            log.info("request %s expired", request_id)
            await self.notify.send(owed)
        return moved
