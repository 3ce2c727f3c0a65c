"""The Alibaba Cloud VPC API simulator (Express Connect physical connections)."""

from circuitbot.sandbox.alibaba.auth import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, parse_access_key
from circuitbot.sandbox.alibaba.simulator import AlibabaSimulator

__all__ = ["DEFAULT_ACCESS_KEY_ID", "DEFAULT_ACCESS_KEY_SECRET", "AlibabaSimulator", "parse_access_key"]
