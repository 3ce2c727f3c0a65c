"""Roles from settings, with Slack user groups looked up once for everyone who needs them."""

from __future__ import annotations

import asyncio

from circuitbot.actions.registry import Role
from circuitbot.chat.roles import RoleResolver
from circuitbot.clock import FakeClock
from circuitbot.settings import Settings


class SlowGroups:
    """A user-group look-up that answers only when the test lets it."""

    def __init__(self, members: set[str]) -> None:
        self.members = members
        self.calls: list[str] = []
        self.answer = asyncio.Event()

    async def __call__(self, group_id: str) -> set[str]:
        self.calls.append(group_id)
        await self.answer.wait()
        return self.members


async def test_callers_who_need_a_group_at_once_share_one_look_up(tmp_path) -> None:
    groups = SlowGroups({"UADMIN"})
    clock = FakeClock()
    resolver = RoleResolver(Settings(data_dir=tmp_path, admins=["S0ADMINS"]), groups, clock=clock)

    waiting = [asyncio.create_task(resolver.roles(user)) for user in ("UADMIN", "UOTHER", "UADMIN")]
    await asyncio.sleep(0)
    groups.answer.set()
    admin, other, again = await asyncio.gather(*waiting)

    assert groups.calls == ["S0ADMINS"]
    assert Role.ADMIN in admin and Role.ADMIN in again and Role.ADMIN not in other


async def test_a_cached_only_answer_never_waits_and_warms_the_cache(tmp_path) -> None:
    groups = SlowGroups({"UADMIN"})
    clock = FakeClock()
    resolver = RoleResolver(Settings(data_dir=tmp_path, admins=["S0ADMINS"]), groups, clock=clock)

    before = await resolver.roles("UADMIN", cached_only=True)  # the group is cold: not a member yet
    groups.answer.set()
    after = await resolver.roles("UADMIN")

    assert Role.ADMIN not in before and Role.ADMIN in after
    assert groups.calls == ["S0ADMINS"], "the warming look-up served the next caller"
