"""The sandbox's physical-connection actions: each checks the documented rule, then acts.

The rules (seed 004 and the SDK texts), and the codes answered when one fails:

* Create refuses a sixth connection not yet Enabled and any application while a connection is
  locked for overdue payment; its fields are checked as the docs state (name 2–128 characters
  starting with a letter, not http:// or https://; description 2–256; bandwidth 2–10240; the
  documented port types and line operators; a redundant connection of the same account in
  Allocated, Confirmed or Enabled).
* Modify changes nothing in Canceled, Allocating, AllocationFailed or Terminated; the spec
  (port type, bandwidth) and the redundant id only in Initial or Rejected; a Rejected
  connection goes back to Initial.
* Cancel works from Initial, Approved, Allocated or Confirmed (never from Enabled); Enable only
  from Confirmed; Terminate only from Enabled with no VBR left; Delete only from the final
  states (configurable: the documentation changed between versions).

Undocumented codes (the quota, the delinquent account, the VBRs left) are named in the same
style as the documented ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from circuitbot.sandbox.alibaba.auth import RpcError
from circuitbot.sandbox.alibaba.state import APPLYING, Connection

LINE_OPERATORS = ("CT", "CU", "CM", "CO", "Equinix", "Other")
PORT_TYPES = (
    "100Base-T",
    "1000Base-T",
    "1000Base-LX",
    "10GBase-T",
    "10GBase-LR",
    "40GBase-LR",
    "100GBase-LR",
)
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{1,127}$")
DESCRIPTION = re.compile(r"^[A-Za-z].{1,255}$", re.DOTALL)
CIRCUIT_CODE = re.compile(r"^[\w.-]{1,64}$")
MAX_APPLYING = 5
NOT_MODIFIABLE = ("Canceled", "Allocating", "AllocationFailed", "Terminated")
SPEC_MODIFIABLE = ("Initial", "Rejected")
CANCELABLE = ("Initial", "Approved", "Allocated", "Confirmed")
REDUNDANT_OK = ("Allocated", "Confirmed", "Enabled")


def not_found(pc_id: str) -> RpcError:
    return RpcError(
        404,
        "InvalidPhysicalConnectionId.NotFound",
        f"The PhysicalConnectionId provided does not exist in our records: {pc_id}",
    )


def not_in_state(connection: Connection, action: str) -> RpcError:
    return RpcError(
        400,
        "Forbidden.NotAllowedInState",
        f"The request does not allow in this state. {action} is not allowed while "
        f"{connection.pc_id} is {connection.status}.",
    )


def bandwidth_of(params: Mapping[str, str]) -> str | None:
    """``bandwidth`` (the SDK), ``Bandwidth`` (Modify's table) or ``BandWidth`` (Create's table)."""
    return next((params[k] for k in ("bandwidth", "Bandwidth", "BandWidth") if k in params), None)


def check_fields(params: Mapping[str, str], *, creating: bool) -> None:
    """The field rules Create and Modify share."""
    name, description = params.get("Name"), params.get("Description")
    if name is not None and (not NAME.match(name) or name.lower().startswith(("http://", "https://"))):
        raise RpcError(400, "InvalidName.Malformed", "The specified Name is not valid.")
    if description is not None and (
        not DESCRIPTION.match(description) or description.lower().startswith(("http://", "https://"))
    ):
        raise RpcError(400, "InvalidDescription.Malformed", "The specifid Description is not valid.")
    bandwidth = bandwidth_of(params)
    if bandwidth is not None and (not bandwidth.isdigit() or not 2 <= int(bandwidth) <= 10240):
        raise RpcError(400, "InvalidBandwidth", "invalid physical connection banwidth.")
    if "PortType" in params and params["PortType"] not in PORT_TYPES:
        raise RpcError(400, "InvalidPortType.Malformd", "The PortType provided was invalid.")
    operator = params.get("LineOperator")
    if (creating or operator is not None) and operator not in LINE_OPERATORS:
        if creating and operator is None:
            raise RpcError(
                400, "MissingParameter", "The input parameter LineOperator that is mandatory is not supplied."
            )
        raise RpcError(400, "InvalidLineOperator.Malformed", "The LineOperator provided was invalid.")
    peer = params.get("PeerLocation")
    if (creating and not peer) or (peer is not None and not peer.strip()):
        raise RpcError(400, "InvalidPeerLocation.Malformd", "The PeerLocation provided was invalid.")
    code = params.get("CircuitCode")
    if code is not None and not CIRCUIT_CODE.match(code):
        raise RpcError(400, "InvalidCircuitCode.Malformed", "circuitCode is illegal.")


def check_redundant(redundant_id: str | None, find: Callable[[str], Connection | None]) -> None:
    if redundant_id is None:
        return
    redundant = find(redundant_id)
    if redundant is None:
        raise RpcError(
            400,
            "InvalidRedundantPhysicalConnection",
            "redundant physical connection doesn't belong to current user.",
        )
    if not redundant.is_(*REDUNDANT_OK):
        raise RpcError(
            400, "InvalidRedundantPhysicalConnectionStatus", "invalid redundant physical connection status."
        )


def check_account(connections: Sequence[Connection]) -> None:
    """Create's two account rules: five applications at most, and no delinquent connection."""
    if any(c.business_status == "FinancialLocked" for c in connections):
        raise RpcError(
            400,
            "Forbidden.AccountDelinquent",
            "A physical connection of this account is locked for overdue payment; "
            "no new one can be applied for.",
        )
    if sum(1 for c in connections if c.is_(*APPLYING)) >= MAX_APPLYING:
        raise RpcError(
            400,
            "QuotaExceeded.PhysicalConnection",
            "The number of physical connections not in the Enabled state cannot exceed five.",
        )


def new_connection(pc_id: str, region: str, params: Mapping[str, str], now: datetime) -> Connection:
    if not params.get("AccessPointId"):
        raise RpcError(
            400, "MissingParameter", "The input parameter AccessPointId that is mandatory is not supplied."
        )
    bandwidth = bandwidth_of(params)
    return Connection(
        pc_id=pc_id,
        region=region,
        status="Initial",
        access_point_id=params["AccessPointId"],
        line_operator=params["LineOperator"],
        peer_location=params["PeerLocation"],
        port_type=params.get("PortType", "1000Base-T"),
        bandwidth=int(bandwidth) if bandwidth else 100,
        name=params.get("Name"),
        description=params.get("Description"),
        circuit_code=params.get("CircuitCode"),
        redundant_id=params.get("RedundantPhysicalConnectionId"),
        created=now,
        since=now,
    )


def modify(
    connection: Connection, params: Mapping[str, str], find: Callable[[str], Connection | None], now: datetime
) -> None:
    if connection.is_(*NOT_MODIFIABLE, "Allocation Failed"):
        raise not_in_state(connection, "ModifyPhysicalConnectionAttribute")
    spec_change = any(k in params for k in ("PortType", "RedundantPhysicalConnectionId")) or bandwidth_of(
        params
    )
    if spec_change and not connection.is_(*SPEC_MODIFIABLE):
        raise RpcError(
            400,
            "Forbidden.NotAllowedInState",
            f"The spec and the redundant connection can change only in Initial or Rejected; "
            f"{connection.pc_id} is {connection.status}.",
        )
    check_fields(params, creating=False)
    check_redundant(params.get("RedundantPhysicalConnectionId"), find)
    fields: dict[str, Any] = {
        "Name": "name",
        "Description": "description",
        "LineOperator": "line_operator",
        "PortType": "port_type",
        "PeerLocation": "peer_location",
        "CircuitCode": "circuit_code",
        "RedundantPhysicalConnectionId": "redundant_id",
    }
    for wire, attribute in fields.items():
        if wire in params:
            setattr(connection, attribute, params[wire])
    bandwidth = bandwidth_of(params)
    if bandwidth:
        connection.bandwidth = int(bandwidth)
    if connection.is_("Rejected"):
        connection.move("Initial", now)


def cancel(connection: Connection, now: datetime) -> None:
    if not connection.is_(*CANCELABLE):
        raise not_in_state(connection, "CancelPhysicalConnection")
    connection.enabling = False
    connection.move("Canceled", now)


def enable(connection: Connection, now: datetime) -> None:
    if not connection.is_("Confirmed"):
        raise not_in_state(connection, "EnablePhysicalConnection")
    if not connection.enabling:
        connection.enabling = True
        connection.since = now


def terminate(connection: Connection, now: datetime) -> None:
    if not connection.is_("Enabled"):
        raise not_in_state(connection, "TerminatePhysicalConnection")
    if connection.vbrs:
        raise RpcError(
            400,
            "DependencyViolation.VirtualBorderRouter",
            f"{connection.pc_id} still has {len(connection.vbrs)} VBR(s); delete them before terminating it.",
        )
    connection.move("Terminating", now)


def check_delete(connection: Connection, delete_states: Sequence[str]) -> None:
    if not connection.is_(*delete_states):
        raise not_in_state(connection, "DeletePhysicalConnection")
