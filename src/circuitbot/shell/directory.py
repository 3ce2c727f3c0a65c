"""The shell's people and channels, with Slack-like ids so mentions and roles work."""

from __future__ import annotations

import re

from circuitbot.actions.registry import Role
from circuitbot.settings import Settings

DEFAULT_CHANNEL = "general"

# The people of the sandbox, so one person can play every part of the approval flow.
PEOPLE: tuple[tuple[str, Role], ...] = (
    ("alice", Role.REQUESTER),
    ("bob", Role.APPROVER),
    ("carol", Role.APPROVER),
    ("dave", Role.READER),
    ("root", Role.ADMIN),
)
ROLE_ORDER = (Role.ADMIN, Role.APPROVER, Role.REQUESTER, Role.READER)

_CHANNEL_MENTION = re.compile(r"(?<![\w<|#])#([A-Za-z0-9][\w-]*)")
_PERSON_MENTION = re.compile(r"(?<![\w<|@])@([A-Za-z](?:[\w.-]*\w)?)")


def person_id(name: str) -> str:
    """A Slack-like user id for a shell name: alice → UALICE."""
    return "U" + re.sub(r"[^A-Z0-9]", "", name.upper())


def channel_id_for(name: str) -> str:
    """A Slack-like channel id for a shell channel name: #general → CGENERAL."""
    return "C" + re.sub(r"[^A-Z0-9]", "", name.lstrip("#").upper())


def shell_settings(settings: Settings, *, sandbox: bool) -> Settings:
    """On the sandbox, the shell's people get their roles by name, unless settings name roles."""
    if not sandbox or settings.requesters or settings.approvers or settings.admins:
        return settings
    by_role: dict[Role, list[str]] = {role: [] for role in Role}
    for name, role in PEOPLE:
        by_role[role].append(person_id(name))
    return settings.model_copy(
        update={
            "requesters": by_role[Role.REQUESTER],
            "approvers": by_role[Role.APPROVER],
            "admins": by_role[Role.ADMIN],
        }
    )


class Directory:
    """The shell's people and channels, with Slack-like ids so mentions and roles work."""

    def __init__(self) -> None:
        self.people: dict[str, str] = {name: person_id(name) for name, _ in PEOPLE}
        self.channels: dict[str, str] = {DEFAULT_CHANNEL: channel_id_for(DEFAULT_CHANNEL)}

    def person(self, word: str) -> tuple[str, str] | None:
        """(name, user id) for a name, @name or U… id; a new name joins the directory."""
        word = word.strip().lstrip("@")
        if not word:
            return None
        if re.fullmatch(r"[UW][A-Z0-9]+", word):
            return self.user_name(word), word
        if not re.fullmatch(r"[A-Za-z][\w.-]*", word):
            return None
        name = word.lower()
        self.people.setdefault(name, person_id(name))
        return name, self.people[name]

    def user_name(self, user_id: str) -> str:
        for name, known in self.people.items():
            if known == user_id:
                return name
        return user_id

    def channel(self, word: str) -> str | None:
        """The channel id for #name, name or C… id (channels are created on first use)."""
        word = word.strip()
        if not word:
            return None
        if word.startswith("<#") and word.endswith(">"):
            word = word[2:-1].split("|", 1)[0]
        if re.fullmatch(r"[CGD][A-Z0-9]+", word):
            if word not in self.channels.values():
                name = word[1:].lower() if word[1:].isalpha() else word
                self.channels.setdefault(name, word)
            return word
        name = word.lstrip("#").lower()
        if not re.fullmatch(r"[a-z0-9][\w-]*", name):
            return None
        self.channels.setdefault(name, channel_id_for(name))
        return self.channels[name]

    def channel_name(self, channel_id: str) -> str:
        for name, known in self.channels.items():
            if known == channel_id:
                return f"#{name}"
        if channel_id.startswith(("U", "W")):
            return f"@{self.user_name(channel_id)}"
        return channel_id

    def escape(self, text: str) -> str:
        """Mentions as Slack sends them in a slash command (``should_escape``): ``#ops`` becomes
        ``<#COPS|ops>`` and ``@bob`` becomes ``<@UBOB|bob>``; unknown people are left as typed."""

        def channel(match: re.Match[str]) -> str:
            name = match.group(1).lower()
            return f"<#{self.channel(name)}|{name}>"

        def person(match: re.Match[str]) -> str:
            name = match.group(1).lower()
            known = self.people.get(name)
            return f"<@{known}|{name}>" if known else match.group(0)

        text = _CHANNEL_MENTION.sub(channel, text)
        return _PERSON_MENTION.sub(person, text)

    def display(self, slack_id: str) -> str | None:
        """How a mention shows: @alice for UALICE, #general for CGENERAL."""
        if slack_id.startswith(("U", "W")):
            return f"@{self.user_name(slack_id)}"
        if slack_id.startswith(("C", "G", "D")):
            return self.channel_name(slack_id)
        return None
