"""Who may do what: Slack user IDs and user-group IDs from settings, mapped to roles.

User groups (S…) are expanded through a lookup the front end supplies (Slack:
``usergroups.users.list``), cached for a few minutes so a click costs no Slack call.
"""

from __future__ import annotations

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

    async def roles(self, user_id: str) -> frozenset[Role]:
        roles = {Role.READER}
        s = self.settings
        if await self._member(user_id, s.admins):
            roles |= {Role.ADMIN, Role.APPROVER, Role.REQUESTER}
        if await self._member(user_id, s.approvers):
            roles.add(Role.APPROVER)
        if not s.requesters or await self._member(user_id, s.requesters):
            roles.add(Role.REQUESTER)
        return frozenset(roles)

    async def _member(self, user_id: str, ids: list[str]) -> bool:
        if user_id in ids:
            return True
        for group in (i for i in ids if i.startswith("S")):
            if user_id in await self._group(group):
                return True
        return False

    async def _group(self, group_id: str) -> set[str]:
        if self.group_members is None:
            return set()
        now = self.clock.monotonic()
        cached = self._cache.get(group_id)
        if cached and now - cached[0] < self.cache_seconds:
            return cached[1]
        try:
            members = await self.group_members(group_id)
        except Exception as exc:  # a Slack hiccup must not grant or deny forever
            log.warning("could not read user group %s: %s", group_id, exc)
            return cached[1] if cached else set()
        self._cache[group_id] = (now, members)
        return members
