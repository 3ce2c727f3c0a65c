"""The Azure ExpressRoute partner commands: ``/circuit az <verb> …``.

Reads (port pairs, cross-connections, peerings, communities, the device tables) answer with
Block Kit from ``render``. Changes (provisioning state, notes, port-pair moves, peerings) are
mutating operations: the approval engine previews them, an approver approves, and execution
writes on condition of the etag the preview read (compared with a fresh read before writing,
as ARM may not enforce ``If-Match``, and sent as ``If-Match``), so a circuit that changed in
between is refused rather than overwritten; a peering is created with ``If-None-Match: *``.
Every change is then followed by a watch of the circuit.

Each module registers its own operations; this registers them all, in the order help lists them.
"""

from __future__ import annotations

from circuitbot.actions.registry import Registry
from circuitbot.providers.azure.operations import circuits, drain, move, peerings, tables


def register(registry: Registry) -> None:
    for module in (circuits, move, drain, peerings, tables):
        module.register(registry)
