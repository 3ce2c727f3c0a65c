"""Azure ExpressRoute partner provider: wire models, the ARM client and its errors."""

from circuitbot.providers.azure.client import AzurePartnerClient, Fetched
from circuitbot.providers.azure.credentials import StaticTokenCredential
from circuitbot.providers.azure.errors import (
    AzureCloudError,
    AzureOperationFailed,
    AzureOperationTimeout,
    NotFound,
    PreconditionFailed,
)

__all__ = [
    "AzureCloudError",
    "AzureOperationFailed",
    "AzureOperationTimeout",
    "AzurePartnerClient",
    "Fetched",
    "NotFound",
    "PreconditionFailed",
    "StaticTokenCredential",
]
