"""The Alibaba simulator served over loopback HTTP, as ``circuitbot sandbox serve --provider
alibaba`` serves it: the real client signs for the real host and port, and a wrong secret is
refused there as Alibaba refuses it."""

from __future__ import annotations

import pytest

from circuitbot.clock import SystemClock
from circuitbot.providers.alibaba.client import AlibabaClient
from circuitbot.providers.alibaba.errors import SignatureRejected
from circuitbot.sandbox import build_simulator
from circuitbot.sandbox.alibaba import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET
from circuitbot.sandbox.server import SimulatorServer


@pytest.mark.parametrize("version", ["v3", "v1"])
async def test_the_served_sandbox_verifies_signatures_over_http(version: str) -> None:
    simulator = build_simulator("alibaba", clock=SystemClock())
    async with SimulatorServer(simulator) as server:

        def client(secret: str) -> AlibabaClient:
            return AlibabaClient(
                access_key_id=DEFAULT_ACCESS_KEY_ID,
                access_key_secret=secret,
                regions=["cn-beijing", "cn-shanghai"],
                endpoint=server.url,
                signature_version=version,  # type: ignore[arg-type]
            )

        async with client(DEFAULT_ACCESS_KEY_SECRET) as good:
            listed = await good.list_connections()
            assert {c.physical_connection_id for c in listed} >= {"pc-2zeoaxkq3jot5p71qcnuy", "pc-119mfjzm7"}
            assert len(await good.list_vbrs("pc-2zeoaxkq3jot5p71qcnuy")) == 2
        async with client("wrong-secret") as bad:
            with pytest.raises(SignatureRejected) as refused:
                await bad.list_region("cn-beijing")
        assert (refused.value.status, refused.value.code) == (403, "SignatureDoesNotMatch")
