"""The contract every provider in the catalog keeps (``circuitbot.providers.spec``).

Parametrised over ``catalog.PROVIDERS``: a new provider gets these tests by being listed there.
They run the provider as the bot does, on its sandbox simulator through its real client, the
router and the watch engine, and check what the rest of the bot relies on: a complete spec,
``list`` and ``show`` that render, mutating operations the approval flow can drive, a poller
whose two strategies agree, a simulator that answers errors in the provider's own shape, a
vocabulary of its own, and replies that are valid Block Kit within Slack's limits.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy import select

from circuitbot.bootstrap import build_registry, build_runtime
from circuitbot.chat.reply import Reply
from circuitbot.chat.router import Router
from circuitbot.clock import FakeClock
from circuitbot.providers import catalog
from circuitbot.providers.base import Poller, normalize_resource_id, normalize_state
from circuitbot.providers.legs import KeyedProvider
from circuitbot.providers.spec import ProviderSpec
from circuitbot.runtime import Runtime
from circuitbot.sandbox.faults import FaultConfig, QueuedFault
from circuitbot.sandbox.world import World
from circuitbot.settings import Settings
from circuitbot.store.tables import AuditEvent
from support.blockkit import assert_valid_block_kit

T = TypeVar("T")
WORD = re.compile(r"^[a-z][a-z0-9]*$")


@pytest.fixture(params=catalog.PROVIDERS, ids=lambda spec: spec.name)
def spec(request: pytest.FixtureRequest) -> ProviderSpec:
    return request.param


@dataclass
class Surface:
    acks: list[Reply | None] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)

    async def reply(self, reply: Reply) -> None:
        self.replies.append(reply)

    async def open_modal(self, view: dict[str, Any]) -> str:
        return "V1"

    async def update_modal(self, view_id: str, view: dict[str, Any]) -> None:
        return None

    @property
    def shown(self) -> list[Reply]:
        return [r for r in self.acks if r is not None] + self.replies

    @property
    def text(self) -> str:
        return "\n".join(r.text + json.dumps(r.blocks, ensure_ascii=False) for r in self.shown)


@dataclass
class Sandbox:
    runtime: Runtime
    clock: FakeClock

    async def drive(self, awaitable: Awaitable[T]) -> T:
        return await self.clock.run_until(awaitable)

    async def command(self, text: str, user: str = "UREQ") -> Surface:
        surface = Surface()

        async def ack(reply: Reply | None) -> None:
            surface.acks.append(reply)

        router = Router(self.runtime)
        await self.drive(
            router.handle_command(text, user_id=user, channel_id="CGENERAL", surface=surface, ack=ack)
        )
        assert len(surface.acks) == 1, "the router acks exactly once"
        for reply in surface.shown:
            assert_valid_block_kit(reply)
        return surface


@pytest.fixture
async def sandbox(tmp_path) -> AsyncIterator[Sandbox]:
    clock = FakeClock()
    settings = Settings(data_dir=tmp_path, requesters=["UREQ"], approvers=["UAPP1"])
    runtime = await build_runtime(settings, sandbox=True, clock=clock)
    try:
        yield Sandbox(runtime, clock)
    finally:
        await runtime.close()


# --- the spec itself ------------------------------------------------------------------------------


def test_the_spec_is_complete(spec: ProviderSpec) -> None:
    assert WORD.match(spec.name)
    assert spec.aliases and all(WORD.match(alias) for alias in spec.aliases)
    assert spec.title and "\n" not in spec.title and len(spec.title) <= 150
    defaults = spec.settings_model()
    assert isinstance(defaults, BaseModel)
    assert spec.configured(defaults) is False, "with no credentials set, a provider is not configured"
    timings = spec.sandbox_timings
    assert timings.operation_seconds > 0 and timings.table_seconds > 0 and timings.retry_after_seconds > 0
    assert spec.simulator_class.provider == spec.name
    samples = spec.sample_ids(World.demo())
    assert samples.present and samples.absent not in samples.present


def test_names_and_aliases_name_one_provider_each() -> None:
    words = [word for spec in catalog.PROVIDERS for word in (spec.name, *spec.aliases)]
    assert len(words) == len(set(words))
    for spec in catalog.PROVIDERS:
        assert all(catalog.spec_of(word) is spec for word in (spec.name, *spec.aliases))


def test_the_vocabulary_is_the_providers_own(spec: ProviderSpec) -> None:
    vocabulary = spec.vocabulary
    assert vocabulary.in_flight, "a provider has states in flight (polled fast)"
    assert not vocabulary.in_flight & vocabulary.terminal
    assert all(normalize_state(state) == state for state in vocabulary.in_flight | vocabulary.terminal)
    for state in vocabulary.in_flight:
        assert vocabulary.is_transitional({"state": state})
    for state in vocabulary.terminal:
        assert vocabulary.terminal_state({"state": state}) == state


# --- operations -----------------------------------------------------------------------------------


def test_list_and_show_exist_and_show_takes_the_id_first(spec: ProviderSpec) -> None:
    registry = build_registry()
    listing, show = registry.get(spec.name, "list"), registry.get(spec.name, "show")
    assert listing is not None and not listing.mutating
    assert show is not None and not show.mutating
    first = show.params.positional[0]
    assert show.params.model_fields[first].is_required()


def test_every_mutating_operation_can_go_through_an_approval(spec: ProviderSpec) -> None:
    mutating = [op for op in build_registry().for_provider(spec.name) if op.mutating]
    for op in mutating:
        missing = [part for part in ("preview", "follow") if getattr(op, part) is None]
        if op.verify is None and op.resume is None:  # recovery after a crash needs one of them
            missing.append("verify")
        assert not missing, f"{op.name} lacks {', '.join(missing)}"
        assert callable(op.execute) and op.summary


async def test_help_list_and_show_render_within_slacks_limits(spec: ProviderSpec, sandbox: Sandbox) -> None:
    resource = spec.sample_ids(sandbox.runtime.sandbox[spec.name].world).present[0]
    alias = spec.aliases[0]
    texts = [
        "help",
        f"help {spec.name}",
        f"list {spec.name}",
        f"{alias} list",
        f"show {alias} {resource}",
        f"{spec.name} show {resource}",
        *(f"help {alias} {op.verb}" for op in sandbox.runtime.registry.for_provider(spec.name)),
    ]
    for text in texts:
        surface = await sandbox.command(text)
        assert ":warning:" not in surface.text, f"{text!r} answered {surface.text}"
    shown = await sandbox.command(f"show {alias} {resource}")
    assert resource.lower() in shown.text.lower()


async def test_show_of_an_absent_resource_says_so_plainly(spec: ProviderSpec, sandbox: Sandbox) -> None:
    absent = spec.sample_ids(World.demo()).absent
    surface = await sandbox.command(f"show {spec.name} {absent}")
    assert ":warning:" in surface.text
    assert "Traceback" not in surface.text and "Exception" not in surface.text


# --- the poller -----------------------------------------------------------------------------------


async def test_the_poller_strategies_agree_on_the_same_world(spec: ProviderSpec, sandbox: Sandbox) -> None:
    poller = sandbox.runtime.pollers[spec.name]
    assert isinstance(poller, Poller) and poller.provider == spec.name
    samples = spec.sample_ids(sandbox.runtime.sandbox[spec.name].world)
    ids = [normalize_resource_id(poller, rid) for rid in (*samples.present[:5], samples.absent)]
    assert [normalize_resource_id(poller, rid) for rid in ids] == ids, "normalize is idempotent"

    begin_sweep = getattr(poller, "begin_sweep", None)
    if callable(begin_sweep):
        begin_sweep()
    many = await sandbox.drive(poller.snapshot_many(ids))
    one = {rid: await sandbox.drive(poller.snapshot_one(rid)) for rid in ids}

    assert many == one
    assert one[ids[-1]] is None, "the absent resource reads as gone"
    for rid in ids[:-1]:
        snapshot = one[rid]
        assert snapshot and all(isinstance(k, str) and isinstance(v, str) for k, v in snapshot.items())
        assert poller.describe(rid, snapshot)


async def test_a_watch_by_alias_is_stored_and_audited_under_the_providers_name(
    spec: ProviderSpec, sandbox: Sandbox
) -> None:
    resource = spec.sample_ids(sandbox.runtime.sandbox[spec.name].world).present[0]
    surface = await sandbox.command(f"watch {spec.aliases[0]} {resource}")
    assert "Watching" in surface.text
    assert sandbox.runtime.vocabulary(spec.name) is spec.vocabulary

    query = select(AuditEvent.target).where(AuditEvent.action == "command")
    async with sandbox.runtime.db.session() as session:
        targets = (await session.scalars(query)).all()
    assert targets == [f"{spec.name}:{resource}"]


# --- the simulator --------------------------------------------------------------------------------


def _shape(value: Any) -> Any:
    """The structure of a JSON value: keys all the way down, no values."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


async def test_the_simulator_answers_errors_in_the_providers_own_shape(spec: ProviderSpec) -> None:
    sim = spec.simulator(World.demo(), FakeClock())
    expected, _ = sim.error_body(404, "NotFound", "no such thing")
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sandbox.invalid") as client:
        headers = {"Authorization": "Bearer any"}
        unknown = await client.get("/no/such/path", headers=headers)
        sim.faults = FaultConfig(fail_next=[QueuedFault(status=500)])
        faulted = await asyncio.wait_for(client.get("/no/such/path", headers=headers), 5)

    assert unknown.status_code == 404 and _shape(unknown.json()) == _shape(expected)
    assert faulted.status_code == 500 and _shape(faulted.json()) == _shape(expected)


async def test_a_keyed_provider_finds_the_worlds_legs_by_service_key(
    spec: ProviderSpec, sandbox: Sandbox
) -> None:
    """Where a provider can be searched by an Azure service key (``providers.legs``), every circuit
    of the demo world with a leg there is found by its key, and an unknown key finds nothing."""
    if not isinstance(spec, KeyedProvider):
        pytest.skip(f"{spec.name} holds no Azure service keys")
    assert spec.label and spec.name == spec.name.lower()
    client = sandbox.runtime.providers[spec.name]
    world = World.demo()
    carried = [c for c in world.circuits if spec.name == "azure" or spec.name in c.carriers][:5]
    assert carried, "the demo world has circuits with a leg at every keyed provider"
    for circuit in carried:
        legs = await sandbox.drive(spec.legs_for_key(client, circuit.service_key.upper()))
        assert legs and all(leg.provider == spec.name for leg in legs), circuit.service_key
        assert all(leg.states and leg.name and leg.resource_id for leg in legs)
    assert list(await sandbox.drive(spec.legs_for_key(client, spec.sample_ids(world).absent))) == []
