"""The Equinix Fabric buyer commands: ``/circuit eqx <verb> …``.

Reads answer with Block Kit from ``render``, the same on Fabric v4 and v3. ``delete`` and
``create`` go through approval (preview, execute once, verify after a crash, follow with a
watch). Each module registers its own operations; this registers them all.
"""

from __future__ import annotations

from circuitbot.actions.registry import Registry
from circuitbot.providers.equinix.operations import changes, reads


def register(registry: Registry) -> None:
    for module in (reads, changes):
        module.register(registry)
