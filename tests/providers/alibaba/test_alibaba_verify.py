"""After a crash the approval engine asks each change's ``verify`` whether it landed at Alibaba:
read afresh, never sent again."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from alibaba_support import CONFIRMED, INITIAL, NO_VBRS, TERMINATED

from circuitbot.actions.registry import Caller, OpContext, Verified
from circuitbot.bootstrap import build_runtime
from circuitbot.clock import FakeClock
from circuitbot.providers.alibaba.operations.attributes import CREATE, MODIFY
from circuitbot.providers.alibaba.operations.lifecycle import OPERATIONS
from circuitbot.providers.alibaba.operations.params import CreateParams, ModifyParams, PcParams
from circuitbot.runtime import Runtime

BY_VERB = {op.verb: op for op in OPERATIONS}


@pytest.fixture
async def ctx(settings, clock: FakeClock) -> AsyncIterator[OpContext]:
    runtime: Runtime = await build_runtime(settings, sandbox=True, clock=clock)
    try:
        yield OpContext(runtime, Caller("UREQ"))
    finally:
        await runtime.close()


async def verify(ctx: OpContext, op, params) -> Verified:
    return await ctx.runtime.clock.run_until(op.verify(ctx, params, {}))


async def test_lifecycle_changes_verify_from_the_status_read_afresh(ctx: OpContext) -> None:
    sim = ctx.runtime.sandbox["alibaba"]
    assert await verify(ctx, BY_VERB["enable"], PcParams(pc_id=CONFIRMED)) is Verified.NOT_LANDED
    assert await verify(ctx, BY_VERB["cancel"], PcParams(pc_id=INITIAL)) is Verified.NOT_LANDED
    sim.connections[NO_VBRS].move("Terminating", ctx.runtime.clock.now())
    assert await verify(ctx, BY_VERB["terminate"], PcParams(pc_id=NO_VBRS)) is Verified.IN_FLIGHT
    assert await verify(ctx, BY_VERB["delete"], PcParams(pc_id=TERMINATED)) is Verified.NOT_LANDED
    del sim.connections[TERMINATED]
    assert await verify(ctx, BY_VERB["delete"], PcParams(pc_id=TERMINATED)) is Verified.LANDED
    sim.connections[CONFIRMED].move("Enabled", ctx.runtime.clock.now())
    assert await verify(ctx, BY_VERB["enable"], PcParams(pc_id=CONFIRMED)) is Verified.LANDED


async def test_create_and_modify_verify_by_what_they_asked_for(ctx: OpContext) -> None:
    asked = CreateParams(
        region="cn-beijing", access_point="ap-cn-beijing-ft-A", line_operator="CT", peer_location="XXX"
    )
    assert await verify(ctx, CREATE, asked) is Verified.LANDED  # the seeded Initial one matches
    other = CreateParams(
        region="cn-beijing", access_point="ap-cn-beijing-ft-A", line_operator="CT", peer_location="Elsewhere"
    )
    assert await verify(ctx, CREATE, other) is Verified.NOT_LANDED
    assert (
        await verify(ctx, MODIFY, ModifyParams(pc_id=CONFIRMED, name="shanghai-standby")) is Verified.LANDED
    )
    assert await verify(ctx, MODIFY, ModifyParams(pc_id=CONFIRMED, name="renamed")) is Verified.NOT_LANDED
