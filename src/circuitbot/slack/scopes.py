"""The bot token scopes circuitbot needs: derived from the Web API methods the code calls.

``app_manifest.yml`` asks for exactly ``BOT_SCOPES`` and ``circuitbot check`` compares the scopes
a workspace granted with them; ``tests/ops/test_manifest.py`` fails when the code calls a Web API
method this table does not list, or when the manifest and the table differ.

Scopes per method are Slack's, from each method's documentation page. The ``conversations.*``
reads need the whole family (public, private, direct and group direct messages): a watch or an
approval thread can live in any kind of conversation.
"""

from __future__ import annotations

_HISTORY = ("channels:history", "groups:history", "im:history", "mpim:history")
_READ = ("channels:read", "groups:read", "im:read", "mpim:read")

# Web API method -> the bot scopes it needs (app-level-token and trigger-based methods need none).
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "apps.connections.open": (),  # the app-level token's connections:write, not a bot scope
    "chat.postMessage": ("chat:write", "chat:write.public"),  # .public: notify channels it is not in
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "views.open": (),
    "views.update": (),
    "views.publish": (),  # the App Home tab
    "usergroups.users.list": ("usergroups:read",),  # roles granted to a user group
    "conversations.info": _READ,  # a watch's channel exists, is not archived, the bot is in it
    # the outbox looks for an earlier try's post before sending again (exactly once)
    "conversations.history": _HISTORY,
    "conversations.replies": _HISTORY,
}

SLASH_COMMAND_SCOPES = ("commands",)

BOT_SCOPES: frozenset[str] = frozenset(SLASH_COMMAND_SCOPES).union(*METHOD_SCOPES.values())
