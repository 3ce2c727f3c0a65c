"""A token credential that always hands out the same token.

The sandbox accepts any bearer token, and tests need no Azure sign-in; the shell and the
sandbox use this in place of ``DefaultAzureCredential``.
"""

from __future__ import annotations

from typing import Any

from azure.core.credentials import AccessToken

FAR_FUTURE = 4_102_444_800  # 2100-01-01, seconds since the epoch


class StaticTokenCredential:
    """An ``azure.core`` AsyncTokenCredential returning a fixed token."""

    def __init__(self, token: str = "sandbox-token", *, expires_on: int = FAR_FUTURE) -> None:
        self._token = token
        self._expires_on = expires_on
        self.requests = 0
        """How many tokens were asked for, so tests can check caching."""

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        self.requests += 1
        return AccessToken(self._token, self._expires_on)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> StaticTokenCredential:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return "StaticTokenCredential(<token hidden>)"
