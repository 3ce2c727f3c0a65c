"""The helper servers ack latency starts as child processes of its own script: the fake Slack
(with a route handing out its recorded calls) and the floor, a bare Bolt app that only acks."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import common
from ack_load import BOT_TOKEN, CALLS_PATH, EVENTS_PATH, SIGNING_SECRET


async def _until_terminated() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve_fake_slack() -> int:
    """The fake Slack on a free loopback port, plus a route that hands out its recorded calls."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    from circuitbot.slack.server import http_server
    from circuitbot.testing.fake_slack import RESPONSE_URL_METHOD, FakeSlack

    fake = FakeSlack()

    async def calls(request: Request) -> JSONResponse:
        since = int(request.query_params.get("since", "0"))
        return JSONResponse(
            {
                "calls": [
                    {
                        "method": c.method,
                        "at": c.at,
                        "ok": c.ok,
                        "status": c.status,
                        "error": c.error,
                        "channel": c.args.get("channel") if c.method != RESPONSE_URL_METHOD else None,
                        "token": c.response_token,
                        "text": str(c.args.get("text") or "")[:200],
                    }
                    for c in fake.calls[since:]
                ]
            }
        )

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == CALLS_PATH:
            response = await calls(Request(scope, receive))
            await response(scope, receive, send)
            return
        await fake.app(scope, receive, send)

    async with http_server(app, common.LOOPBACK, 0) as port:
        fake.root_url = f"http://{common.LOOPBACK}:{port}"
        print(f"READY {port}", flush=True)
        await _until_terminated()
    return 0


async def serve_floor(port: int, slack_root: str) -> int:
    """A bare Bolt app on circuitbot's HTTP stack: verifies the signature, acks, nothing else."""
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    from circuitbot.slack.server import http_server

    bolt = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=f"{slack_root}/api/"),
        signing_secret=SIGNING_SECRET,
        request_verification_enabled=True,
        process_before_response=False,
    )

    @bolt.command("/circuit")
    async def only_ack(ack: Any) -> None:
        await ack()

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(_request: Request) -> Response:
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[Route(EVENTS_PATH, events, methods=["POST"]), Route("/healthz", healthz, methods=["GET"])]
    )
    async with http_server(app, common.LOOPBACK, port):
        await _until_terminated()
    return 0
