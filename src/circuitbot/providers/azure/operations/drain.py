"""``az drain <port-pair> [at=…]``: take a port pair out of service by moving every circuit off it.

The preview plans the moves: the circuits on the pair, largest first, each to the pair at the
same peering location with the most headroom after the moves planned before it; a plan where
some circuit fits nowhere is refused, naming them. The plan (circuit → pair, ports, its etag as
read) is the request's precondition, so the approver approves exactly these moves, once.

It runs one circuit at a time, each with the same whole-resource PUT, If-Match (the etag the
plan read) and follow-up as a single ``az move``, and stops at the first failure, leaving the
rest unmoved and saying so. Progress goes to the request's thread. A circuit already on its
planned pair is skipped, so ``resume`` (recovery after a crash) finishes what is left without
moving any circuit twice; one changed since the plan (another etag, on neither pair) stops it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field

from circuitbot.actions.registry import (
    OpContext,
    Operation,
    OperationError,
    Params,
    Preview,
    Refused,
    Registry,
)
from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply
from circuitbot.providers.azure import models as m
from circuitbot.providers.azure import render
from circuitbot.providers.azure.operations.common import PROVIDER, azure_errors, client_of, region
from circuitbot.providers.azure.operations.placement import ports_of, remaining


class DrainParams(Params):
    positional = ("port_pair",)
    port_pair: str = Field(description="the port pair to take out of service")

    def target(self) -> str:
        return f"azure:pair:{self.port_pair}"


@dataclass
class Move:
    key: str
    bandwidth: int
    etag: str | None
    to: str
    primary: str
    secondary: str
    before: int  # the target's headroom before this move (after the moves planned earlier)

    @property
    def after(self) -> int:
        return self.before - self.bandwidth


def plan(
    circuits: list[tuple[str, int, str | None]], pairs: list[m.ExpressRouteProviderPort]
) -> tuple[list[Move], list[tuple[str, int]]]:
    """Circuits (key, bandwidth, etag) onto ``pairs`` (the other pairs of the location): the moves,
    and the circuits that fit nowhere."""
    free = {p.descriptor or "": remaining(p) for p in pairs}
    by_name = {p.descriptor or "": p for p in pairs}
    moves, misfits = [], []
    for key, bandwidth, etag in sorted(circuits, key=lambda c: (-c[1], c[0])):
        best = max(sorted(free), key=lambda d: free[d], default=None)
        if best is None or free[best] < bandwidth:
            misfits.append((key, bandwidth))
            continue
        primary, secondary = ports_of(by_name[best])
        moves.append(Move(key, bandwidth, etag, best, primary, secondary, free[best]))
        free[best] -= bandwidth
    return moves, misfits


async def drain_preview(ctx: OpContext, params: DrainParams) -> Preview:
    client = client_of(ctx)
    async with azure_errors():
        pair = await client.get_provider_port(params.port_pair)
        if pair is None:
            raise Refused(f"no port pair `{params.port_pair}`; `az ports` lists them")
        location = render.pair_properties(pair).peering_location
        listed = await client.list_provider_ports(location)
        circuits = await client.list_cross_connections()
    here = ports_of(pair)
    others = [
        p
        for p in listed
        if region(render.pair_properties(p).peering_location) == region(location)
        and (p.descriptor or "").lower() != (pair.descriptor or "").lower()
    ]
    on_pair = []
    for circuit in circuits:
        props = render.cc_properties(circuit)
        if (props.primary_azure_port or "", props.secondary_azure_port or "") == here and circuit.name:
            on_pair.append((circuit.name, props.bandwidth_in_mbps or 0, circuit.etag))
    if not on_pair:
        raise Refused(f"no circuit is on port pair {pair.descriptor}: nothing to drain")
    moves, misfits = plan(on_pair, others)
    if misfits:
        names = ", ".join(f"{key} ({render.mbps(bw)})" for key, bw in misfits)
        room = (
            "; ".join(f"{p.descriptor}: {render.mbps(remaining(p))} free" for p in others) or "no other pair"
        )
        raise Refused(f"{location} lacks room to drain {pair.descriptor}: {names} fit nowhere ({room})")
    return Preview(
        summary=f"drain port pair {pair.descriptor}: move its {len(moves)} circuit(s), one at a time",
        changes=[
            (m_.key, pair.descriptor, f"{m_.to} ({render.mbps(m_.before)} → {render.mbps(m_.after)} free)")
            for m_ in moves
        ],
        precondition={"pair": pair.descriptor, "moves": [vars(m_) for m_ in moves]},
        notes=[
            f"Stops at the first failure, leaving the rest on {pair.descriptor}; "
            "progress goes to this thread."
        ],
    )


def _moves(ctx: OpContext) -> list[Move]:
    planned = (ctx.precondition or {}).get("moves")
    if not isinstance(planned, list) or not planned:
        raise OperationError("the request does not say which moves it approved; request it again")
    return [Move(**item) for item in planned]


async def _say(ctx: OpContext, text: str) -> None:
    if ctx.progress is not None:
        await ctx.progress(text)


async def drain_execute(ctx: OpContext, params: DrainParams) -> Reply:
    """The planned moves, one at a time; stops at the first failure (an OperationError saying
    which circuits moved and which did not). A circuit already on its planned pair is skipped."""
    moves, client = _moves(ctx), client_of(ctx)
    done: list[str] = []
    for number, move in enumerate(moves, 1):
        try:
            moved = await _move_one(ctx, client, move, number, len(moves))
        except OperationError as exc:
            left = [m_.key for m_ in moves[number - 1 :]]
            await _say(ctx, f":red_circle: stopped at {move.key}: {exc} Not moved: {', '.join(left)}.")
            raise OperationError(
                f"the drain stopped at {move.key} ({exc}); moved: {', '.join(done) or 'none'}; "
                f"not moved: {', '.join(left)}"
            ) from None
        done.append(move.key)
        if moved:
            await _say(ctx, f":white_check_mark: {number}/{len(moves)} {move.key} moved to {move.to}.")
    text = f"Port pair {params.port_pair} drained: {len(moves)} circuit(s) moved."
    rows = [(m_.key, m_.to, f"{m_.before:,} → {m_.after:,} Mbps") for m_ in moves]
    return Reply(
        text=text,
        blocks=[bk.section(text), *bk.code_sections(bk.table(("circuit", "now on", "headroom"), rows))],
    )


async def _move_one(ctx: OpContext, client: Any, move: Move, number: int, count: int) -> bool:
    """Move one circuit as ``az move`` does; False when it was already on its planned pair."""
    async with azure_errors(move.key):
        before = await client.get_cross_connection(move.key)
        props = render.cc_properties(before.model)
        ports = ((props.primary_azure_port or "").lower(), (props.secondary_azure_port or "").lower())
        if ports == (move.primary.lower(), move.secondary.lower()):
            return False  # moved before a restart: never twice
        if move.etag is not None and before.etag != move.etag:
            raise OperationError(f"{move.key} changed since the plan was approved (its etag differs)")
        await _say(ctx, f":gear: {number}/{count} moving {move.key} to {move.to}…")
        target = m.ExpressRouteProviderPort.model_validate(
            {
                "name": move.to,
                "properties": {
                    "portPairDescriptor": move.to,
                    "primaryAzurePort": move.primary,
                    "secondaryAzurePort": move.secondary,
                },
            }
        )
        await client.move_to_port_pair(before, target, if_match=before.etag)
    return True


def drain_follow(params: DrainParams, result: Any) -> None:
    """Nothing to watch as a whole: the pair is empty, and each circuit's move was followed to its end."""
    return None


DRAIN = Operation(
    provider=PROVIDER,
    verb="drain",
    summary="move every circuit off a port pair (for maintenance), one at a time",
    params=DrainParams,
    execute=drain_execute,
    resume=drain_execute,
    follow=drain_follow,
    mutating=True,
    preview=drain_preview,
    help=(
        "Plans each circuit's move to the pair at the same peering location with the most headroom "
        "after the moves before it, and refuses when the location lacks room. Approved once, it runs "
        "one circuit at a time (in its window with at=), stopping at the first failure."
    ),
    examples=(
        "/circuit az drain bvtazureixpportpair1",
        '/circuit az drain bvtazureixpportpair1 at="sat 02:00"',
    ),
)


def register(registry: Registry) -> None:
    registry.add(DRAIN)
