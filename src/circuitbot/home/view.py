"""One person's Home: what waits for their decision, what they asked for, what they follow.

Approvers see the pending requests with the same Approve and Reject buttons as the approval
card (the same action ids and values, so a click here is handled as one there). Everyone sees
their own recent requests and the circuits they watch, with the states last read. A Home view
holds at most 100 blocks; each list is cut short with a line saying how many were left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from circuitbot.actions.registry import Role
from circuitbot.approvals import listings
from circuitbot.approvals import messages as approval_messages
from circuitbot.chat import blocks as bk
from circuitbot.watch.model import WatchInfo

if TYPE_CHECKING:
    from circuitbot.runtime import Runtime

MAX_HOME_BLOCKS = 100  # Slack's limit for a Home tab view
PENDING_SHOWN = 10  # pending requests with their buttons (each takes three to six blocks)
OWN_REQUESTS_SHOWN = 10
WATCHES_SHOWN = 20

Block = dict[str, Any]


async def home_blocks(runtime: Runtime, user_id: str) -> list[Block]:
    """The Home of ``user_id`` as it stands now."""
    roles = await runtime.roles.roles(user_id)
    blocks: list[Block] = [
        bk.header("circuitbot"),
        bk.context(f"<@{user_id}> · as of {approval_messages.when(runtime.clock.now())} · `/circuit help`"),
    ]
    if Role.APPROVER in roles:
        blocks += await _pending(runtime)
    blocks += await _own_requests(runtime, user_id)
    blocks += await _watches(runtime, user_id)
    return bk.fit(blocks, MAX_HOME_BLOCKS)


def home_view(blocks: list[Block]) -> dict[str, Any]:
    """A Home tab view of these blocks, for ``views.publish``."""
    return {"type": "home", "blocks": blocks}


async def _pending(runtime: Runtime) -> list[Block]:
    rows, _, _, total = await listings.requests(runtime.db, "pending", per_page=PENDING_SHOWN)
    blocks: list[Block] = [bk.divider(), bk.section(f"*Waiting for a decision* ({total})")]
    if not rows:
        blocks.append(bk.context("Nothing waits for an approver."))
    for row, approvers in rows:
        blocks += approval_messages.request_blocks(row, approvers)
    if total > len(rows):
        blocks.append(bk.context(f"… and {total - len(rows)} more: `/circuit approvals`"))
    return blocks


async def _own_requests(runtime: Runtime, user_id: str) -> list[Block]:
    rows, _, _, total = await listings.requests(
        runtime.db, "all", per_page=OWN_REQUESTS_SHOWN, requester=user_id
    )
    blocks: list[Block] = [bk.divider(), bk.section(f"*Your recent requests* ({total})")]
    if not rows:
        blocks.append(bk.context("None yet: a change you ask for (such as `/circuit az move`) shows here."))
    for row, approvers in rows:
        what = f"`{row.id}` · *{bk.escape(row.operation)}* · {bk.escape(approval_messages.summary(row))}"
        blocks.append(bk.section(f"{what}\n{approval_messages.status_line(row, approvers)}"))
    return blocks


async def _watches(runtime: Runtime, user_id: str) -> list[Block]:
    engine = runtime.watches
    infos: list[WatchInfo] = await engine.list_watches(created_by=user_id) if engine is not None else []
    blocks: list[Block] = [bk.divider(), bk.section(f"*Circuits you watch* ({len(infos)})")]
    if not infos:
        blocks.append(
            bk.context("None: `/circuit watch <provider> <id>` or `/circuit watch key <service-key>`.")
        )
        return blocks
    lines = [_watch_line(info) for info in infos[:WATCHES_SHOWN]]
    blocks += bk.sections(lines)
    if len(infos) > WATCHES_SHOWN:
        blocks.append(bk.context(f"… and {len(infos) - WATCHES_SHOWN} more: `/circuit watches`"))
    return blocks


def _watch_line(info: WatchInfo) -> str:
    state = bk.escape(bk.clip(info.state_text(), 200))
    return f"{info.provider} *{bk.escape(info.label)}* in <#{info.channel}>: {state}"
