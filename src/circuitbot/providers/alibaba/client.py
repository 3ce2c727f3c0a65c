"""Client of Alibaba Cloud Express Connect: physical connections and the VBRs on them.

Each action is one RPC call (``rpc``). What this module adds:

* **Paging.** ``DescribePhysicalConnections`` is read at ``PageSize`` 50, the documented maximum:
  the first page says ``TotalCount``, the rest are read a few at a time.
* **Filters.** At most five ``Filter.N.Key`` per call, each with at most five values
  (``Filter.N.Value.M``); more is refused here rather than by the service.
* **Regions.** A physical connection id does not say its region. The client remembers the
  region each listing showed an id in; an id it has not seen is looked for with the
  ``PhysicalConnectionId`` filter in each of the watched regions.
* **ClientToken.** Every change carries one (the caller's, e.g. the approval request's id, so
  that a retry after a crash is the same request to Alibaba too).
* **Following.** Enable and Terminate answer at once and finish later; ``wait_for`` reads the
  connection until it reached the end state (or stopped moving), on the injected clock.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from circuitbot.clock import Clock, SystemClock

from . import models as m
from .errors import AlibabaError, AlibabaOperationTimeout, NotFound
from .rpc import Credentials, Rpc, SignatureVersion

PAGE_SIZE = 50  # the documented maximum
PAGES_AT_ONCE = 4  # pages of one listing read side by side once the first gave the total
MAX_FILTERS = 5
MAX_FILTER_VALUES = 5

Filters = Mapping[str, Sequence[str]]
ModelT = TypeVar("ModelT", bound=BaseModel)


def filter_params(filters: Filters) -> dict[str, str]:
    """``{"Status": ["Enabled"]}`` as ``Filter.1.Key=Status&Filter.1.Value.1=Enabled``."""
    if len(filters) > MAX_FILTERS:
        raise ValueError(f"at most {MAX_FILTERS} filters in one call, not {len(filters)}")
    params: dict[str, str] = {}
    for n, (key, values) in enumerate(filters.items(), start=1):
        if not values or len(values) > MAX_FILTER_VALUES:
            raise ValueError(f"a filter takes 1 to {MAX_FILTER_VALUES} values; {key} has {len(values)}")
        params[f"Filter.{n}.Key"] = key
        for i, value in enumerate(values, start=1):
            params[f"Filter.{n}.Value.{i}"] = value
    return params


def new_client_token() -> str:
    return str(uuid.uuid4())


def parsed(model: type[ModelT], body: dict[str, Any], action: str) -> ModelT:
    """``body`` as ``model``; an answer of another shape is an error naming the action."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise AlibabaError(
            status=200,
            code="InvalidResponse",
            message=f"the answer to {action} is not as documented ({exc.error_count()} field error(s))",
            request_id=str(body.get("RequestId") or "") or None,
        ) from None


class AlibabaClient:
    """Physical connections in ``regions`` (the first is the default for creating)."""

    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: SecretStr | str,
        regions: Sequence[str],
        security_token: SecretStr | str | None = None,
        signature_version: SignatureVersion = "v3",
        endpoint: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        poll_interval: float = 10.0,
        operation_timeout: float = 3600.0,
        max_attempts: int = 5,
        seed: int | None = None,
    ) -> None:
        if not regions:
            raise ValueError("at least one region is needed")
        self.regions = list(dict.fromkeys(regions))
        self.clock = clock or SystemClock()
        self.poll_interval = poll_interval
        self.operation_timeout = operation_timeout
        self._region_of: dict[str, str] = {}
        self.rpc = Rpc(
            Credentials(access_key_id, access_key_secret, security_token),
            signature_version=signature_version,
            endpoint=endpoint,
            clock=self.clock,
            transport=transport,
            max_attempts=max_attempts,
            seed=seed,
        )

    async def __aenter__(self) -> AlibabaClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.rpc.aclose()

    @property
    def default_region(self) -> str:
        return self.regions[0]

    # --- reads ----------------------------------------------------------------------------------

    async def describe_page(
        self, region: str, *, page: int = 1, page_size: int = PAGE_SIZE, filters: Filters | None = None
    ) -> m.DescribePhysicalConnectionsResponse:
        """One page of ``DescribePhysicalConnections``."""
        params: dict[str, Any] = {"PageNumber": page, "PageSize": min(page_size, PAGE_SIZE)}
        params.update(filter_params(filters or {}))
        body = await self.rpc.call("DescribePhysicalConnections", region, params)
        answer = parsed(m.DescribePhysicalConnectionsResponse, body, "DescribePhysicalConnections")
        for item in answer.items:
            self._region_of[item.physical_connection_id] = region
        return answer

    async def list_region(self, region: str, filters: Filters | None = None) -> list[m.PhysicalConnection]:
        """Every physical connection in ``region`` that matches ``filters``, all pages.

        The first page gives ``TotalCount``; the others are then read ``PAGES_AT_ONCE`` at a time.
        A connection created or deleted meanwhile may shift one onto another page: duplicates are
        dropped, and one skipped shows at the next listing.
        """
        first = await self.describe_page(region, page=1, filters=filters)
        pages = math.ceil(first.total_count / PAGE_SIZE)
        if len(first.items) < PAGE_SIZE or pages <= 1:
            return first.items
        slots = asyncio.Semaphore(PAGES_AT_ONCE)

        async def page(number: int) -> list[m.PhysicalConnection]:
            async with slots:
                return (await self.describe_page(region, page=number, filters=filters)).items

        rest = await asyncio.gather(*(page(n) for n in range(2, pages + 1)))
        unique: dict[str, m.PhysicalConnection] = {}
        for items in (first.items, *rest):
            for connection in items:
                unique.setdefault(connection.physical_connection_id, connection)
        return list(unique.values())

    async def list_connections(
        self, filters: Filters | None = None, regions: Sequence[str] | None = None
    ) -> list[m.PhysicalConnection]:
        """Every matching physical connection in ``regions`` (default: all watched ones)."""
        items: list[m.PhysicalConnection] = []
        for region in regions or self.regions:
            items.extend(await self.list_region(region, filters))
        return items

    def known_region(self, pc_id: str) -> str | None:
        """The region a listing last showed ``pc_id`` in, without asking Alibaba."""
        return self._region_of.get(pc_id)

    async def find(self, pc_id: str, region: str | None = None) -> m.PhysicalConnection | None:
        """The physical connection ``pc_id`` (in ``region``, its known one, or any watched one)."""
        regions = [region] if region else _first(self._region_of.get(pc_id), self.regions)
        for each in regions:
            answer = await self.describe_page(each, page_size=1, filters={"PhysicalConnectionId": [pc_id]})
            found = next((i for i in answer.items if i.physical_connection_id == pc_id), None)
            if found is not None:
                return found
        return None

    async def get(self, pc_id: str, region: str | None = None) -> m.PhysicalConnection:
        found = await self.find(pc_id, region)
        if found is None:
            where = region or ", ".join(self.regions)
            raise NotFound(
                status=404,
                code="InvalidPhysicalConnectionId.NotFound",
                message=f"The PhysicalConnectionId {pc_id} does not exist in {where}.",
            )
        return found

    async def region_of(self, pc_id: str, region: str | None = None) -> str:
        if region:
            return region
        known = self._region_of.get(pc_id)
        if known:
            return known
        await self.get(pc_id)
        return self._region_of[pc_id]

    async def list_vbrs(self, pc_id: str, region: str | None = None) -> list[m.VirtualBorderRouter]:
        """The VBRs on ``pc_id`` (DescribeVirtualBorderRoutersForPhysicalConnection), all pages."""
        region = await self.region_of(pc_id, region)
        items: list[m.VirtualBorderRouter] = []
        page = 1
        while True:
            params = {"PhysicalConnectionId": pc_id, "PageNumber": page, "PageSize": PAGE_SIZE}
            body = await self.rpc.call("DescribeVirtualBorderRoutersForPhysicalConnection", region, params)
            answer = parsed(m.DescribeVbrsResponse, body, "DescribeVirtualBorderRoutersForPhysicalConnection")
            items.extend(answer.items)
            if not answer.items or len(items) >= answer.total_count or len(answer.items) < PAGE_SIZE:
                return items
            page += 1

    # --- changes --------------------------------------------------------------------------------

    async def create(self, region: str, fields: Mapping[str, Any], *, client_token: str | None = None) -> str:
        """CreatePhysicalConnection with the wire ``fields``; the new id."""
        body = await self.rpc.call(
            "CreatePhysicalConnection", region, fields, client_token=client_token or new_client_token()
        )
        created = parsed(m.CreatePhysicalConnectionResponse, body, "CreatePhysicalConnection")
        self._region_of[created.physical_connection_id] = region
        return created.physical_connection_id

    async def modify(
        self,
        pc_id: str,
        fields: Mapping[str, Any],
        *,
        region: str | None = None,
        client_token: str | None = None,
    ) -> None:
        await self._change("ModifyPhysicalConnectionAttribute", pc_id, region, client_token, fields)

    async def cancel(self, pc_id: str, *, region: str | None = None, client_token: str | None = None) -> None:
        await self._change("CancelPhysicalConnection", pc_id, region, client_token)

    async def enable(self, pc_id: str, *, region: str | None = None, client_token: str | None = None) -> None:
        await self._change("EnablePhysicalConnection", pc_id, region, client_token)

    async def terminate(
        self, pc_id: str, *, region: str | None = None, client_token: str | None = None
    ) -> None:
        await self._change("TerminatePhysicalConnection", pc_id, region, client_token)

    async def delete(self, pc_id: str, *, region: str | None = None, client_token: str | None = None) -> None:
        await self._change("DeletePhysicalConnection", pc_id, region, client_token)
        self._region_of.pop(pc_id, None)

    async def _change(
        self,
        action: str,
        pc_id: str,
        region: str | None,
        client_token: str | None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        region = await self.region_of(pc_id, region)
        params = {**(fields or {}), "PhysicalConnectionId": pc_id}
        await self.rpc.call(action, region, params, client_token=client_token or new_client_token())

    async def wait_for(
        self, pc_id: str, wanted: str, *, moving: Sequence[str], region: str | None = None
    ) -> m.PhysicalConnection:
        """Read ``pc_id`` until its Status is ``wanted``; while it is one of ``moving`` keep
        reading (every ``poll_interval`` s, for ``operation_timeout`` s at most). Any other
        status ends the wait: the caller says what that means."""
        deadline = self.clock.monotonic() + self.operation_timeout
        while True:
            found = await self.get(pc_id, region)
            if found.is_(wanted) or not found.is_(*moving):
                return found
            if self.clock.monotonic() >= deadline:
                raise AlibabaOperationTimeout(
                    f"{pc_id} was still {found.status} after {self.operation_timeout:g} s"
                )
            await self.clock.sleep(self.poll_interval)


def _first(known: str | None, regions: Sequence[str]) -> list[str]:
    return [known, *(r for r in regions if r != known)] if known else list(regions)
