"""Block Kit for approvals: the request message in each of its states, the reject modal, the
pending list and the audit history.

The request message is rendered from the stored row every time, so an update after any step
shows the whole current state (who voted, who decided, the outcome) and never a stale one.
Buttons carry only the request id; the server looks everything else up and re-checks it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from circuitbot.approvals import windows
from circuitbot.approvals.status import RequestStatus
from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply
from circuitbot.store.tables import ApprovalRequest, AuditEvent

APPROVE = "approval:approve"
REJECT = "approval:reject"
CANCEL = "approval:cancel"
ACTION_PREFIX = "approval"
REJECT_VIEW = "approval_reject"
REASON_BLOCK = "reason"
REASON_ACTION = "value"


def when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "—"


def user(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id and user_id != "system" else "the bot"


def jsonable(value: Any) -> Any:
    """Preview and parameter values as JSON (anything unusual as its text)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    return str(value)


def _show(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(", ", ": "))
    return str(value)


def summary(row: ApprovalRequest) -> str:
    """What the request does, in words: its preview's summary, else the operation's name."""
    return (row.preview or {}).get("summary") or row.operation


def status_line(row: ApprovalRequest, approvers: Sequence[str] = ()) -> str:
    by = user(row.decided_by)
    status = row.status
    if status == RequestStatus.PENDING:
        got = f" ({len(approvers)} of {row.approvals_required} so far)" if approvers else ""
        needed = row.approvals_required
        runs = (
            f"\n:calendar: runs at {windows.when(row.run_at, row.run_tz)} once approved" if row.run_at else ""
        )
        return (
            f":hourglass_flowing_sand: Waiting for {needed} approval{'s' if needed != 1 else ''}{got}"
            f" · expires {when(row.expires_at)}{runs}"
        )
    if status == RequestStatus.APPROVED and row.scheduled_for is not None:
        return f":calendar: Approved by {by} · scheduled for {windows.when(row.scheduled_for, row.run_tz)}"
    if status == RequestStatus.APPROVED:
        return f":white_check_mark: Approved by {by} · starting"
    if status == RequestStatus.EXECUTING:
        return f":gear: Approved by {by} · running now…"
    if status == RequestStatus.SUCCEEDED:
        return f":large_green_circle: Succeeded · approved by {by} · {when(row.finished_at)}"
    if status == RequestStatus.FAILED:
        return f":red_circle: Failed · approved by {by}\n> {bk.escape(row.error or 'no error text')}"
    if status == RequestStatus.NEEDS_ATTENTION:
        return f":warning: Needs attention · approved by {by}\n> {bk.escape(row.error or '')}"
    if status == RequestStatus.REJECTED:
        reason = f": {bk.escape(row.reason)}" if row.reason else ""
        return f":no_entry: Rejected by {by}{reason}"
    if status == RequestStatus.EXPIRED:
        return f":clock3: Expired unapproved at {when(row.decided_at or row.expires_at)}"
    if status == RequestStatus.CANCELED:
        return f":heavy_multiplication_x: Canceled by {by}"
    return status


def _buttons(row: ApprovalRequest) -> dict[str, Any]:
    confirm = bk.confirm_dialog(
        f"Approve {row.id}?", f"{row.operation} runs as soon as the approvals are in.", yes="Approve"
    )
    return bk.actions(
        bk.button("Approve", APPROVE, row.id, style="primary", confirm=confirm),
        bk.button("Reject", REJECT, row.id, style="danger"),
        bk.button("Cancel request", CANCEL, row.id),
        block_id=f"approval_{row.id}",
    )


def request_blocks(row: ApprovalRequest, approvers: Sequence[str] = ()) -> list[dict[str, Any]]:
    preview = row.preview or {}
    blocks: list[dict[str, Any]] = [
        bk.section(
            f":lock: *{bk.escape(row.operation)}* · {bk.escape(summary(row))}\n"
            f"requested by {user(row.requester)} · `{row.id}`"
        ),
    ]
    changes = preview.get("changes") or []
    if changes:
        lines = bk.table(("change", "now", "after"), [[_show(c) for c in change] for change in changes])
        blocks.extend(bk.code_sections(lines))
    params = preview.get("params") or {}
    if params:
        shown = " · ".join(f"{k.replace('_', '-')}={_show(v)}" for k, v in params.items() if v is not None)
        if shown:
            blocks.append(bk.context(bk.escape_code(shown)))  # typed backticks open no code span
    for note in preview.get("notes") or []:
        blocks.append(bk.context(f":information_source: {bk.escape(str(note))}"))
    blocks.append(bk.section(status_line(row, approvers)))
    if row.status == RequestStatus.PENDING:
        blocks.append(_buttons(row))
    elif row.status == RequestStatus.APPROVED and row.scheduled_for is not None:  # until it starts
        blocks.append(bk.actions(bk.button("Cancel request", CANCEL, row.id), block_id=f"approval_{row.id}"))
    return blocks


def request_message(row: ApprovalRequest, approvers: Sequence[str] = ()) -> Reply:
    """The approval message (approvals channel and the requester's copy) in its current state."""
    text = f"{row.id} {bk.escape(row.operation)}: {bk.escape(summary(row))} · {row.status.replace('_', ' ')}"
    return Reply(text=text, blocks=request_blocks(row, approvers), ephemeral=False)


def thread_note(text: str, detail: Reply | None = None) -> Reply:
    """A note in the request's thread, optionally followed by the operation's own rendering."""
    blocks = [bk.section(text)]
    if detail is not None:
        blocks.extend(detail.blocks or [bk.section(bk.clip(detail.text, bk.MAX_SECTION_TEXT))])
    return Reply(text=text, blocks=blocks, ephemeral=False)


def recovered_note(row: ApprovalRequest, visible: bool, why: str) -> Reply:
    if visible:
        return thread_note(
            f":large_green_circle: `{row.id}` was interrupted by a restart; the change is visible."
        )
    return thread_note(
        f":warning: `{row.id}` was interrupted while executing and was *not* run again: {bk.escape(why)} "
        f"Check {bk.escape(row.target or 'the resource')} at the provider, then request it again if needed."
    )


def created(row: ApprovalRequest, where: list[str]) -> Reply:
    needed = row.approvals_required
    posted = f" in {', '.join(f'<#{c}>' for c in where)}" if where else ""
    runs = f" Once approved it runs at {windows.when(row.run_at, row.run_tz)}." if row.run_at else ""
    text = (
        f":inbox_tray: Request `{row.id}` created: waiting for {needed} approval"
        f"{'s' if needed != 1 else ''}{posted}. Nothing changes until then.{runs} "
        f"Cancel with `/circuit cancel {row.id}`."
    )
    return Reply(text=text, blocks=[bk.section(text), bk.context(bk.escape(summary(row)))])


def reject_modal(
    request_id: str, row: ApprovalRequest | None = None, *, channel: str | None, thread_ts: str | None
) -> dict[str, Any]:
    """The reason form: first by request id alone (opened at once), then with the request shown."""
    meta = {"request_id": request_id, "channel": channel, "thread_ts": thread_ts}
    about = (
        f"*{bk.escape(row.operation)}* · {bk.escape(summary(row))}\nrequested by {user(row.requester)}"
        if row is not None
        else f"Request `{request_id}`"
    )
    return {
        "type": "modal",
        "callback_id": REJECT_VIEW,
        "private_metadata": json.dumps(meta, separators=(",", ":")),
        "title": bk.plain(f"Reject {request_id}", 24),
        "submit": bk.plain("Reject", 24),
        "close": bk.plain("Back", 24),
        "blocks": [
            bk.section(about),
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "optional": True,
                "label": bk.plain("Reason", 2000),
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_ACTION,
                    "multiline": True,
                    "max_length": 2000,
                },
                "hint": bk.plain("shown to the requester in the request's message", 2000),
            },
        ],
    }


def reject_refused_modal(request_id: str, refusal: Reply) -> dict[str, Any]:
    """The reason form turned into the reason it cannot be sent (no submit button)."""
    return {
        "type": "modal",
        "callback_id": REJECT_VIEW,
        "title": bk.plain(f"Reject {request_id}", 24),
        "close": bk.plain("Close", 24),
        "blocks": [bk.section(refusal.text)],
    }


def submitted_reason(view: dict[str, Any]) -> str | None:
    values = ((view.get("state") or {}).get("values") or {}).get(REASON_BLOCK) or {}
    reason = (values.get(REASON_ACTION) or {}).get("value")
    if not isinstance(reason, str):
        return None
    return reason.strip() or None


def request_list(
    rows: Sequence[tuple[ApprovalRequest, Sequence[str]]],
    *,
    status: str,
    page: int,
    pages: int,
    total: int,
    command_text: str,
) -> Reply:
    if not rows:
        return Reply.plain(f"No {status.replace('_', ' ')} requests." if status != "all" else "No requests.")
    title = (
        f"{total} {status.replace('_', ' ')} request{'s' if total != 1 else ''}"
        if status != "all"
        else (f"{total} request{'s' if total != 1 else ''}")
    )
    blocks: list[dict[str, Any]] = [bk.header(title)]
    lines = []
    for row, approvers in rows:
        line = (
            f"`{row.id}` *{bk.escape(row.operation)}* · {bk.escape(summary(row))}\n"
            f"by {user(row.requester)} · {when(row.created_at)} · {status_line(row, approvers)}"
        )
        lines.append(line)
        blocks.append(bk.section(line))
        if row.status == RequestStatus.PENDING:
            blocks.append(_buttons(row))
    blocks.extend(bk.pager(command_text, page, pages))
    return Reply(text=f"{title}\n" + "\n".join(lines), blocks=blocks)


def _note(event: AuditEvent) -> str:
    detail = event.detail or {}
    for key in ("error", "reason", "summary", "operation"):
        if detail.get(key):
            return bk.clip(str(detail[key]).replace("\n", " "), 60)
    return ""


def audit_list(
    events: Sequence[AuditEvent], *, subject: str | None, page: int, pages: int, total: int, command_text: str
) -> Reply:
    about = f" for {bk.escape(subject)}" if subject else ""
    if not events:
        return Reply.plain(f"No audit history{about}.")
    rows = [
        [when(e.at), e.actor, e.action, e.result, e.request_id or "—", e.target or "—", _note(e)]
        for e in events
    ]
    lines = bk.table(("when", "who", "what", "result", "request", "target", "note"), rows)
    title = f"Audit{about}: {total} event{'s' if total != 1 else ''}, newest first"
    blocks: list[dict[str, Any]] = [bk.section(f"*{title}*"), *bk.code_sections(lines)]
    blocks.extend(bk.pager(command_text, page, pages))
    return Reply(text=title + "\n" + bk.escape("\n".join(lines)), blocks=blocks)
