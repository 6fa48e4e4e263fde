"""Command line: `pi-dashboard run | check-config | scan | export | backup`.

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
from pathlib import Path
from typing import TYPE_CHECKING

from pi_dashboard import __version__
from pi_dashboard.errors import ConfigError, PiDashboardError

if TYPE_CHECKING:
    from typing import BinaryIO

    from aiohttp import web

    from pi_dashboard.config import Config
    from pi_dashboard.history.store import Store

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
    add_history_commands(sub)

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
        if args.command in HISTORY_COMMANDS:
            return HISTORY_COMMANDS[args.command](args)
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
    _data_dir_option(run)
    run.add_argument(
        "--replay",
        metavar="FILE",
        help="play exported history (CSV export or database copy) as live readings, in mock mode",
    )
    run.add_argument(
        "--speed", type=float, default=1.0, metavar="N", help="with --replay: N times faster"
    )


def _data_dir_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where history is kept (default: $PI_DASHBOARD_DATA_DIR, $STATE_DIRECTORY, "
        "else ~/.local/share/pi-dashboard)",
    )


def history_args(args: argparse.Namespace, config: Config, mock: bool) -> dict[str, object]:
    """create_app's history keyword arguments for `run`."""
    from pi_dashboard.history import paths
    from pi_dashboard.history.service import History, HistoryOptions, options_from_config

    if args.replay:
        from pi_dashboard.history.replay import open_recording

        if not args.speed > 0:
            raise ConfigError(f"must be > 0, got {args.speed:g}", field="--speed")
        recording = open_recording(args.replay)
        # a replay is a show: its history lives in memory and is gone when it stops
        history = History(HistoryOptions(path=":memory:"))
        return {"history": history, "replay": recording, "speed": args.speed}
    if not config.history.enabled:
        return {}
    directory = paths.ensure(paths.data_dir(args.data_dir))
    path = paths.database(directory, mock=mock)
    return {"history": History(options_from_config(config.history, path))}


def add_history_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    export = sub.add_parser("export", help="write history as CSV to stdout")
    export.add_argument("--since", default="1d", help="how far back (90m, 24h, 30d; default 1d)")
    export.add_argument(
        "--step", default="60", help="seconds per row, or 5m, 1h; 0 = every sample (default 60)"
    )
    export.add_argument("--sensor", default="", help="comma-separated sensor ids (default: all)")
    export.add_argument("--channel", default="", help="comma-separated channel ids (default: all)")
    backup = sub.add_parser("backup", help="write a consistent copy of the history database")
    backup.add_argument("file", metavar="FILE")
    for p in (export, backup):
        _data_dir_option(p)
        p.add_argument("--mock", action="store_true", help="mock mode's database")
        p.add_argument(
            "--config", "-c", metavar="FILE", help="the daemon's config (to find its port)"
        )
        p.add_argument("--url", help="the running daemon (default: from --config, else :8080)")
        p.add_argument("--debug", action="store_true")


def cmd_export(args: argparse.Namespace) -> int:
    import time
    import urllib.parse

    from pi_dashboard.history.export import header, rows, select, slices

    since, step = _duration(args.since, "--since"), _duration(args.step, "--step")
    t_to = time.time()
    t_from = t_to - since
    sensors = [x for x in args.sensor.split(",") if x]
    channels = [x for x in args.channel.split(",") if x]
    store = _open_history(args)
    if store is None:  # the daemon has it open: ask the daemon
        query = {"from": f"{t_from:.3f}", "to": f"{t_to:.3f}", "step": f"{step:g}"}
        query.update({k: ",".join(v) for k, v in (("sensor", sensors), ("channel", channels)) if v})
        _fetch(args, "/api/history.csv?" + urllib.parse.urlencode(query), sys.stdout.buffer)
        return EXIT_OK
    try:
        have = [
            i for sid, i in sorted(store.series.items()) if store.find(i.sensor, i.channel) == sid
        ]
        try:
            chosen = select(have, sensors, channels)
        except KeyError as e:
            raise PiDashboardError(f"no history for {e.args[0]} {e.args[1]!r}") from None
        ids = [store.find(i.sensor, i.channel) or 0 for i in chosen]
        sys.stdout.write(header(chosen))
        for a, b in slices(t_from, t_to, step):  # a slice at a time: bounded memory
            sys.stdout.write(rows(chosen, [store.grid(sid, a, b, step) for sid in ids]))
    finally:
        store.close()
    return EXIT_OK


def cmd_backup(args: argparse.Namespace) -> int:
    target = Path(args.file)
    tmp = target.with_name(f".{target.name}.part")
    store = _open_history(args)
    try:
        if store is None:
            with tmp.open("wb") as f:
                _fetch(args, "/api/history/backup", f)
        else:
            tmp.unlink(missing_ok=True)
            store.backup(tmp)
        os.replace(tmp, target)
    except OSError as e:
        raise PiDashboardError(f"cannot write {target}: {e.strerror or e}") from None
    finally:
        if store is not None:
            store.close()
        tmp.unlink(missing_ok=True)
    print(f"{target}: {target.stat().st_size} bytes", file=sys.stderr)
    return EXIT_OK


HISTORY_COMMANDS = {"export": cmd_export, "backup": cmd_backup}


def _duration(text: str, option: str) -> float:
    from pi_dashboard.history.export import duration_s

    try:
        return duration_s(text)
    except ValueError as e:
        raise ConfigError(str(e), field=option) from None


def _open_history(args: argparse.Namespace) -> Store | None:
    """The database, or None when a running daemon holds it (it keeps it locked while it runs)."""
    import sqlite3

    from pi_dashboard.history import paths
    from pi_dashboard.history.store import Store

    path = paths.database(paths.data_dir(args.data_dir), mock=args.mock)
    if not path.is_file():
        raise PiDashboardError(f"no history at {path} (the daemon creates it; see --data-dir)")
    try:
        return Store(path, busy_timeout=0.5)
    except sqlite3.OperationalError as e:
        if "locked" in str(e):
            return None
        raise PiDashboardError(f"cannot read {path}: {e}") from None


def _fetch(args: argparse.Namespace, path: str, out: BinaryIO) -> None:
    """Stream `path` from the running daemon into `out`; its JSON error becomes ours."""
    import json
    import shutil
    import urllib.error
    import urllib.request

    base = args.url or _daemon_url(args.config)
    try:
        with urllib.request.urlopen(base.rstrip("/") + path, timeout=60) as resp:
            shutil.copyfileobj(resp, out)
    except urllib.error.HTTPError as e:
        try:
            message = json.loads(e.read())["error"]
        except (ValueError, KeyError):
            message = f"HTTP {e.code}"
        raise PiDashboardError(f"the daemon at {base} said: {message}") from None
    except (urllib.error.URLError, OSError) as e:
        raise PiDashboardError(
            f"the history database is in use, but no daemon answers at {base} "
            f"({getattr(e, 'reason', e)}): pass --url or --config"
        ) from None


def _daemon_url(config_path: str | None) -> str:
    host, port = "127.0.0.1", 8080
    if config_path:
        from pi_dashboard.app import load

        server = load(config_path).server
        host = "127.0.0.1" if server.host in ("0.0.0.0", "::", "") else server.host
        port = server.port
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"
