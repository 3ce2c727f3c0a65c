"""Peering routes of a cross-connection: list, GET, PUT and DELETE, each write long-running.

A peering is named after its type. It can be configured once the provider has set the
cross-connection to ``Provisioned``; it starts ``Disabled`` with ``azureASN`` 0 and becomes
``Enabled`` (or the state asked for) with 12076 when its operation completes. ``If-None-Match: *``
on a peering that exists answers 412. The body's rules are in ``peering_rules``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from circuitbot.sandbox.azure.arm import (
    ArmError,
    json_object,
    json_response,
    no_content,
    operation_in_progress,
)
from circuitbot.sandbox.azure.peering_rules import validate_peering
from circuitbot.sandbox.azure.state import (
    AZURE_ASN,
    CROSS_CONNECTION_PATH,
    PEERING_PATH,
    CrossConnection,
    ExpressRouteState,
    Peering,
)

PEERING_TYPES = ("AzurePrivatePeering", "MicrosoftPeering", "AzurePublicPeering")
_BUSY = ("Updating", "Deleting")


class PeeringRoutes(ExpressRouteState):
    def peering_routes(self) -> list[Route]:
        return [
            Route(f"{CROSS_CONNECTION_PATH}/peerings", self._arm(self._list_peerings), methods=["GET"]),
            Route(PEERING_PATH, self._arm(self._get_peering), methods=["GET"]),
            Route(PEERING_PATH, self._arm(self._put_peering), methods=["PUT"]),
            Route(PEERING_PATH, self._arm(self._delete_peering), methods=["DELETE"]),
        ]

    async def _list_peerings(self, request: Request) -> Response:
        subscription_id = request.path_params["subscriptionId"]
        cross_connection = self._find(request)
        return self._page(
            request,
            list(cross_connection.peerings.values()),
            lambda peering: self._render_peering(cross_connection, peering, subscription_id),
        )

    async def _get_peering(self, request: Request) -> Response:
        cross_connection = self._find(request)
        peering = self._peering(cross_connection, request)
        return json_response(
            self._render_peering(cross_connection, peering, request.path_params["subscriptionId"])
        )

    async def _put_peering(self, request: Request) -> Response:
        subscription_id = request.path_params["subscriptionId"]
        cross_connection = self._find(request)
        name = request.path_params["peeringName"]
        peering_type = _peering_type(name)
        existing = cross_connection.peerings.get(name.lower())
        self._check_conditions(request, existing.etag if existing else None)
        body = await json_object(request)
        if existing is not None and existing.properties.get("provisioningState") in _BUSY:
            raise self._peering_in_progress(cross_connection, subscription_id, name)
        _check_provisioned(cross_connection)
        properties = validate_peering(body, peering_type, cross_connection, name)
        desired_state = properties.pop("state", None) or "Enabled"
        peering = existing or Peering(peering_type, {}, "")
        peering.properties = _stored_properties(peering_type, properties, existing)
        peering.etag = self._new_etag()
        cross_connection.peerings[name.lower()] = peering
        cross_connection.etag = self._new_etag()
        operation = self._start(
            cross_connection.location,
            self.operation_seconds,
            self._peering_done(cross_connection, peering, desired_state),
            self._peering_failed(peering),
        )
        return json_response(
            self._render_peering(cross_connection, peering, subscription_id),
            status=200 if existing else 201,
            headers=self._lro_headers(request, subscription_id, operation, location=False),
        )

    def _peering_done(
        self, cross_connection: CrossConnection, peering: Peering, desired_state: str
    ) -> Callable[[], None]:
        """What a peering PUT's operation leaves when it succeeds: the service's side filled in."""

        def succeed() -> None:
            current = peering.properties
            current["provisioningState"] = "Succeeded"
            current["azureASN"] = AZURE_ASN
            current["lastModifiedBy"] = "ServiceProvider"
            if desired_state == "Enabled" and current.get("state") != "Enabled":
                peering.enabled_at = self.clock.now()
            current["state"] = desired_state
            ms_config = current.get("microsoftPeeringConfig")
            if isinstance(ms_config, dict):
                # prefixes need a routing registry to validate against
                ms_config["advertisedPublicPrefixesState"] = (
                    "Configured" if ms_config.get("routingRegistryName") else "ValidationNeeded"
                )
            ipv6 = current.get("ipv6PeeringConfig")
            if isinstance(ipv6, dict):
                ipv6.setdefault("state", "Enabled")
            peering.etag = self._new_etag()
            cross_connection.etag = self._new_etag()

        return succeed

    def _peering_failed(self, peering: Peering) -> Callable[[], None]:
        def fail() -> None:
            peering.properties["provisioningState"] = "Failed"
            peering.etag = self._new_etag()

        return fail

    async def _delete_peering(self, request: Request) -> Response:
        subscription_id = request.path_params["subscriptionId"]
        cross_connection = self._find(request)
        name = request.path_params["peeringName"]
        peering = cross_connection.peerings.get(name.lower())
        self._check_conditions(request, peering.etag if peering else None)
        if peering is None:
            return no_content()
        if peering.properties.get("provisioningState") in _BUSY:
            raise self._peering_in_progress(cross_connection, subscription_id, name)
        peering.properties["provisioningState"] = "Deleting"
        peering.etag = self._new_etag()

        def succeed() -> None:
            cross_connection.peerings.pop(name.lower(), None)
            cross_connection.etag = self._new_etag()

        def fail() -> None:
            peering.properties["provisioningState"] = "Failed"

        operation = self._start(cross_connection.location, self.operation_seconds, succeed, fail)
        return Response(
            status_code=202, headers=self._lro_headers(request, subscription_id, operation, location=True)
        )

    def _peering_in_progress(
        self, cross_connection: CrossConnection, subscription_id: str, name: str
    ) -> ArmError:
        return operation_in_progress(
            f"{self._cross_connection_id(cross_connection, subscription_id)}/peerings/{name}"
        )


def _peering_type(name: str) -> str:
    peering_type = next((t for t in PEERING_TYPES if t.lower() == name.lower()), None)
    if peering_type is None:
        raise ArmError(
            400,
            "InvalidPeeringName",
            f"A cross connection peering is named after its type: {', '.join(PEERING_TYPES[:2])}.",
            target="name",
        )
    return peering_type


def _check_provisioned(cross_connection: CrossConnection) -> None:
    if cross_connection.provider_state != "Provisioned":
        raise ArmError(
            400,
            "ServiceProviderNotProvisioned",
            f"Peerings can be configured once the connectivity provider has set the cross connection "
            f"{cross_connection.name} to Provisioned; it is {cross_connection.provider_state}.",
            target="properties.serviceProviderProvisioningState",
        )


def _stored_properties(
    peering_type: str, properties: dict[str, Any], existing: Peering | None
) -> dict[str, Any]:
    """A written peering's properties while its operation runs: the service's side kept as it was."""
    stored: dict[str, Any] = {
        "provisioningState": "Updating",
        "peeringType": peering_type,
        "azureASN": existing.properties.get("azureASN", 0) if existing else 0,
        **properties,
        "primaryAzurePort": "",
        "secondaryAzurePort": "",
        "state": existing.properties.get("state", "Disabled") if existing else "Disabled",
        "gatewayManagerEtag": properties.get("gatewayManagerEtag", ""),
        "lastModifiedBy": existing.properties.get("lastModifiedBy", "") if existing else "",
    }
    config = stored.get("microsoftPeeringConfig")
    if isinstance(config, dict):
        config["advertisedPublicPrefixesState"] = "NotConfigured" if existing is None else "Configuring"
    return stored
