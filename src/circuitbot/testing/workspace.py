"""The sandbox Slack workspace: what ``auth.test`` answers and what the payload builders put in
by default, so the fake and the requests it is paired with agree on every id."""

from __future__ import annotations

from dataclasses import dataclass

TEAM_ID = "T0SANDBOX"
TEAM_DOMAIN = "circuitbot-sandbox"
BOT_USER_ID = "U0CIRCUITBOT"
BOT_ID = "B0CIRCUITBOT"
APP_ID = "A0CIRCUITBOT"


@dataclass(frozen=True)
class Workspace:
    team_id: str = TEAM_ID
    team_domain: str = TEAM_DOMAIN
    bot_user_id: str = BOT_USER_ID
    bot_id: str = BOT_ID
    app_id: str = APP_ID
