"""A simulated Console Connect API for one company's Azure Direct Connect Partner connections.

* ``state``: the connections, ports and peering configs, seeded from the ``World``, their
  statuses computed from the clock, and their wire view;
* ``simulator``: ``ConsoleConnectSimulator``, the routes, auth and the API's rules.
"""

from circuitbot.sandbox.consoleconnect.simulator import DEFAULT_API_KEY, ConsoleConnectSimulator
from circuitbot.sandbox.consoleconnect.state import PORTS

__all__ = ["DEFAULT_API_KEY", "PORTS", "ConsoleConnectSimulator"]
