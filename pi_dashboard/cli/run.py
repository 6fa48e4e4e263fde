"""`pi-dashboard run`: the daemon. The port is bound before anything starts (a busy port fails at
once, with nothing to undo); config errors exit 2 before that, through the one loader.
"""

from __future__ import annotations

import argparse
import errno
import logging
import socket
import sys
from typing import TYPE_CHECKING, TypedDict

from pi_dashboard import __version__
from pi_dashboard.cli.codes import EXIT_FAILURE, EXIT_OK, Subparsers
from pi_dashboard.cli.history import data_dir_option
from pi_dashboard.cli.lifecycle import STOP_S, Signals, exit_in_time, run_loop
from pi_dashboard.errors import ConfigError

if TYPE_CHECKING:  # asyncio and aiohttp load after the signal handlers are in place
    import ssl

    from aiohttp import web

    from pi_dashboard.config import Config, HttpsConfig
    from pi_dashboard.history.replay import Recording
    from pi_dashboard.history.service import History
    from pi_dashboard.web.credentials import CredentialFile

log = logging.getLogger("pi_dashboard")


def add_parsers(sub: Subparsers) -> None:
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
    run.set_defaults(handler=cmd_run)


def setup_logging(debug: bool) -> None:
    """Under systemd (JOURNAL_STREAM) no timestamps (journald adds them) and `<N>` priorities."""
    from pi_dashboard.service import log_formatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(log_formatter(sys.stderr))
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO, handlers=[handler])
    for noisy in ("aiohttp.access", "engineio", "socketio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from pi_dashboard.logs import install

    install(debug)


def cmd_run(args: argparse.Namespace) -> int:
    signals = Signals()
    signals.install()  # first: a SIGTERM while starting is a stop, not a kill
    try:
        return _run(args, signals)
    except BaseException as e:
        if signals.stopped_starting(e):
            return EXIT_OK
        raise


def _run(args: argparse.Namespace, signals: Signals) -> int:
    setup_logging(args.debug)
    from dataclasses import replace

    from pi_dashboard.demo import load

    config = load(args.config)  # every config error before the port is bound
    mock = args.mock or args.config is None
    server = config.server
    if args.host is not None:
        server = replace(server, host=args.host)
    if args.port is not None:
        if not 0 <= args.port <= 65535:
            raise ConfigError(f"{args.port} is not a TCP port (0-65535)", field="--port")
        server = replace(server, port=args.port)
    config = replace(config, server=server)
    tls = None
    if server.tls is not None:  # a certificate that does not load is a config error: exit 2
        from pi_dashboard.web.tls import server_context

        tls = server_context(server.tls, config.source)
    try:
        socks = listen(server.host, server.port)
    except OSError as e:  # only a failure to bind is reported as one
        if args.debug:
            raise
        print(f"error: {listen_error(e, server.host, server.port)}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        from pi_dashboard.app import create_app  # the web stack, once the port is ours

        app = create_app(
            config,
            mock=mock,
            credentials=credentials(args, config),
            **history_args(args, config, mock),
        )
        mode = "mock mode" if mock else "hardware"
        if args.config is None:
            mode = "mock mode, built-in demo config"
        what = f"{mode}, {len(config.sensors)} sensors"
        signals.hold()  # the loop is built next: a stop now is acted on once it runs
        code = run_loop(serve(app, socks, server.host, what, signals, tls))
    finally:
        for sock in socks:
            sock.close()
    exit_in_time(code, signals)
    return code


def listen(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for every address `host` resolves to, as aiohttp's TCPSite would make
    them, but before anything starts: the sensors start only once the port is ours."""
    # An ASCII name as bytes: a str goes through the "idna" codec, whose import (with stringprep
    # and unicodedata) costs ~1 ms of every start; the config checked the name already.
    name = host.encode("ascii") if host.isascii() else host
    infos = socket.getaddrinfo(name or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    socks: list[socket.socket] = []
    try:
        for family, _, _, _, address in dict.fromkeys(infos):
            socks.append(socket.create_server(address, family=family))
    except OSError:
        for sock in socks:
            sock.close()
        raise
    return socks


def listen_error(e: OSError, host: str, port: int) -> str:
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


def reload(tls: ssl.SSLContext | None, https: HttpsConfig | None) -> None:
    """SIGHUP (`systemctl reload`): a renewed certificate. Never the default action, which ends
    the process."""
    if tls is None or https is None:
        log.info("SIGHUP: nothing to reload (restart to apply a changed config)")
        return
    from pi_dashboard.web.tls import reload as reload_certificate

    reload_certificate(tls, https)


def _display_url(host: str, port: int, scheme: str = "http") -> str:
    if host in ("0.0.0.0", "::", ""):
        return f"{scheme}://{socket.gethostname()}:{port}/ (all interfaces)"
    url = f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}/"
    if host.startswith("127.") or host in ("::1", "localhost"):
        return f"{url} (this machine only; --host 0.0.0.0 shares it on the LAN)"
    return url


async def serve(
    app: web.Application,
    socks: list[socket.socket],
    host: str,
    what: str,
    signals: Signals,
    tls: ssl.SSLContext | None = None,
) -> int:
    import asyncio
    import signal

    from aiohttp import web

    from pi_dashboard.service import Notifier, status_line

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals.attach(loop, stop.set)
    notifier = Notifier.from_env()
    # Open websockets would hold aiohttp's shutdown for 60 s; browsers reconnect on their own,
    # so give in-flight requests half a second and close the rest (systemctl stop is quick).
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
    try:
        await runner.setup()  # starts the sensors: the port is already bound (cmd_run)
        if not stop.is_set():
            from pi_dashboard.web.keys import CONFIG
            from pi_dashboard.web.server import settle_heap, start_site, trim_heaps

            for sock in socks:  # [server] limits: docs/config.md
                await start_site(runner, app[CONFIG].server, sock=sock, ssl_context=tls)
            settle_heap()
            trim_heaps(loop)
            loop.add_signal_handler(signal.SIGHUP, reload, tls, app[CONFIG].server.tls)
            port = socks[0].getsockname()[1]  # --port 0: tests read the port from this line
            url = _display_url(host, port, "https" if tls is not None else "http")
            log.info("pi-dashboard %s serving %s (%s)", __version__, url, what)
            notifier.ready(lambda: status_line(app))
            await stop.wait()
        log.info("shutting down")
    finally:
        notifier.stopping()
        await cleanup(runner)
        signals.detach(loop)
    return EXIT_OK


async def cleanup(runner: web.AppRunner) -> None:
    """At most STOP_S. A failure here is logged: it never changes the exit code of a stop, nor
    is it reported as anything else (a listen error, say)."""
    import asyncio

    try:
        async with asyncio.timeout(STOP_S):
            await runner.cleanup()
    except TimeoutError:
        log.warning("stopping took longer than %g s: leaving the rest undone", STOP_S)
        command = sys.modules.get("pi_dashboard.sensors.command")
        if command is not None:
            command.kill_all()
    except Exception as e:
        log.warning("while stopping: %s", e, exc_info=log.isEnabledFor(logging.DEBUG))


def credentials(args: argparse.Namespace, config: Config) -> CredentialFile | None:
    """`[server.auth]`'s password and tokens: auth.json beside the history (cli/auth.py)."""
    if not config.server.auth.enabled:
        return None
    from pi_dashboard.history import paths
    from pi_dashboard.web.credentials import CredentialFile

    f = CredentialFile(paths.data_dir(args.data_dir))
    creds = f.load()
    if creds.password is None and not creds.tokens and not config.server.auth.trusted_networks:
        log.warning("[server.auth] is on but nobody can log in: run `pi-dashboard set-password`")
    return f


# --- history: where it is kept, or a recording to replay (docs/history.md) ---


def add_history_options(run: argparse.ArgumentParser) -> None:
    data_dir_option(run)
    run.add_argument(
        "--replay",
        metavar="FILE",
        help="play exported history (CSV export or database copy) as live readings, in mock mode",
    )
    run.add_argument(
        "--speed", type=float, default=1.0, metavar="N", help="with --replay: N times faster"
    )


class HistoryArgs(TypedDict, total=False):
    """create_app's history keyword arguments."""

    history: History
    replay: Recording
    speed: float


def history_args(args: argparse.Namespace, config: Config, mock: bool) -> HistoryArgs:
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
