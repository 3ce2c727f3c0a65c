"""A simulated Equinix Fabric for a buyer, over both API generations.

An independent model of the buyer API, built from seed 003 (v3), the Fabric v4 spec and its
examples, and ecx-go's fixtures. Each module states what it models:

* ``auth``: the OAuth2 token endpoint, expiring tokens, 401 on an unknown or expired one;
* ``data``: the seed's ports, metros, profiles and prices, the world's Equinix legs;
* ``state``: the one state both generations serve, the lifecycles, each generation's rendering;
* ``orders``: the rules of an order and a delete;
* ``ecx_v3`` and ``fabric_v4``: each generation's routes, paging and error shape;
* ``simulator``: ``EquinixSimulator``, put together.
"""

from circuitbot.sandbox.equinix.auth import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, parse_client_credentials
from circuitbot.sandbox.equinix.data import AZURE_PROFILE
from circuitbot.sandbox.equinix.simulator import EquinixSimulator

__all__ = [
    "AZURE_PROFILE",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "EquinixSimulator",
    "parse_client_credentials",
]
