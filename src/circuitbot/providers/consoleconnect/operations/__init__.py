"""The Console Connect commands: ``/circuit cc <verb> …``.

Reads (``verify``, ``ports``, ``list``, ``show``, ``peering-show``) answer with Block Kit from
``render``. Changes (``create``, ``peering``, ``peering-delete``, ``delete``) are mutating
operations: the approval engine previews them, an approver approves, execution checks on a
fresh read that what the preview saw still holds (Console Connect has no etags), and the
connection is then watched.

Each module registers its own operations; this registers them all, in the order help lists them.
"""

from __future__ import annotations

from circuitbot.actions.registry import Registry
from circuitbot.providers.consoleconnect.operations import connections, peerings, reads


def register(registry: Registry) -> None:
    for module in (reads, connections, peerings):
        module.register(registry)
