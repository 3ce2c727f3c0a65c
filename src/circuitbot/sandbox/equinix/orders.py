"""Ordering and deleting connections, the rules both generations enforce.

An order is refused (400) with every problem at once: an unknown or foreign port, a port that
may not order, an unknown profile, a speed the profile does not sell, a seller metro it is not
in, a VLAN outside 2..4092 or already used on the port (v4 ``EQ-3142102``), a service key Azure
did not issue, and (v3, which orders both at once) a profile requiring redundancy without a
secondary. A delete of a connection already deprovisioned is refused with ``EQ-3142509``, one
still provisioning or deprovisioning with ``EQ-3142510`` (transient state).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from circuitbot.sandbox.equinix.common import Problem, SimError
from circuitbot.sandbox.equinix.data import Connection
from circuitbot.sandbox.equinix.state import EquinixState

ALREADY_DELETED = "EQ-3142509"
TRANSIENT = "EQ-3142510"
DUPLICATE_VLAN = "EQ-3142102"


@dataclass
class LegRequest:
    name: str | None
    port_uuid: str | None
    vlan: int | None
    priority: str  # PRIMARY | SECONDARY
    group: str | None = None


@dataclass
class OrderRequest:
    profile_uuid: str | None
    seller_metro: str | None
    speed_mbps: int | None
    key: str | None
    peering: str
    notifications: list[str]
    legs: list[LegRequest]
    purchase_order: str | None = None
    redundant_in_one: bool = False  # v3 orders both legs in one request


def check(state: EquinixState, order: OrderRequest, *, prefix: str = "") -> None:
    problems: list[Problem] = []
    profile = state.profiles.get(order.profile_uuid or "")
    if profile is None:
        problems.append(Problem(f"No service profile {order.profile_uuid}.", property=f"{prefix}profile"))
    else:
        if order.speed_mbps not in profile.speeds:
            speeds = ", ".join(str(s) for s in profile.speeds)
            problems.append(
                Problem(
                    f"Speed {order.speed_mbps} Mbps is not offered; choose one of {speeds}.",
                    property="bandwidth",
                )
            )
        if (order.seller_metro or "").upper() not in profile.metros:
            problems.append(
                Problem(
                    f"{profile.name} is not available in metro {order.seller_metro}.", property="metroCode"
                )
            )
        if profile.redundancy_required and order.redundant_in_one and len(order.legs) < 2:
            problems.append(
                Problem(
                    f"{profile.name} requires a redundant secondary connection.", property="secondaryPortUUID"
                )
            )
        if profile.uuid == "a1390b22-bbe0-4e93-ad37-85beef9d254d" and not state.known_key(order.key or ""):
            problems.append(
                Problem("Authorization key is not valid for this profile.", property="authenticationKey")
            )
    for leg in order.legs:
        problems += _leg_problems(state, leg)
    if (
        len(order.legs) == 2
        and order.legs[0].port_uuid == order.legs[1].port_uuid
        and order.legs[0].vlan == order.legs[1].vlan
    ):
        problems.append(
            Problem(
                "The primary and secondary connections need different VLANs on one port.", code=DUPLICATE_VLAN
            )
        )
    if problems:
        raise SimError(400, *problems)


def _leg_problems(state: EquinixState, leg: LegRequest) -> list[Problem]:
    problems = []
    if not (leg.name or "").strip():
        problems.append(Problem("A connection name is required.", property="name"))
    port = state.port_of(leg.port_uuid)
    if port is None:
        problems.append(
            Problem(f"No port {leg.port_uuid} in your account.", property="/aSide/accessPoint/port/uuid")
        )
    elif not port.can_order:
        problems.append(
            Problem(
                f"You may not order connections on port {port.name}.", property="/aSide/accessPoint/port/uuid"
            )
        )
    if leg.vlan is None or not 2 <= leg.vlan <= 4092:
        problems.append(
            Problem("The VLAN tag must be between 2 and 4092.", property="/aSide/accessPoint/linkProtocol")
        )
    elif port is not None and leg.vlan in state.vlans_in_use(port.uuid):
        problems.append(
            Problem(
                f"Connection has duplicate buyer-side VLAN ID {leg.vlan} on port {port.name}.",
                code=DUPLICATE_VLAN,
                property="/aSide/accessPoint/linkProtocol",
            )
        )
    return problems


def place(state: EquinixState, order: OrderRequest) -> list[Connection]:
    """The order's connections, PROVISIONING from now; the caller has checked it."""
    group = next((leg.group for leg in order.legs if leg.group), None) or str(uuid.uuid4())
    made = []
    for leg in order.legs:
        connection = Connection(
            uuid=str(uuid.uuid4()),
            name=(leg.name or "").strip(),
            port_uuid=state.port_of(leg.port_uuid).uuid,  # type: ignore[union-attr]
            vlan=int(leg.vlan or 0),
            speed_mbps=int(order.speed_mbps or 0),
            seller_metro=(order.seller_metro or "").upper(),
            profile_uuid=order.profile_uuid or "",
            key=(order.key or "").strip().lower(),
            peering=order.peering.upper(),
            priority=leg.priority,
            group=group,
            notifications=list(order.notifications),
            created_at=state.now(),
            settled=False,
            purchase_order=order.purchase_order,
        )
        state.connections[connection.uuid] = connection
        made.append(connection)
    return made


def remove(state: EquinixState, connection_id: str) -> Connection:
    connection = find(state, connection_id)
    if state.gone(connection):
        raise SimError(400, Problem("Connection already deleted", code=ALREADY_DELETED))
    if state.busy(connection):
        raise SimError(400, Problem("Connection is in transient state", code=TRANSIENT))
    connection.deleted_at = state.now()
    return connection


def find(state: EquinixState, connection_id: str) -> Connection:
    connection = state.connections.get(connection_id.lower())
    if connection is None:
        raise SimError(404, Problem("uuid not found"))
    return connection
