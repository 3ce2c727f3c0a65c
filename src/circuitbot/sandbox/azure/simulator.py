"""The Azure ARM simulator for the ExpressRoute partner resources, put together from its route groups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from starlette.routing import BaseRoute

from circuitbot.clock import Clock
from circuitbot.sandbox.azure.arm import DEFAULT_PAGE_SIZE
from circuitbot.sandbox.azure.catalog import CatalogRoutes
from circuitbot.sandbox.azure.cross_connections import CrossConnectionRoutes
from circuitbot.sandbox.azure.peerings import PeeringRoutes
from circuitbot.sandbox.azure.tables import TABLE_ANSWERS, TableRoutes, check_table_answers
from circuitbot.sandbox.base import SandboxOption
from circuitbot.sandbox.faults import FaultConfig
from circuitbot.sandbox.world import World


class AzureSimulator(CrossConnectionRoutes, PeeringRoutes, TableRoutes, CatalogRoutes):
    provider: ClassVar[str] = "azure"
    options: ClassVar[tuple[SandboxOption, ...]] = (
        SandboxOption(
            "--arm-throttling",
            "on|off",
            "azure: ARM's subscription limits per principal (on, the default; off for load tests)",
            single=True,
        ),
    )

    def __init__(
        self,
        world: World,
        clock: Clock,
        faults: FaultConfig | None = None,
        *,
        operation_seconds: float = 30.0,
        table_seconds: float = 5.0,
        retry_after_seconds: int = 10,
        page_size: int = DEFAULT_PAGE_SIZE,
        table_answers: Sequence[str] = TABLE_ANSWERS,
        conditional_headers: bool = True,
    ) -> None:
        self.table_answers = check_table_answers(table_answers)
        self._tables_answered = 0
        self.table_seconds = table_seconds
        super().__init__(
            world,
            clock,
            faults,
            operation_seconds=operation_seconds,
            retry_after_seconds=retry_after_seconds,
            page_size=page_size,
            conditional_headers=conditional_headers,
        )

    def configure(self, flag: str, values: Sequence[str]) -> None:
        if flag != "--arm-throttling":
            super().configure(flag, values)
        elif values[-1] not in ("on", "off"):
            raise ValueError(f"--arm-throttling is on or off, not {values[-1]!r}")
        elif values[-1] == "off":
            self.throttle.limits = None

    def routes(self) -> list[BaseRoute]:
        return [
            *self.cross_connection_routes(),
            *self.peering_routes(),
            *self.table_routes(),
            *self.operation_routes(),
            *self.catalog_routes(),
        ]
