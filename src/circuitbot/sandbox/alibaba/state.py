"""The physical connections the sandbox holds, their documented life, and their wire view.

The life of a physical connection (seed 004 and the SDK texts)::

    Create ─> Initial ─> Approved ─> Allocating ─> Allocated ─> Confirmed ─Enable─> Enabled
                 │                        └─> Allocation Failed                        │
                 └─> Rejected ─Modify─> Initial              Terminate ─> Terminating ─> Terminated
    Cancel (Initial, Approved, Allocated, Confirmed) ─> Canceled
    Delete (the final states) ─> gone

The provider's own steps (review, allocation, installation, and the asynchronous ends of
Enable and Terminate) advance on the injected clock, one step every ``step_seconds``; a test
can reject an application or fail an allocation instead (``reject``, ``fail_allocation``).

The seeded connections are the documents' examples (seed 004, the SDK model comments), spread
over a few regions and states, with VBRs on one Enabled connection so that Terminate's rule
("delete the VBRs first") shows; ``extra`` adds generated Enabled ones for the bench.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# Provider-side steps: after ``step_seconds`` in the first, a connection moves to the second.
AUTOMATIC_STEPS = {
    "Initial": "Approved",
    "Approved": "Allocating",
    "Allocating": "Allocated",
    "Allocated": "Confirmed",
    "Terminating": "Terminated",
}
ALLOCATION_FAILED = "Allocation Failed"  # as the Status list spells it (the rules write AllocationFailed)
# Applications still on their way, counted against the limit of five not Enabled.
APPLYING = ("Initial", "Approved", "Allocating", "Allocated", "Confirmed")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def key(status: str | None) -> str:
    return "".join((status or "").split()).casefold()


@dataclass
class Vbr:
    vbr_id: str
    vlan_id: int
    status: str = "active"
    created: datetime | None = None
    local_ip: str = "10.0.0.1"
    peer_ip: str = "10.0.0.2"

    def wire(self, circuit_code: str | None) -> dict[str, Any]:
        created = self.created.strftime(TIME_FORMAT) if self.created else None
        return {
            "VbrId": self.vbr_id,
            "Status": self.status,
            "VlanId": str(self.vlan_id),
            "CircuitCode": circuit_code,
            "CreationTime": created,
            "ActivationTime": created,
            "LocalGatewayIp": self.local_ip,
            "PeerGatewayIp": self.peer_ip,
            "PeeringSubnetMask": "255.255.255.252",
            "Type": "VBR",
        }


@dataclass
class Connection:
    pc_id: str
    region: str
    status: str
    access_point_id: str
    line_operator: str
    peer_location: str
    port_type: str = "1000Base-T"
    bandwidth: int = 100
    name: str | None = None
    description: str | None = None
    circuit_code: str | None = None
    redundant_id: str | None = None
    business_status: str = "Normal"
    port_number: str | None = None
    ad_location: str | None = None
    created: datetime | None = None
    enabled: datetime | None = None
    end: datetime | None = None
    since: datetime | None = None  # when it entered ``status`` (or its pending step began)
    enabling: bool = False  # Enable accepted, Enabled not reached yet
    vbrs: list[Vbr] = field(default_factory=list)

    def is_(self, *states: str) -> bool:
        return key(self.status) in {key(s) for s in states}

    def move(self, status: str, now: datetime) -> None:
        self.status, self.since = status, now

    def advance(self, now: datetime, step: timedelta) -> bool:
        """Take the provider's due steps; whether anything changed."""
        changed = False
        while self.since is not None and now - self.since >= step:
            due = self.since + step
            if self.enabling and self.is_("Confirmed"):
                self.enabling = False
                self.enabled, self.end = due, due + timedelta(days=365)
                self.move("Enabled", due)
            elif self.status in AUTOMATIC_STEPS:
                self.move(AUTOMATIC_STEPS[self.status], due)
            else:
                break
            changed = True
        return changed

    def spec(self) -> str:
        return "10G" if self.port_type.startswith("10G") else "1G and below"

    def wire(self) -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return value.strftime(TIME_FORMAT) if value else None

        item = {
            "PhysicalConnectionId": self.pc_id,
            "Name": self.name,
            "Description": self.description,
            "Status": self.status,
            "BusinessStatus": self.business_status,
            "AccessPointId": self.access_point_id,
            "LineOperator": self.line_operator,
            "PortType": self.port_type,
            "PortNumber": self.port_number,
            "Spec": self.spec(),
            "Bandwidth": self.bandwidth,
            "PeerLocation": self.peer_location,
            "CircuitCode": self.circuit_code,
            "RedundantPhysicalConnectionId": self.redundant_id,
            "Type": "VPC",
            "ProductType": "PhysicalConnection",
            "ChargeType": "Prepaid",
            "CreationTime": when(self.created),
            "EnabledTime": when(self.enabled),
            "EndTime": when(self.end),
            "AdLocation": self.ad_location,
            "LoaStatus": "Available" if self.is_("Allocated", "Confirmed", "Enabled") else None,
            "HasReservationData": "false",
        }
        return {k: v for k, v in item.items() if v is not None}


def _at(text: str) -> datetime:
    from datetime import UTC

    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


def seeded(now: datetime) -> list[Connection]:
    """The documents' examples, in the states the walk-through needs."""
    return [
        # seed 004, DescribePhysicalConnections example (Enabled, with VBRs: Terminate is refused)
        Connection(
            "pc-2zeoaxkq3jot5p71qcnuy", "cn-beijing", "Enabled", "ap-cn-beijing-dx-A", "CT",
            "XXX-XX Road--XXX District", port_type="100Base-T", bandwidth=2, name="TEST",
            port_number="1/1/4", ad_location="CabinetXXU DataCenter XXX--XXX--XX--XXX",
            created=_at("2017-12-13T02:28:42Z"), enabled=_at("2017-12-18T04:01:30Z"),
            vbrs=[Vbr("vbr-2zecmmvg5gvu8i4te1bqm", 10, created=_at("2017-12-19T08:00:00Z")),
                  Vbr("vbr-2ze1k2q5vflvbusuw2ng7", 11, created=_at("2018-03-02T10:30:00Z"),
                      local_ip="10.0.1.1", peer_ip="10.0.1.2")],
        ),
        # SDK example (Enabled, no VBRs: Terminate may go ahead)
        Connection(
            "pc-bp1ciz7ekd2grn1as", "cn-hangzhou", "Enabled", "ap-cn-hangzhou-finance-yh-E", "CT",
            "XX Number, XX Road, XX Town, XX District, Hangzhou City, Zhejiang Province.",
            port_type="10GBase-LR", bandwidth=10, name="nametest", description="desctest",
            circuit_code="longtel001", redundant_id="pc-119mfjzm7", port_number="1/1/1",
            ad_location="Number 10, XX Road, XX Town, XX District, Hangzhou City, Zhejiang Province.",
            created=_at("2021-08-24T07:30:58Z"), enabled=_at("2021-08-24T07:33:18Z"),
            end=_at("2022-04-24T16:00:00Z"),
        ),
        # Cancel and Modify examples: installed, waiting for the customer to enable it
        Connection(
            "pc-119mfjzm7", "cn-shanghai", "Confirmed", "ap-cn-shanghai-nh-B", "CU",
            "Zhejiang Province vfjdbg_21e", name="shanghai-standby", circuit_code="longtel002",
            created=_at("2019-01-10T03:00:00Z"), since=now,
        ),
        # Create example: just applied for
        Connection(
            "pc-2ze3f8v1yct9xuxxnl6", "cn-beijing", "Initial", "ap-cn-beijing-ft-A", "CT", "XXX",
            name="beijing-new", created=now, since=now,
        ),
        Connection(
            "pc-bp1h6klstbwmrgcbuuh", "cn-hangzhou", "Rejected", "ap-cn-hangzhou-xx-B", "CM",
            "Hangzhou Xixi data center", name="rejected-app", created=_at("2024-05-06T01:02:03Z"),
        ),
        Connection(
            "pc-uf6ollkcta33nbgbvs4", "cn-shanghai", "Canceled", "ap-cn-shanghai-nh-B", "CT",
            "Shanghai Pudong data center", name="canceled-app", created=_at("2023-02-01T09:00:00Z"),
        ),
        Connection(
            "pc-bp1rdqgnpm2dowtej4yl", "cn-hangzhou", "Terminated", "ap-cn-hangzhou-finance-yh-E", "CU",
            "Hangzhou Binjiang data center", name="old-line", created=_at("2018-04-01T00:00:00Z"),
            enabled=_at("2018-04-20T00:00:00Z"),
        ),
        Connection(
            "pc-t4n0f3tn6o4ddmutvh4", "ap-southeast-1", "Allocated", "ap-sg-singpore-A", "Equinix",
            "Equinix SG1, Singapore", port_type="10GBase-LR", bandwidth=1000, name="sg-equinix",
            created=_at("2026-11-20T00:00:00Z"), since=now,
        ),
    ]  # fmt: skip


EXTRA_REGIONS = ("cn-hangzhou", "cn-shanghai", "cn-beijing", "ap-southeast-1")


def generated(count: int, seed: int, now: datetime) -> list[Connection]:
    """``count`` Enabled connections for the bench, the same for a seed."""
    rng = random.Random(seed)
    made = []
    for n in range(count):
        region = EXTRA_REGIONS[n % len(EXTRA_REGIONS)]
        made.append(
            Connection(
                f"pc-gen{n:06d}{rng.randrange(16**6):06x}", region, "Enabled", f"ap-{region}-gen-A",
                rng.choice(("CT", "CU", "CM", "Equinix", "Other")), f"Data center {n}",
                bandwidth=rng.choice((100, 1000, 10000)), name=f"gen-{n}", created=now, enabled=now,
            )
        )  # fmt: skip
    return made
