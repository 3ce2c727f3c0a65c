"""Two ``circuitbot serve`` processes on one PostgreSQL database share 500 watches while the
sandbox moves circuits from state to state; one of them is killed with SIGKILL in the middle of
a sweep. Every transition the simulator made is posted exactly once, in its watch's thread.

Sizes: 500 watches (one per circuit and channel), 4 waves of 60 changes, the kill in wave 2.
The children's watch and outbox leases are shortened to 6 s (``support.serve_child --lease``)
so the survivor takes over the dead one's work within seconds.
"""

from __future__ import annotations

import random
from collections import defaultdict

import pytest
from process_support import move_on, posted_per_channel, seed_watches, transition_posts

from circuitbot.sandbox.server import SimulatorServer
from circuitbot.sandbox.world import World
from circuitbot.store.db import Database
from circuitbot.testing.fake_slack import FakeSlack
from support.processes import BotProcess, azure_simulator, bot_env, wait_until

WATCHES = 500
WAVES = 4
CHANGES_PER_WAVE = 60
KILLED_IN_WAVE = 1
FAST = {
    "watch__tick_seconds": "0.5",
    "watch__fast_interval_seconds": "1",
    "watch__slow_interval_seconds": "1",
}


async def test_every_transition_is_posted_once_across_replicas_and_a_kill_9(
    migrated: str, tmp_path, fake_slack: FakeSlack, slack_api_url: str
) -> None:
    if migrated.startswith("sqlite"):
        pytest.skip("replicas share PostgreSQL")
    world = World.demo(extra_circuits=WATCHES - len(World.demo().circuits), seed=7)
    simulator = azure_simulator(world)
    keys = [c.service_key for c in world.circuits]
    assert len(keys) == WATCHES
    db = Database(migrated)
    made: dict[str, list[tuple[str, str]]] = defaultdict(list)
    rng = random.Random(2)
    async with SimulatorServer(simulator) as server:
        channels = await seed_watches(db, fake_slack, simulator, keys)
        env = bot_env(
            data_dir=tmp_path,
            database_url=migrated,
            slack_api_url=slack_api_url,
            azure_url=server.url,
            world=world,
            **FAST,
        )
        bots = [await BotProcess.start(f"replica-{n}", env, hooks=["--lease", "6"]) for n in range(2)]
        try:
            for wave in range(WAVES):
                posted = len(transition_posts(fake_slack))
                for key in rng.sample(keys, CHANGES_PER_WAVE):
                    made[key].append(move_on(simulator, key))
                if wave == KILLED_IN_WAVE:  # mid-sweep: some of this wave's posts are out, not all
                    await wait_until(
                        lambda p=posted: len(transition_posts(fake_slack)) > p + 5, "the sweep under way"
                    )
                    bots[0].kill()
                    await bots[0].wait()
                expected = sum(len(v) for v in made.values())
                await wait_until(
                    lambda e=expected: len(transition_posts(fake_slack)) >= e,
                    f"wave {wave}'s transitions",
                    timeout=90,
                )
        finally:
            for bot in bots:
                await bot.stop()
            await db.dispose()

    seen = posted_per_channel(fake_slack)
    assert seen == {channels[key]: changes for key, changes in made.items()}, "each transition once"
    assert bots[1].tracebacks() == []
