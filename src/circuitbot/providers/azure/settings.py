"""Azure's settings: ``CIRCUITBOT_AZURE__<FIELD>`` or the TOML file's ``[azure]`` table."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

from circuitbot.setting_types import CsvList


class AzureSettings(BaseModel):
    # A sovereign cloud changes both: e.g. https://management.chinacloudapi.cn and its /.default.
    base_url: str = "https://management.azure.com"
    token_scope: str = "https://management.azure.com/.default"
    subscription_ids: CsvList = Field(default_factory=list)
    cross_connection_api_version: str = "2025-07-01"
    provider_ports_api_version: str = "2025-05-01"
    # Sent as the bearer token instead of signing in: a simulator served on loopback by
    # ``circuitbot sandbox serve`` (tests that run several bot processes on one sandbox).
    static_token: SecretStr | None = Field(None, repr=False)

    @property
    def configured(self) -> bool:
        return bool(self.subscription_ids)
