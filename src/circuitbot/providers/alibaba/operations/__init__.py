"""The Alibaba Express Connect commands: ``/circuit ali <verb> …``.

Reads (``list``, ``show``, ``vbrs``) answer with Block Kit from ``render``. Changes (``create``,
``modify``, ``cancel``, ``enable``, ``terminate``, ``delete``) are mutating operations: each
preview checks the documented state rule and explains a refusal before anyone is asked to
approve; execution reads again, sends the change with the approval request's ClientToken and is
followed by a watch of the connection.

Each module registers its own operations; this registers them all, in the order help lists them.
"""

from __future__ import annotations

from circuitbot.actions.registry import Registry
from circuitbot.providers.alibaba.operations import attributes, lifecycle, reads


def register(registry: Registry) -> None:
    for module in (reads, attributes, lifecycle):
        module.register(registry)
