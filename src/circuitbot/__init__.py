"""circuitbot: Slack ChatOps for cloud interconnect circuits."""

__version__ = "0.1.0"
