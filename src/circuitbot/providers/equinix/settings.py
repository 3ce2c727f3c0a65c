"""Equinix Fabric's settings: ``CIRCUITBOT_EQUINIX__<FIELD>`` or the TOML file's ``[equinix]`` table.

Fabric v4 is the default: the v3 Layer-2 buyer API reached end of life in June 2024, so real
accounts need v4. ``api_version = "v3"`` keeps an account on the v3 endpoints of the seed
(a sandbox, or an account that still answers on them).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr

ApiVersion = Literal["v4", "v3"]


class EquinixSettings(BaseModel):
    base_url: str = "https://api.equinix.com"
    api_version: ApiVersion = "v4"
    # OAuth2 client credentials of the Equinix developer app; both are secrets to us.
    client_id: SecretStr | None = Field(None, repr=False)
    client_secret: SecretStr | None = Field(None, repr=False)

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)
