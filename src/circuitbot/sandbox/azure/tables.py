"""A peering's device tables: ARP, routes and the routes summary, as the edge routers would show them.

ARP, route and route-summary POSTs answer in each of the shapes the spec examples and the
research allow, taking turns through ``table_answers``: 202 with only ``Azure-AsyncOperation``
(the examples; the table then comes in the final operation status), 202 with only ``Location``
(``final-state-via: location``; the table comes from it), or 200 with the table at once.
The rows follow the peering: only an enabled, provisioned peering has a customer side to show.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from circuitbot.sandbox.azure.arm import ArmError, json_response
from circuitbot.sandbox.azure.state import PEERING_PATH, CrossConnection, ExpressRouteState, Peering

TABLES = ("arpTables", "routeTables", "routeTablesSummary")
TABLE_ANSWERS = ("async-operation", "location", "immediate")
DEVICE_PATHS = ("primary", "secondary")


def check_table_answers(table_answers: Sequence[str]) -> tuple[str, ...]:
    unknown = set(table_answers) - set(TABLE_ANSWERS)
    if not table_answers or unknown:
        raise ValueError(f"table_answers are some of {', '.join(TABLE_ANSWERS)}")
    return tuple(table_answers)


class TableRoutes(ExpressRouteState):
    table_seconds: float
    table_answers: tuple[str, ...]  # may be reassigned; taken in turn from the next POST
    _tables_answered: int

    def table_routes(self) -> list[Route]:
        return [
            Route(f"{PEERING_PATH}/{{table}}/{{devicePath}}", self._arm(self._post_table), methods=["POST"]),
        ]

    async def _post_table(self, request: Request) -> Response:
        subscription_id = request.path_params["subscriptionId"]
        table = request.path_params["table"]
        device_path = request.path_params["devicePath"]
        if table not in TABLES:
            raise ArmError(404, "NotFound", f"No resource matches POST {request.url.path}.")
        cross_connection = self._find(request)
        peering = self._peering(cross_connection, request)
        if device_path not in DEVICE_PATHS:
            raise ArmError(
                400,
                "InvalidDevicePath",
                f"The device path must be primary or secondary, not '{device_path}'.",
                target="devicePath",
            )

        def succeed() -> dict[str, Any]:
            return {"value": self._table_rows(cross_connection, peering, table, device_path)}

        answer = self.table_answers[self._tables_answered % len(self.table_answers)]
        self._tables_answered += 1
        if answer == "immediate":
            return json_response(succeed())
        operation = self._start(cross_connection.location, self.table_seconds, succeed)
        headers = self._lro_headers(
            request,
            subscription_id,
            operation,
            location=answer == "location",
            async_operation=answer == "async-operation",
        )
        return Response(status_code=202, headers=headers)

    def _table_rows(
        self, cross_connection: CrossConnection, peering: Peering, table: str, device_path: str
    ) -> list[dict[str, Any]]:
        properties = peering.properties
        prefix = properties.get(f"{device_path}PeerAddressPrefix") or "0.0.0.0/30"
        customer_ip, microsoft_ip = (
            str(host) for host in list(ipaddress.ip_network(prefix, strict=False).hosts())[:2]
        )
        up = (
            properties.get("state") == "Enabled"
            and properties.get("provisioningState") == "Succeeded"
            and cross_connection.provider_state == "Provisioned"
        )
        uptime = self.clock.now() - peering.enabled_at if up and peering.enabled_at else None
        seed = f"{cross_connection.name}/{peering.name}/{device_path}"
        if table == "arpTables":
            return _arp_rows(seed, customer_ip, microsoft_ip, uptime, up)
        networks = _advertised_networks(cross_connection.name, properties) if up else []
        if table == "routeTables":
            return _route_rows(networks, customer_ip, properties.get("peerASN", ""))
        return [_summary_row(customer_ip, properties.get("peerASN"), networks, uptime, up)]


def _arp_rows(
    seed: str, customer_ip: str, microsoft_ip: str, uptime: timedelta | None, up: bool
) -> list[dict[str, Any]]:
    """Microsoft's side always; the customer's once the session is up, aged by its uptime."""
    rows: list[dict[str, Any]] = [
        {"age": 0, "interface": "Microsoft", "ipAddress": microsoft_ip, "macAddress": _mac(seed + "/ms")}
    ]
    if up:
        minutes = int(uptime.total_seconds() // 60) % 240 if uptime else 0
        rows.append(
            {
                "age": minutes,
                "interface": "On-Prem",
                "ipAddress": customer_ip,
                "macAddress": _mac(seed + "/onprem"),
            }
        )
    return rows


def _route_rows(networks: list[str], next_hop: str, peer_asn: Any) -> list[dict[str, Any]]:
    return [
        {"network": network, "nextHop": next_hop, "locPrf": "", "weight": 0, "path": str(peer_asn)}
        for network in networks
    ]


def _summary_row(
    neighbor: str, peer_asn: Any, networks: list[str], uptime: timedelta | None, up: bool
) -> dict[str, Any]:
    return {
        "neighbor": neighbor,
        "asn": peer_asn,
        "upDown": _up_down(uptime) if uptime is not None else "never",
        "stateOrPrefixesReceived": str(len(networks)) if up else "Active",
    }


def _mac(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).hexdigest()[:12]
    return f"{digest[0:4]}.{digest[4:8]}.{digest[8:12]}"


def _advertised_networks(service_key: str, properties: dict[str, Any]) -> list[str]:
    """What the customer's router announces: Microsoft peering's public prefixes, or two private /16s."""
    config = properties.get("microsoftPeeringConfig")
    if isinstance(config, dict) and config.get("advertisedPublicPrefixes"):
        return [str(p) for p in config["advertisedPublicPrefixes"]]
    second_octet = int(hashlib.sha256(service_key.encode()).hexdigest()[:4], 16) % 200 + 20
    return [f"10.{second_octet}.0.0/16", f"10.{second_octet + 1}.0.0/16"]


def _up_down(uptime: timedelta) -> str:
    """BGP session uptime as routers print it: "1d14h" past a day, else "hh:mm:ss"."""
    seconds = int(uptime.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    if days:
        return f"{days}d{hours}h"
    minutes, seconds = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}"
