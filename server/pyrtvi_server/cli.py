"""`pyrtvi serve`: one command for the page, the runtime, the RTVI endpoints and the default bot.
`pyrtvi doctor`: what is found and what to do about what is not. `pyrtvi setup-bot`: make the
embedded bot's environment now (installed from the wheel, `pyrtvi serve` makes it on first use)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from pyrtvi_server import __version__, botenv
from pyrtvi_server.boot import BOOT_MODES
from pyrtvi_server.bots import BotSetupError
from pyrtvi_server.config import (
    BOT_PIPECAT,
    BrokenInstallError,
    Settings,
    check_install,
    in_checkout,
)
from pyrtvi_server.runtime import RuntimeMissingError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pyrtvi", description=__doc__)
    parser.add_argument("--version", action="version", version=f"pyrtvi {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve the page, the offline runtime and the RTVI endpoints",
        description="Every flag has a PYRTVI_* environment equivalent; flags win.",
    )
    serve.add_argument("--host", help="bind address (PYRTVI_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port, 0 for any free one (PYRTVI_PORT, 8000)")
    serve.add_argument(
        "--bot",
        dest="bot_mode",
        choices=["embedded", "url", "none"],
        help="bot service: the embedded offline Pipecat bot, a remote one, or none (PYRTVI_BOT)",
    )
    serve.add_argument(
        "--bot-url",
        help="remote bot service base URL, e.g. a Pipecat runner's http://localhost:7860; "
        "implies --bot url (PYRTVI_BOT_URL)",
    )
    serve.add_argument(
        "--bot-pipecat",
        dest="bot_pipecat_version",
        help=f"pipecat version of the embedded bot (PYRTVI_BOT_PIPECAT, default {BOT_PIPECAT})",
    )
    serve.add_argument(
        "--bot-python",
        type=Path,
        help="Python of an environment with the embedded bot's packages (PYRTVI_BOT_PYTHON; "
        "default: the checkout's .venvs/bot-<version>, or one made under the user's cache "
        "directory on first use)",
    )
    serve.add_argument(
        "--allowed-origin",
        dest="allowed_origins",
        action="append",
        metavar="ORIGIN",
        help="allow this origin cross-origin access; repeatable (PYRTVI_ALLOWED_ORIGINS, comma list)",
    )
    serve.add_argument(
        "--boot",
        choices=BOOT_MODES,
        help="how pages boot (PYRTVI_BOOT, default shipped): shipped = the build's snapshot, "
        "downloaded with the page; local = plain first visit, then the snapshot the browser "
        "made; trimmed = no snapshot; plain = Pyodide as it comes",
    )
    serve.add_argument(
        "--no-fast-boot",
        dest="boot",
        action="store_const",
        const="plain",
        help="the same as --boot plain (PYRTVI_FAST_BOOT=0)",
    )
    serve.add_argument(
        "--redis-url",
        help="Redis shared by several replicas behind a load balancer: admission limits, the "
        "global cap and WebSocket relay sessions (PYRTVI_REDIS_URL; needs pyrtvi[redis]; "
        "default: none, this process only)",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        help="comma list of load balancer addresses (or networks, or *) whose X-Forwarded-For "
        "names the client (PYRTVI_FORWARDED_ALLOW_IPS; default: none)",
    )
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    commands.add_parser(
        "doctor",
        help="say what is found (runtime, boot build, Chromium, espeak-ng, the bot's environment) "
        "and what to do about each missing piece; exit status 1 if something is missing",
    )
    setup_bot = commands.add_parser(
        "setup-bot",
        help="make the embedded bot's environment now, under the user's cache directory",
    )
    setup_bot.add_argument("--bot-pipecat", dest="bot_pipecat_version", default=None)
    return parser


def ready_bot(settings: Settings) -> Settings:
    """Installed from the wheel, the embedded bot's default environment is made on first use
    (pip's progress shown) and espeak-ng must be there; a checkout's `make run` does both."""
    if settings.bot_mode != "embedded" or in_checkout():
        return settings
    if botenv.espeak_ng() is None:
        raise botenv.BotEnvError(
            f"espeak-ng is not on PATH: the embedded bot speaks with it; {botenv.ESPEAK_HINT}, "
            "or talk to your own bot with --bot-url URL"
        )
    if settings.bot_python is not None:
        if not settings.bot_python.exists():
            raise botenv.BotEnvError(f"the bot's Python {settings.bot_python} does not exist")
        return settings
    if botenv.is_ready(settings.bot_pipecat_version):
        return settings
    python = botenv.create(settings.bot_pipecat_version)
    return dataclasses.replace(settings, bot_python=python)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "doctor":
        from pyrtvi_server.doctor import report

        try:
            text, complete = report(Settings.from_env())
        except ValueError as exc:
            print(f"pyrtvi: {exc}", file=sys.stderr)
            return 2
        print(text)
        return 0 if complete else 1
    if args.command == "setup-bot":
        try:
            botenv.create(args.bot_pipecat_version or Settings.from_env().bot_pipecat_version)
        except (ValueError, botenv.BotEnvError) as exc:
            print(f"pyrtvi: {exc}", file=sys.stderr)
            return 2
        return 0
    return serve(args)


def serve(args: argparse.Namespace) -> int:
    keys = (
        "host",
        "port",
        "bot_mode",
        "bot_url",
        "bot_pipecat_version",
        "bot_python",
        "boot",
        "redis_url",
    )
    overrides = {key: getattr(args, key) for key in keys}
    if args.forwarded_allow_ips is not None:
        overrides["forwarded_allow_ips"] = tuple(
            ip.strip() for ip in args.forwarded_allow_ips.split(",") if ip.strip()
        )
    if args.allowed_origins:
        overrides["allowed_origins"] = tuple(o.rstrip("/") for o in args.allowed_origins)
    try:
        settings = Settings.from_env(**overrides)
        check_install()
        settings = ready_bot(settings)
    except (ValueError, BrokenInstallError, botenv.BotEnvError) as exc:
        print(f"pyrtvi: {exc}", file=sys.stderr)
        return 2

    import uvicorn

    from pyrtvi_server.app import create_app

    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    if args.log_level != "debug":  # httpx logs every proxied request at INFO
        logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        app = create_app(settings)
    except (RuntimeMissingError, BotSetupError) as exc:
        print(f"pyrtvi: {exc}", file=sys.stderr)
        return 2
    from pyrtvi_server.protocol import guarded_protocol

    protocol = guarded_protocol(
        settings.header_timeout,
        settings.body_timeout,
        max(settings.max_body_bytes, 64 * 1024),
        settings.max_header_bytes,
    )
    trusted = list(settings.forwarded_allow_ips)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=args.log_level,
        http=protocol,
        # No forwarded header is believed unless its sender is listed (uvicorn trusts
        # 127.0.0.1 by default: any local process could pick its own client address).
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
        h11_max_incomplete_event_size=settings.max_header_bytes,
    )
    return 0
