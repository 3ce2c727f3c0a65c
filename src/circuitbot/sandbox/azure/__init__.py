"""A simulated Azure Resource Manager for the ExpressRoute partner resources (see ``simulator``)."""

from circuitbot.sandbox.azure.simulator import DEFAULT_PAGE_SIZE, PROVIDER_STATES, AzureSimulator

__all__ = ["DEFAULT_PAGE_SIZE", "PROVIDER_STATES", "AzureSimulator"]
