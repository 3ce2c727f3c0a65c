"""The base of every provider simulator.

A simulator is an independent model of a provider's API (state machines with timed
transitions, paging, error bodies, throttling, long-running-operation headers) served as an
ASGI app. The real provider clients reach it through ``httpx.ASGITransport`` in-process, or
over loopback HTTP via ``circuitbot sandbox serve``.

INTERFACE CONTRACT (other modules rely on it; keep it stable):

    class Simulator:
        provider: ClassVar[str]                  # "azure", "equinix", "consoleconnect", "alibaba"
        def __init__(self, world: World, clock: Clock, faults: FaultConfig | None = None)
        world, clock, faults                     # attributes
        calls: collections.Counter[str]          # "METHOD /path" -> count, every request that reached the model
        def routes(self) -> list[starlette.routing.BaseRoute]   # subclasses provide
        @property app -> ASGI app: fault injection + call counting + routes + /_sandbox admin routes
        def transport(self) -> httpx.AsyncBaseTransport        # in-process transport for httpx clients
        def reset_calls(self) -> None
"""
