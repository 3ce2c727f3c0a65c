"""Changes made at a sandbox provider, as the customer or the partner would make them, for the
benchmarks that measure how fast circuitbot notices and announces them."""

from __future__ import annotations

from typing import Any


def azure_change(runtime: Any, key: str) -> str:
    """Move a circuit's provider state on by one, as the customer or the partner would."""
    from circuitbot.sandbox.azure import PROVIDER_STATES

    cross_connection = runtime.sandbox["azure"].cross_connection(key)
    before = cross_connection.provider_state
    after = PROVIDER_STATES[(PROVIDER_STATES.index(before) + 1) % len(PROVIDER_STATES)]
    cross_connection.provider_state = after
    return f"{before} → {after}"


def alibaba_change(runtime: Any, pc_id: str) -> str:
    """Lock a physical connection for security or unlock it (BusinessStatus), as Alibaba would."""
    connection = runtime.sandbox["alibaba"].connections[pc_id]
    before = connection.business_status
    connection.business_status = "SecurityLocked" if before == "Normal" else "Normal"
    return f"{before} → {connection.business_status}"
