"""Submitting: a validated mutating command becomes a pending request.

The request is persisted with the operation's preview and precondition (what execution will
check the provider still shows), its secret parameters sealed, and its card with Approve /
Reject buttons owed in the outbox, in the same transaction. The card gets a first try at once:
where Slack refuses it, the requester is told why in the answer, and the outbox keeps trying. A
command that may not be requested, or that would change nothing, is refused and audited instead.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from circuitbot import metrics
from circuitbot.actions.registry import (
    Caller,
    OpContext,
    Operation,
    OperationError,
    Params,
    Preview,
    Refused,
)
from circuitbot.approvals import messages as msg
from circuitbot.approvals import notify, policy
from circuitbot.approvals.core import EngineCore
from circuitbot.approvals.secrets import Masker, SecretKeyMissing, secret_fields
from circuitbot.approvals.status import RequestStatus
from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply
from circuitbot.store.tables import ApprovalRequest

log = logging.getLogger(__name__)

ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # base32: no 0/1/8/9 to confuse with O/I/B/g


def new_request_id() -> str:
    return "R" + "".join(secrets.choice(ID_ALPHABET) for _ in range(6))


def _stored_preview(preview: Preview, public: Any, masker: Masker) -> dict[str, Any]:
    """The preview as the request keeps and shows it, with no secret in it."""
    return masker(
        msg.jsonable(
            {
                "summary": preview.summary,
                "changes": [list(change) for change in preview.changes],
                "notes": preview.notes,
                "params": public,
            }
        )
    )


class Submitting(EngineCore):
    async def submit(self, ctx: OpContext, op: Operation, params: Params) -> Reply | None:
        """Turn a validated mutating command into a pending request; the reply is for the requester."""
        caller = ctx.caller
        masker = Masker(secret_fields(params).values())
        public = msg.jsonable(params.public_dump())
        target = params.target()
        checked = await self._check_request(ctx, op, params, masker)
        if isinstance(checked, str):
            async with self.db.session() as session:
                self._audit(
                    session,
                    actor=caller.user_id,
                    action="request.refused",
                    result="refused",
                    target=target,
                    operation=op.name,
                    params=public,
                    reason=checked,
                )
            return Reply.error(f"`{op.name}` refused: {checked}")
        preview, sealed = checked
        row, owed = await self._store(
            caller, op, target, sealed, preview, public=public, masker=masker, run_at=(ctx.run_at, ctx.run_tz)
        )
        metrics.approvals.labels(RequestStatus.PENDING).inc()
        log.info("request %s created for %s by %s", row.id, op.name, caller.user_id)
        return await self._post_card(row, owed)

    async def _post_card(self, row: ApprovalRequest, owed: list[int]) -> Reply:
        """The card's first try; the answer says where it went, and why not where it did not."""
        outcomes = await self.notify.send(owed)
        where, notes = [], []
        for channel, row_id in zip(notify.card_channels(row), owed, strict=True):
            outcome = outcomes.get(row_id)
            if outcome is not None and outcome.error is None:
                where.append(channel)
            elif outcome is not None and outcome.error != "no_poster":
                log.warning("request %s: its card in %s was refused (%s)", row.id, channel, outcome.error)
                notes.append(notify.undelivered_note(channel, outcome))
        created = msg.created(row, where)
        if not notes:
            return created
        return Reply(
            text="\n".join([created.text, *notes]), blocks=[*created.blocks, *map(bk.section, notes)]
        )

    async def _check_request(
        self, ctx: OpContext, op: Operation, params: Params, masker: Masker
    ) -> tuple[Preview, dict[str, Any]] | str:
        """The preview and the sealed parameters of a request that may be made, else the refusal."""
        refusal = policy.request_refusal(ctx.caller, op)
        if refusal is not None:
            return refusal
        try:
            preview = await self._preview(ctx, op, params, masker)
        except OperationError as exc:
            return masker.text(str(exc))
        if not preview.changes:
            return f"nothing to change: {masker.text(preview.summary)}"
        try:
            return preview, self.box.seal(params)
        except SecretKeyMissing as exc:
            return str(exc)

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

    async def _store(
        self,
        caller: Caller,
        op: Operation,
        target: str | None,
        sealed: dict[str, Any],
        preview: Preview,
        *,
        public: Any,
        masker: Masker,
        run_at: tuple[datetime | None, str | None] = (None, None),
    ) -> tuple[ApprovalRequest, list[int]]:
        """Persist the pending request with its audit row and its card's outbox rows, under a
        fresh id; the request and those rows' ids."""
        now = self.clock.now()
        preview_data = _stored_preview(preview, public, masker)
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
                approvals_channel=self.settings.approvals_channel or caller.channel_id,
                preview=preview_data,
                precondition=msg.jsonable(preview.precondition),
                status=RequestStatus.PENDING,
                approvals_required=policy.approvals_required(self.settings, op),
                created_at=now,
                expires_at=policy.expires_at(self.settings, now),
                run_at=run_at[0],
                run_tz=run_at[1],
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
                    owed = await self.notify.enqueue_card(session, row)
                return row, owed
            except IntegrityError:
                continue
        raise OperationError("could not store the request; try again")
