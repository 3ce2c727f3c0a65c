"""Console Connect's settings: ``CIRCUITBOT_CONSOLECONNECT__<FIELD>`` or the TOML file's
``[consoleconnect]`` table.

The API key is provisioned by Console Connect support and sent as ``Authorization: Bearer``;
``auth_header = "portal-token"`` sends it in the deprecated ``portal-token`` header instead (a
token from ``PUT /api/auth/token``), for accounts not yet moved to API keys. Every path names
the company by its username.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr

AuthHeader = Literal["bearer", "portal-token"]


class ConsoleConnectSettings(BaseModel):
    # The test platform is https://api.test.consoleconnect.com.
    base_url: str = "https://api.consoleconnect.com"
    api_key: SecretStr | None = Field(None, repr=False)
    company: str | None = Field(None, description="the company's username, as in the API's paths")
    auth_header: AuthHeader = "bearer"

    @property
    def configured(self) -> bool:
        return self.api_key is not None and bool(self.api_key.get_secret_value()) and bool(self.company)
