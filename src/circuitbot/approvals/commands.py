"""``/circuit approvals``, ``/circuit audit [id|target]``, ``/circuit cancel <id>`` and the
handlers of the approval message's buttons and reject modal.

All of them hand over to the engine on the runtime (``runtime.approvals``), which re-checks who
may do what on every call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from circuitbot.actions.registry import (
    Interaction,
    OpContext,
    Operation,
    OperationError,
    Params,
    Registry,
    Role,
)
from circuitbot.approvals import listings, policy
from circuitbot.approvals import messages as msg
from circuitbot.approvals.status import RequestStatus
from circuitbot.chat import blocks as bk
from circuitbot.chat.modals import metadata
from circuitbot.chat.reply import Reply

AUDIT_PER_PAGE = 25
REQUESTS_PER_PAGE = 10


def _engine(ctx: OpContext):
    engine = ctx.runtime.approvals
    if engine is None:
        raise OperationError("approvals are not running in this process")
    return engine


async def _tell(ctx: OpContext, reply: Reply | None) -> None:
    """Answer a click or a form, whose handlers return nothing to the router."""
    if reply is not None and ctx.surface is not None:
        await ctx.surface.reply(reply)


if TYPE_CHECKING:
    Listed = str
else:  # a Literal, so the choices and the error for a wrong one name every status, and "all"
    Listed = Literal[(*(status.value for status in RequestStatus), "all")]


class ApprovalsParams(Params):
    positional = ("status",)
    status: Listed = Field(RequestStatus.PENDING, description="which requests (pending by default, or all)")


async def approvals_execute(ctx: OpContext, params: ApprovalsParams) -> Reply:
    rows, page, pages, total = await listings.requests(
        ctx.runtime.db, params.status, page=params.page, per_page=REQUESTS_PER_PAGE
    )
    return msg.request_list(
        rows, status=params.status, page=page, pages=pages, total=total, command_text=ctx.command_text
    )


class AuditParams(Params):
    positional = ("subject",)
    subject: str | None = Field(None, description="a request id (R…) or a target, e.g. azure:1f3c…")


async def audit_execute(ctx: OpContext, params: AuditParams) -> Reply:
    events, page, pages, total = await listings.audit(
        ctx.runtime.db, params.subject, page=params.page, per_page=AUDIT_PER_PAGE
    )
    return msg.audit_list(
        events, subject=params.subject, page=page, pages=pages, total=total, command_text=ctx.command_text
    )


class CancelParams(Params):
    positional = ("request_id",)
    request_id: str = Field(description="the request id, e.g. R7KQ2XA")


async def cancel_execute(ctx: OpContext, params: CancelParams) -> Reply:
    if not policy.is_request_id(params.request_id):
        raise OperationError(f"{bk.code(params.request_id)} is not a request id (they look like R7KQ2XA)")
    return await _engine(ctx).cancel(ctx, params.request_id.upper())


async def on_button(ctx: OpContext, interaction: Interaction) -> None:
    """Approve / Reject / Cancel on an approval message (the value is the request id only)."""
    engine = _engine(ctx)
    request_id = interaction.value.strip().upper()
    handlers: dict[str, Callable[[OpContext, str], Awaitable[Reply | None]]] = {
        msg.APPROVE: engine.approve,
        msg.REJECT: engine.ask_reject,
        msg.CANCEL: engine.cancel,
    }
    handler = handlers.get(interaction.action_id)
    if handler is None or not policy.is_request_id(request_id):
        raise OperationError("that button is out of date")
    await _tell(ctx, await handler(ctx, request_id))
    if interaction.action_id == msg.APPROVE:
        # Only an approved request is claimed: the click that completed the approvals runs it, once.
        await engine.execute(request_id)


async def on_reject_submitted(
    ctx: OpContext, view: dict[str, Any], ack_errors: Callable[[dict[str, str] | None], Awaitable[None]]
) -> None:
    await ack_errors(None)
    meta = metadata(view)
    request_id = str(meta.get("request_id") or "")
    if not policy.is_request_id(request_id):
        await _tell(ctx, Reply.error("that form is out of date"))
        return
    await _tell(ctx, await _engine(ctx).reject(ctx, request_id, msg.submitted_reason(view)))


def register(registry: Registry) -> None:
    registry.add(
        Operation(
            provider=None,
            verb="approvals",
            summary="requests waiting for approval (or in another state)",
            params=ApprovalsParams,
            execute=approvals_execute,
            examples=("/circuit approvals", "/circuit approvals failed", "/circuit approvals all"),
        )
    )
    registry.add(
        Operation(
            provider=None,
            verb="audit",
            summary="who did what: a request's history, a target's, or everything",
            params=AuditParams,
            execute=audit_execute,
            examples=("/circuit audit", "/circuit audit R7KQ2XA", "/circuit audit azure:1f3c"),
        )
    )
    registry.add(
        Operation(
            provider=None,
            verb="cancel",
            summary="withdraw your own pending request",
            params=CancelParams,
            execute=cancel_execute,
            role=Role.REQUESTER,
            examples=("/circuit cancel R7KQ2XA",),
        )
    )
    registry.on_action(msg.ACTION_PREFIX, on_button)
    registry.on_view(msg.REJECT_VIEW, on_reject_submitted)
