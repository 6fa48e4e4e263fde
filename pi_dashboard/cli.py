"""Command line: `pi-dashboard run | check-config | scan`.

Exit codes: 0 ok, 1 runtime failure, 2 config error.

Expected failures (bad config, port in use, no permission) print one line, never a traceback,
unless `--debug` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pi_dashboard import __version__
from pi_dashboard.errors import ConfigError, PiDashboardError

if TYPE_CHECKING:
    from aiohttp import web

    from pi_dashboard.config import Config

log = logging.getLogger("pi_dashboard")

EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = 0, 1, 2


def setup_logging(debug: bool) -> None:
    """Under systemd (JOURNAL_STREAM set) journald adds timestamps, so we leave them out."""
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not os.environ.get("JOURNAL_STREAM"):
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO, format=fmt, stream=sys.stderr
    )
    for noisy in ("aiohttp.access", "engineio", "socketio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pi-dashboard", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"pi-dashboard {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="start the daemon")
    run.add_argument(
        "--config",
        "-c",
        metavar="FILE",
        help="TOML config (default: the built-in demo config, in mock mode)",
    )
    run.add_argument(
        "--mock", action="store_true", help="simulate every bus instead of using hardware"
    )
    run.add_argument("--host", help="listen address (overrides [server] host)")
    run.add_argument("--port", type=int, help="listen port (overrides [server] port)")
    run.add_argument("--debug", action="store_true", help="debug logging and full tracebacks")
    add_history_options(run)

    check = sub.add_parser("check-config", help="validate a config file and exit")
    check.add_argument("file", metavar="FILE")
    check.add_argument("--debug", action="store_true")

    scan = sub.add_parser("scan", help="list I2C, 1-Wire and IIO devices and print a TOML block")
    scan.add_argument(
        "--mock",
        action="store_true",
        help="scan the simulated buses (of --config, else of the demo config)",
    )
    scan.add_argument(
        "--config", "-c", metavar="FILE", help="with --mock: whose devices to simulate"
    )
    scan.add_argument("--toml", action="store_true", help="print only the TOML block")
    scan.add_argument("--debug", action="store_true")

    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_CONFIG
    debug = getattr(args, "debug", False)
    try:
        if args.command == "check-config":
            return cmd_check_config(args)
        if args.command == "run":
            return cmd_run(args)
        if args.command == "scan":
            return cmd_scan(args)
        parser.error(f"unknown command {args.command}")
    except ConfigError as e:
        if debug:
            raise
        print(f"config error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    except PiDashboardError as e:
        if debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_OK
    return EXIT_OK


def cmd_check_config(args: argparse.Namespace) -> int:
    from pi_dashboard.app import load
    from pi_dashboard.polling import validate
    from pi_dashboard.sensors.registry import TYPES

    config = load(args.file)
    validate(config, TYPES)
    print(f"{args.file}: ok ({len(config.sensors)} sensors)")
    return EXIT_OK


def cmd_scan(args: argparse.Namespace) -> int:
    from pi_dashboard.app import load, scan
    from pi_dashboard.scan import report, to_toml

    config = load(args.config) if args.config else None
    result = scan(mock=args.mock, config=config)
    block = to_toml(result)
    if args.toml:
        print(block)
        return EXIT_OK
    print(report(result))
    if block:
        print("\n# Paste into your config (pi-dashboard check-config validates it):\n")
        print(block)
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    setup_logging(args.debug)
    from dataclasses import replace

    from pi_dashboard.app import create_app, load

    config = load(args.config)
    mock = args.mock or args.config is None
    server = config.server
    if args.host is not None:
        server = replace(server, host=args.host)
    if args.port is not None:
        if not 0 <= args.port <= 65535:
            raise ConfigError(f"{args.port} is not a TCP port (0-65535)", field="--port")
        server = replace(server, port=args.port)
    config = replace(config, server=server)
    app = create_app(config, mock=mock, **history_args(args, config, mock))
    try:
        mode = "mock mode" if mock else "hardware"
        if args.config is None:
            mode = "mock mode, built-in demo config"
        what = f"{mode}, {len(config.sensors)} sensors"
        return asyncio.run(_serve(app, server.host, server.port, what))
    except OSError as e:
        if args.debug:
            raise
        print(f"error: {_listen_error(e, server.host, server.port)}", file=sys.stderr)
        return EXIT_FAILURE


def _listen_error(e: OSError, host: str, port: int) -> str:
    if e.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use: stop the other process "
            "or choose another with --port"
        )
    if e.errno == errno.EACCES:
        return f"no permission to listen on port {port}: use a port above 1023"
    if e.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}: not an address of this machine"
    return f"cannot listen on {host}:{port}: {e.strerror or e}"


def _display_url(host: str, port: int) -> str:
    if host in ("0.0.0.0", "::", ""):
        return f"http://{socket.gethostname()}:{port}/ (all interfaces)"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


async def _serve(app: web.Application, host: str, port: int, what: str) -> int:
    from aiohttp import web

    # Open websockets would hold aiohttp's shutdown for 60 s; browsers reconnect on their own,
    # so give in-flight requests a second and close the rest (systemctl stop/restart is quick).
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, reuse_address=True)
        await site.start()
        if port == 0:  # tests ask for any free port and read it from this line
            port = runner.addresses[0][1]
        log.info("pi-dashboard %s serving %s (%s)", __version__, _display_url(host, port), what)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("shutting down")
    finally:
        await runner.cleanup()
    return EXIT_OK


# --- history: the data directory, replay, export and backup (docs/history.md) ---------------------


def add_history_options(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where history is kept (default: $PI_DASHBOARD_DATA_DIR, $STATE_DIRECTORY, "
        "else ~/.local/share/pi-dashboard)",
    )


def history_args(args: argparse.Namespace, config: Config, mock: bool) -> dict[str, object]:
    """create_app's history keyword arguments for `run`."""
    from pi_dashboard.history import paths
    from pi_dashboard.history.service import History, options_from_config

    if not config.history.enabled:
        return {}
    directory = paths.ensure(paths.data_dir(args.data_dir))
    path = paths.database(directory, mock=mock)
    return {"history": History(options_from_config(config.history, path))}
