"""The shared provider HTTP layer: retries, waits through the clock, request ids, safe logs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from circuitbot.clock import FakeClock
from circuitbot.providers.http import (
    NO_AMBIGUOUS_RETRY_EXTENSION,
    REDACTED,
    ProviderHTTPError,
    RetryPolicy,
    make_client,
    maybe_processed,
    redact_url,
    request_id_of,
)

Outcome = httpx.Response | Exception


class RecordingClock(FakeClock):
    """A FakeClock that remembers every sleep asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await super().sleep(seconds)


class ScriptedTransport(httpx.AsyncBaseTransport):
    """Answers each request with the next scripted outcome and keeps what it was sent."""

    def __init__(self, *outcomes: Outcome) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[tuple[str, str, dict[str, str], bytes]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.sent.append((request.method, str(request.url), dict(request.headers), body))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def client_for(transport: ScriptedTransport, clock: FakeClock, **policy: Any) -> httpx.AsyncClient:
    retry = RetryPolicy(**{"jitter": False, **policy})
    return make_client(
        provider="testprov",
        base_url="https://api.example.test",
        transport=transport,
        retry=retry,
        clock=clock,
    )


async def test_429_with_retry_after_waits_that_long_then_succeeds() -> None:
    transport = ScriptedTransport(
        httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={"ok": True})
    )
    clock = RecordingClock()
    async with client_for(transport, clock) as client:
        response = await clock.run_until(client.get("/things"), step=3600)

    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert clock.slept == [7.0]
    assert len(transport.sent) == 2
    first_id, second_id = (headers["x-request-id"] for _, _, headers, _ in transport.sent)
    assert first_id == second_id == request_id_of(response)


async def test_503_exhausts_attempts_with_exponential_backoff_and_returns_last_answer() -> None:
    transport = ScriptedTransport(*(httpx.Response(503, text=f"down {n}") for n in range(4)))
    clock = RecordingClock()
    async with client_for(transport, clock, base_delay=0.5) as client:
        response = await clock.run_until(client.get("/things"), step=3600)

    assert response.status_code == 503
    assert response.text == "down 3"
    assert len(transport.sent) == 4  # max_attempts defaults to 4
    assert clock.slept == [0.5, 1.0, 2.0]


async def test_backoff_is_capped_by_max_delay() -> None:
    transport = ScriptedTransport(*(httpx.Response(502) for _ in range(5)), httpx.Response(200))
    clock = RecordingClock()
    async with client_for(transport, clock, base_delay=1.0, max_delay=3.0, max_attempts=6) as client:
        response = await clock.run_until(client.get("/x"), step=3600)

    assert response.status_code == 200
    assert clock.slept == [1.0, 2.0, 3.0, 3.0, 3.0]


async def test_a_retry_after_longer_than_max_delay_returns_the_answer_instead_of_retrying_early() -> None:
    transport = ScriptedTransport(httpx.Response(429, headers={"Retry-After": "120"}), httpx.Response(200))
    clock = RecordingClock()
    async with client_for(transport, clock, max_delay=30.0) as client:
        response = await clock.run_until(client.get("/x"), step=3600)

    # retrying after 30 s of the 120 asked would only be throttled again
    assert response.status_code == 429
    assert len(transport.sent) == 1
    assert clock.slept == []


async def test_a_retry_after_within_max_delay_is_waited_in_full() -> None:
    transport = ScriptedTransport(httpx.Response(503, headers={"Retry-After": "30"}), httpx.Response(200))
    clock = RecordingClock()
    async with client_for(transport, clock, max_delay=30.0) as client:
        response = await clock.run_until(client.get("/x"), step=3600)

    assert response.status_code == 200
    assert clock.slept == [30.0]


async def test_retry_after_as_http_date_waits_until_that_time() -> None:
    clock = RecordingClock()  # starts at 2026-01-01T00:00:00Z
    transport = ScriptedTransport(
        httpx.Response(503, headers={"Retry-After": "Thu, 01 Jan 2026 00:00:12 GMT"}), httpx.Response(200)
    )
    async with client_for(transport, clock) as client:
        response = await clock.run_until(client.get("/x"), step=3600)

    assert response.status_code == 200
    assert clock.slept == [12.0]


async def test_retry_after_date_in_the_past_retries_at_once() -> None:
    clock = RecordingClock()
    transport = ScriptedTransport(
        httpx.Response(503, headers={"Retry-After": "Wed, 31 Dec 2025 23:59:00 GMT"}), httpx.Response(200)
    )
    async with client_for(transport, clock) as client:
        await clock.run_until(client.get("/x"), step=3600)

    assert clock.slept == [0.0]


async def test_retry_after_ms_header_is_honoured() -> None:
    clock = RecordingClock()
    transport = ScriptedTransport(
        httpx.Response(429, headers={"retry-after-ms": "1500"}), httpx.Response(200)
    )
    async with client_for(transport, clock) as client:
        await clock.run_until(client.get("/x"), step=3600)

    assert clock.slept == [1.5]


async def test_post_is_not_retried_after_a_read_error() -> None:
    transport = ScriptedTransport(httpx.ReadError("connection reset"), httpx.Response(201))
    clock = RecordingClock()
    async with client_for(transport, clock) as client:
        with pytest.raises(httpx.ReadError):
            await clock.run_until(client.post("/orders", json={"speed": 100}), step=3600)

    assert len(transport.sent) == 1
    assert clock.slept == []


async def test_post_is_retried_after_a_connect_error_with_the_same_body() -> None:
    transport = ScriptedTransport(httpx.ConnectError("refused"), httpx.Response(201, json={"id": "c1"}))
    clock = RecordingClock()

    async def body() -> AsyncIterator[bytes]:
        # A one-shot stream: only buffering makes the second attempt possible.
        yield b'{"speed": '
        yield b"100}"

    async with client_for(transport, clock) as client:
        response = await clock.run_until(client.post("/orders", content=body()), step=3600)

    assert response.status_code == 201
    assert [sent[3] for sent in transport.sent] == [b'{"speed": 100}', b'{"speed": 100}']


async def test_post_with_idempotency_header_is_retried_after_a_read_error() -> None:
    transport = ScriptedTransport(httpx.RemoteProtocolError("server hung up"), httpx.Response(201))
    clock = RecordingClock()
    async with client_for(transport, clock) as client:
        response = await clock.run_until(
            client.post("/orders", json={}, headers={"Idempotency-Key": "abc"}), step=3600
        )

    assert response.status_code == 201
    assert len(transport.sent) == 2


async def test_get_is_retried_after_a_read_timeout_and_gives_up_after_max_attempts() -> None:
    transport = ScriptedTransport(*(httpx.ReadTimeout("slow") for _ in range(3)))
    clock = RecordingClock()
    async with client_for(transport, clock, max_attempts=3) as client:
        with pytest.raises(httpx.ReadTimeout):
            await clock.run_until(client.get("/x"), step=3600)

    assert len(transport.sent) == 3
    assert clock.slept == [0.5, 1.0]


async def test_post_is_retried_on_429_but_not_on_502() -> None:
    transport = ScriptedTransport(httpx.Response(429), httpx.Response(502), httpx.Response(201))
    clock = RecordingClock()
    async with client_for(transport, clock) as client:
        response = await clock.run_until(client.post("/orders", json={}), step=3600)

    # 429 means the server did nothing, so retrying is safe; a 502 may follow a completed upstream call.
    assert response.status_code == 502
    assert len(transport.sent) == 2


@pytest.mark.parametrize("header", ["If-Match", "If-None-Match"])
@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("server hung up"), httpx.ReadError("reset")],
)
async def test_a_conditional_write_is_not_sent_again_when_it_may_have_been_processed(
    header: str, failure: Exception
) -> None:
    transport = ScriptedTransport(failure, httpx.Response(200))
    clock = RecordingClock()
    async with client_for(transport, clock) as client:
        with pytest.raises(type(failure)):
            await clock.run_until(client.put("/things/1", json={}, headers={header: '"e1"'}), step=3600)

    # the first PUT may have been applied: a second one would fail its condition (412)
    assert len(transport.sent) == 1


@pytest.mark.parametrize("status", [502, 504])
async def test_a_conditional_write_is_not_sent_again_after_a_gateway_error(status: int) -> None:
    transport = ScriptedTransport(httpx.Response(status), httpx.Response(200))
    clock = RecordingClock()
    async with client_for(transport, clock) as client:
        response = await clock.run_until(
            client.put("/things/1", json={}, headers={"If-Match": '"e1"'}), step=3600
        )

    assert response.status_code == status
    assert len(transport.sent) == 1


async def test_a_conditional_write_is_still_retried_when_surely_not_processed() -> None:
    transport = ScriptedTransport(
        httpx.ConnectError("refused"), httpx.Response(503), httpx.Response(429), httpx.Response(200)
    )
    clock = RecordingClock()
    async with client_for(transport, clock) as client:
        response = await clock.run_until(
            client.put("/things/1", json={}, headers={"If-Match": '"e1"'}), step=3600
        )

    assert response.status_code == 200
    assert len(transport.sent) == 4


async def test_a_request_can_opt_out_of_ambiguous_retries() -> None:
    transport = ScriptedTransport(httpx.ReadTimeout("slow"), httpx.ReadTimeout("slow"), httpx.Response(204))
    clock = RecordingClock()
    async with client_for(transport, clock) as client:
        marked = client.build_request("DELETE", "/things/1")
        marked.extensions[NO_AMBIGUOUS_RETRY_EXTENSION] = True
        with pytest.raises(httpx.ReadTimeout):
            await clock.run_until(client.send(marked), step=3600)
        assert len(transport.sent) == 1
        # an unmarked DELETE is idempotent and retried as before
        plain = await clock.run_until(client.delete("/things/2"), step=3600)

    assert plain.status_code == 204
    assert len(transport.sent) == 3


def test_maybe_processed_tells_ambiguous_failures_from_sure_ones() -> None:
    request = httpx.Request("PUT", "https://api.example.test/x")
    assert maybe_processed(httpx.ReadTimeout("slow", request=request))
    assert maybe_processed(httpx.RemoteProtocolError("hung up", request=request))
    assert not maybe_processed(httpx.ConnectError("refused", request=request))
    assert maybe_processed(ProviderHTTPError(provider="p", status=504, message="gateway timeout"))
    assert not maybe_processed(ProviderHTTPError(provider="p", status=503, message="unavailable"))
    assert not maybe_processed(ValueError("nothing to do with HTTP"))


async def test_client_errors_are_not_retried() -> None:
    transport = ScriptedTransport(httpx.Response(404), httpx.Response(200))
    clock = RecordingClock()
    async with client_for(transport, clock) as client:
        response = await client.get("/x")

    assert response.status_code == 404
    assert len(transport.sent) == 1


async def test_full_jitter_draws_within_the_exponential_ceiling_and_repeats_for_a_seed() -> None:
    async def sleeps_for(seed: int) -> list[float]:
        transport = ScriptedTransport(*(httpx.Response(503) for _ in range(6)))
        clock = RecordingClock()
        async with client_for(transport, clock, jitter=True, seed=seed, max_attempts=6, base_delay=1.0) as c:
            await clock.run_until(c.get("/x"), step=3600)
        return clock.slept

    first = await sleeps_for(7)
    assert len(first) == 5
    for retry_number, delay in enumerate(first, start=1):
        assert 0 <= delay <= 2 ** (retry_number - 1)
    assert len(set(first)) == 5  # drawn, not the fixed ceilings
    assert await sleeps_for(7) == first
    assert await sleeps_for(8) != first


async def test_caller_request_id_is_kept() -> None:
    transport = ScriptedTransport(httpx.Response(200))
    async with client_for(transport, RecordingClock()) as client:
        response = await client.get("/x", headers={"x-request-id": "mine-1"})

    assert transport.sent[0][2]["x-request-id"] == "mine-1"
    assert request_id_of(response) == "mine-1"


async def test_request_id_header_name_is_configurable() -> None:
    transport = ScriptedTransport(httpx.Response(200))
    async with make_client(
        provider="azure",
        base_url="https://management.example.test",
        transport=transport,
        request_id_header="x-ms-client-request-id",
    ) as client:
        response = await client.get("/x")

    headers = transport.sent[0][2]
    assert "x-request-id" not in headers
    assert headers["x-ms-client-request-id"] == request_id_of(response)


async def test_logs_show_the_attempts_but_no_secrets(caplog: pytest.LogCaptureFixture) -> None:
    transport = ScriptedTransport(httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(200))
    clock = RecordingClock()
    caplog.set_level(logging.DEBUG)  # every logger, httpx's own included
    async with make_client(
        provider="alibaba",
        base_url="https://vpc.example.test",
        transport=transport,
        retry=RetryPolicy(),
        clock=clock,
        headers={"Authorization": "Bearer tok-SECRET-1"},
    ) as client:
        await clock.run_until(
            client.post(
                "/",
                params={"Action": "DescribeX", "Signature": "sig-SECRET-2"},
                json={"sharedKey": "bgp-SECRET-3"},
            ),
            step=3600,
        )

    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "HTTP Request: POST" in text  # httpx's own line is there, redacted
    assert "SECRET" not in text
    assert "Action=DescribeX" in text
    assert f"Signature={REDACTED}" in text
    assert "429" in text and "200" in text
    records = [r for r in caplog.records if r.name == "circuitbot.providers.http"]
    assert [r.attempt for r in records] == [1, 2]  # type: ignore[attr-defined]
    assert {r.provider for r in records} == {"alibaba"}  # type: ignore[attr-defined]


def test_redact_url_hides_credentials_and_keeps_the_rest() -> None:
    url = "https://user:pw@host.example/a/b?api-version=2024-07-01&AccessKeyId=AK1&SecurityToken=st&x=1"
    redacted = redact_url(url)

    assert "pw" not in redacted and "AK1" not in redacted and "=st" not in redacted
    assert redacted.startswith(f"https://user:{REDACTED}@host.example/a/b?")
    assert "api-version=2024-07-01" in redacted
    assert "x=1" in redacted
    assert redact_url("https://host.example/p") == "https://host.example/p"


def test_provider_http_error_reads_status_and_request_id_from_the_response() -> None:
    request = httpx.Request("GET", "https://api.example.test/x")
    request.extensions["circuitbot.request_id"] = "rid-9"
    response = httpx.Response(404, request=request)

    error = ProviderHTTPError.from_response(
        response, provider="equinix", code="EQ-3045811", message="uuid not found"
    )

    assert (error.provider, error.status, error.code, error.request_id) == (
        "equinix",
        404,
        "EQ-3045811",
        "rid-9",
    )
    assert str(error) == "equinix: 404 EQ-3045811: uuid not found (request id rid-9)"


def test_retry_policy_rejects_zero_attempts() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
