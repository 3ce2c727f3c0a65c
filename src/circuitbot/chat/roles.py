"""Who may do what: Slack user IDs and user-group IDs from settings, mapped to roles.

User groups (S…) are expanded through a lookup the front end supplies (Slack:
``usergroups.users.list``), cached for a few minutes so a click costs no Slack call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from circuitbot.actions.registry import Role
from circuitbot.clock import Clock, SystemClock
from circuitbot.settings import Settings

log = logging.getLogger(__name__)

GroupMembers = Callable[[str], Awaitable[set[str]]]


class RoleResolver:
    def __init__(
        self,
        settings: Settings,
        group_members: GroupMembers | None = None,
        *,
        clock: Clock | None = None,
        cache_seconds: float = 300.0,
    ) -> None:
        self.settings = settings
        self.group_members = group_members
        self.clock = clock or SystemClock()
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, set[str]]] = {}
        self._warming: dict[str, asyncio.Task[set[str]]] = {}  # background look-ups under way

    async def roles(self, user_id: str, *, cached_only: bool = False) -> frozenset[Role]:
        """The user's roles. ``cached_only`` answers from what is known now, never waiting on
        Slack: for work that must finish before an ack (a cold group counts as not a member for
        this answer, and is looked up in the background for the next one)."""
        roles = {Role.READER}
        s = self.settings
        if await self._member(user_id, s.admins, cached_only):
            roles |= {Role.ADMIN, Role.APPROVER, Role.REQUESTER}
        if await self._member(user_id, s.approvers, cached_only):
            roles.add(Role.APPROVER)
        if not s.requesters or await self._member(user_id, s.requesters, cached_only):
            roles.add(Role.REQUESTER)
        return frozenset(roles)

    async def _member(self, user_id: str, ids: list[str], cached_only: bool) -> bool:
        if user_id in ids:
            return True
        for group in (i for i in ids if i.startswith("S")):
            if user_id in await self._group(group, cached_only):
                return True
        return False

    async def _group(self, group_id: str, cached_only: bool = False) -> set[str]:
        if self.group_members is None:
            return set()
        now = self.clock.monotonic()
        cached = self._cache.get(group_id)
        if cached and now - cached[0] < self.cache_seconds:
            return cached[1]
        if cached_only:
            if group_id not in self._warming:
                task = asyncio.get_running_loop().create_task(self._group(group_id))
                self._warming[group_id] = task
                task.add_done_callback(lambda _t: self._warming.pop(group_id, None))
            return cached[1] if cached else set()
        try:
            members = await self.group_members(group_id)
        except Exception as exc:  # a Slack hiccup must not grant or deny forever
            log.warning("could not read user group %s: %s", group_id, exc)
            return cached[1] if cached else set()
        self._cache[group_id] = (now, members)
        return members
