"""A simulated Azure Resource Manager for the ExpressRoute partner resources.

An independent model of what the partner API does, built from the docs (seeds 000 and 001),
the REST specs (examples in ``tests/contracts/data``) and the service's known behaviour. Each
module states the behaviour it models:

* ``arm``: what any ARM API shares: bearer auth, CloudError, etags and conditional writes,
  long-running operations, paging and ``$filter``;
* ``state``: the cross-connections and peerings, seeded from the ``World``, and their rendering;
* ``cross_connections``: list, GET, PUT (with its body pitfalls and port-pair moves), PATCH tags;
* ``peerings`` and ``peering_rules``: peering writes and the rules their bodies must follow;
* ``tables``: the ARP, route and route-summary tables and the shapes their POSTs answer in;
* ``catalog``: provider port pairs and BGP service communities;
* ``simulator``: ``AzureSimulator``, the route groups put together.
"""

from circuitbot.sandbox.azure.arm import DEFAULT_PAGE_SIZE
from circuitbot.sandbox.azure.simulator import AzureSimulator
from circuitbot.sandbox.azure.state import PROVIDER_STATES

__all__ = ["DEFAULT_PAGE_SIZE", "PROVIDER_STATES", "AzureSimulator"]
