"""``circuitbot``: shell | serve | sandbox serve | db upgrade | check.

A bad setting stops start-up with one line naming it, never a traceback. Exit status: 0 done,
1 a failure (``check`` found a FAIL), 2 a usage error (argparse), 78 a configuration error
(``EX_CONFIG`` of sysexits.h), 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from circuitbot import __version__
from circuitbot.providers import catalog
from circuitbot.settings import ConfigError, Settings, load_settings, unknown_environment

if TYPE_CHECKING:
    from circuitbot.sandbox.base import SandboxOption

log = logging.getLogger("circuitbot")

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 78


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="circuitbot", description="Slack ChatOps for interconnect circuits")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command")

    shell = sub.add_parser("shell", help="a local console in place of Slack, on the sandbox (the default)")
    shell.add_argument("--user", default="alice", help="who you are at start (switch with :as NAME)")
    shell.add_argument("--real", action="store_true", help="use configured providers instead of the sandbox")

    serve = sub.add_parser("serve", help="run the Slack bot (Socket Mode, or HTTP with --http)")
    serve.add_argument("--http", action="store_true", help="HTTP mode: POST /slack/events (signing secret)")
    serve.add_argument(
        "--host", default="0.0.0.0", help="address for /slack/events, /healthz, /readyz, /metrics (0.0.0.0)"
    )
    serve.add_argument("--port", type=int, default=3000, help="port for the same (3000; 0 picks a free one)")
    serve.add_argument("--sandbox", action="store_true", help="use the in-process provider simulators")

    sandbox = sub.add_parser("sandbox", help="provider simulators")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command")
    sim = sandbox_sub.add_parser("serve", help="serve one provider's simulator over HTTP on loopback")
    words = [word for spec in catalog.PROVIDERS for word in (spec.name, *spec.aliases)]
    sim.add_argument("--provider", required=True, choices=words, help="a provider's name or alias")
    sim.add_argument("--host", default="127.0.0.1", help="a loopback address (127.0.0.1)")
    sim.add_argument("--port", type=int, required=True, help="port to listen on (0 picks a free one)")
    sim.add_argument("--circuits", type=int, default=0, help="generated circuits on top of the demo world")
    for option in _simulator_options().values():
        sim.add_argument(
            option.flag,
            action="store" if option.single else "append",
            metavar=option.metavar,
            help=option.help + ("" if option.single else " (repeatable)"),
        )

    db = sub.add_parser("db", help="database")
    db_sub = db.add_subparsers(dest="db_command")
    db_sub.add_parser("upgrade", help="apply migrations")

    check = sub.add_parser(
        "check", help="prove the configuration: settings, database, Slack, each provider (OK/FAIL each)"
    )
    check.add_argument("--sandbox", action="store_true", help="against the fake Slack and the simulators")
    return parser


def _simulator_options() -> dict[str, SandboxOption]:
    """Every simulator's own ``sandbox serve`` flags, by flag (each simulator says which it takes)."""
    found: dict[str, SandboxOption] = {}
    for spec in catalog.PROVIDERS:
        for option in spec.simulator_class.options:
            found.setdefault(option.flag, option)
    return found


def _given_options(args: argparse.Namespace, provider: str) -> dict[str, list[str]]:
    """The simulator flags given, with their values; ValueError for one ``provider``'s lacks."""
    given: dict[str, list[str]] = {}
    takes = {option.flag for option in catalog.spec_of(provider).simulator_class.options}
    for flag in _simulator_options():
        value = getattr(args, flag.removeprefix("--").replace("-", "_"))
        if value is None:
            continue
        if flag not in takes:
            raise ValueError(f"{flag} is not an option of the {provider} simulator")
        given[flag] = value if isinstance(value, list) else [value]
    return given


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = args.command or "shell"
    try:
        settings = load_settings()
        return asyncio.run(_run(command, args, settings))
    except ConfigError as exc:
        if command == "check":
            print(f"FAIL settings: {exc}", file=sys.stderr)
            return EXIT_FAILED
        print(f"circuitbot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


async def _run(command: str, args: argparse.Namespace, settings: Settings) -> int:
    from circuitbot.logs import configure_logging

    # The shell and check talk to a person on the terminal: only warnings and worse are logged.
    configure_logging(settings, quiet=command in ("shell", "check"))
    if command != "check":  # check reports them as FAIL items
        for problem in unknown_environment(os.environ):
            log.warning("settings: %s", problem)
    if command == "shell":
        from circuitbot.shell.console import run_shell

        return await run_shell(
            settings, user=getattr(args, "user", "alice"), sandbox=not getattr(args, "real", False)
        )
    if command == "serve":
        from circuitbot.slack.server import serve

        return await serve(settings, http=args.http, host=args.host, port=args.port, sandbox=args.sandbox)
    if command == "sandbox":
        if args.sandbox_command != "serve":
            print("usage: circuitbot sandbox serve --provider NAME --port N", file=sys.stderr)
            return EXIT_USAGE
        from circuitbot.sandbox.server import serve_simulator
        from circuitbot.sandbox.world import World

        provider = catalog.spec_of(args.provider).name
        try:
            await serve_simulator(
                provider,
                host=args.host,
                port=args.port,
                world=World.demo(extra_circuits=args.circuits),
                on_listening=lambda url: print(f"{provider} simulator listening on {url}", flush=True),
                options=_given_options(args, provider),
            )
        except ValueError as exc:  # a non-loopback host, an option or value the simulator refuses
            print(f"circuitbot: {exc}", file=sys.stderr)
            return EXIT_USAGE
        return 0
    if command == "db":
        if args.db_command != "upgrade":
            print("usage: circuitbot db upgrade", file=sys.stderr)
            return EXIT_USAGE
        from circuitbot.store.db import Database

        db = Database(settings.effective_database_url)
        await db.upgrade()
        await db.dispose()
        print(f"database at {db.url.render_as_string(hide_password=True)} is up to date")
        return 0
    if command == "check":
        return await _check(settings, sandbox=args.sandbox)
    return EXIT_USAGE


async def _check(settings: Settings, *, sandbox: bool) -> int:
    from circuitbot.check import failed, run_checks

    items = await run_checks(settings, environ=os.environ, sandbox=sandbox)
    for item in items:
        print(item.line())
    return EXIT_FAILED if failed(items) else 0


if __name__ == "__main__":
    sys.exit(main())
