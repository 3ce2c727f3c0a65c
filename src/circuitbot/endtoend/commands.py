"""``/circuit find <service-key>``: every leg of one circuit, at every provider, on one card."""

from __future__ import annotations

from pydantic import Field, field_validator

from circuitbot.actions.registry import OpContext, Operation, Params, Registry, Role
from circuitbot.chat.reply import Reply
from circuitbot.endtoend.finding import CircuitLegs, find_legs
from circuitbot.endtoend.render import circuit_card

# An ARM resource name of at most 80 characters; service keys are GUIDs, but a typo deserves an
# answer from the providers ("found nowhere"), not a lecture on GUIDs.
MAX_KEY_LENGTH = 80


class FindParams(Params):
    positional = ("service_key",)
    service_key: str = Field(description="the Azure ExpressRoute circuit's service key")

    @field_validator("service_key")
    @classmethod
    def _one_word(cls, value: str) -> str:
        value = value.strip()
        if not value or len(value) > MAX_KEY_LENGTH or any(c.isspace() for c in value):
            raise ValueError("give one service key, such as 24e6ea2b-6940-4bec-b0b3-3a9e5471e512")
        return value


async def find_execute(ctx: OpContext, params: FindParams) -> CircuitLegs:
    return await find_legs(ctx.runtime, params.service_key)


def find_render(found: CircuitLegs, params: FindParams, ctx: OpContext) -> Reply:
    return circuit_card(found)


def register(registry: Registry) -> None:
    registry.add(
        Operation(
            provider=None,
            verb="find",
            summary="one circuit end to end: its legs at Azure, Equinix and Console Connect",
            params=FindParams,
            execute=find_execute,
            render=find_render,
            role=Role.READER,
            slow=True,
            help=(
                "Asks every provider at once for the service key; a provider that does not answer "
                "is shown as unreachable while the others answer. Names what disagrees."
            ),
            examples=("/circuit find 24e6ea2b-6940-4bec-b0b3-3a9e5471e512",),
        )
    )
