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


def consoleconnect_change(runtime: Any, connection_id: str) -> str:
    """Move a connection's Azure provisioning status on by one, as Azure's side would."""
    from circuitbot.providers.consoleconnect import models as m

    simulator = runtime.sandbox["consoleconnect"]
    connection = simulator.connection(connection_id)
    status, before = simulator.status_of(connection_id)
    order = [s.value for s in m.PartnerPeeringStatus]
    index = next(i for i, value in enumerate(order) if m.same_status(value, before))
    after = order[(index + 1) % len(order)]
    connection.fixed = (status, after)
    connection.updated_at = simulator.clock.now()  # a change of the connection touches it
    return f"{before} → {after}"


def equinix_change(runtime: Any, uuid: str) -> str:
    """Move a settled connection between PROVISIONED and PROVISIONING, as Equinix would on a
    reprovisioning: every watched state field of it changes."""
    from circuitbot.sandbox.world import CircuitStage

    state = runtime.sandbox["equinix"].state
    connection = state.connections[uuid]
    before = state.states(connection)
    connection.settled = True
    connection.deleted_at = None
    provisioning = CircuitStage.PROVISIONING
    connection.stage = CircuitStage.PROVISIONED if connection.stage is provisioning else provisioning
    return f"{'/'.join(before)} → {'/'.join(state.states(connection))}"


def alibaba_change(runtime: Any, pc_id: str) -> str:
    """Lock a physical connection for security or unlock it (BusinessStatus), as Alibaba would."""
    connection = runtime.sandbox["alibaba"].connections[pc_id]
    before = connection.business_status
    connection.business_status = "SecurityLocked" if before == "Normal" else "Normal"
    return f"{before} → {connection.business_status}"
