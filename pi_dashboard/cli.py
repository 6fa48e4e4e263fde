"""Command line: `pi-dashboard run | check-config | scan | export | backup | doctor | ...`.

Exit codes: 0 ok, 1 runtime failure, 2 config error.

Expected failures (bad config, port in use, no permission) print one line, never a traceback,
unless `--debug` is given.

`run` is bounded at both ends: the port is bound before anything starts (a busy port fails at
once, with nothing to undo), SIGTERM/SIGINT stop it from its first line on, the stop takes at
most STOP_S in the event loop and the process is gone EXIT_S after the signal whatever a thread
is doing, and a second signal exits at once.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from pi_dashboard import __version__
from pi_dashboard.errors import ConfigError, PiDashboardError

if TYPE_CHECKING:  # asyncio and aiohttp load after the signal handlers are in place
    import asyncio
    from typing import BinaryIO

    from aiohttp import web

    from pi_dashboard import doctor, install
    from pi_dashboard.config import Config
    from pi_dashboard.history.store import Store
    from pi_dashboard.sim.world import SimWorld

log = logging.getLogger("pi_dashboard")

EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = 0, 1, 2
SERVICE_CONFIG = "/etc/pi-dashboard/config.toml"
"""Where `install-service` puts the config the service runs with."""
STOP_S = 1.5
"""The event loop's share of a stop: web, sensors and the rest of the cleanup together."""
EXIT_S = 1.8
"""From the stop signal to process exit at the latest: threads still running are abandoned."""
LEFTOVER_S = 0.1
"""Tasks still running after the stop get this long to end once cancelled."""
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


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
    scan.add_argument(
        "--lan", action="store_true", help="list the dashboards on the network instead (mDNS)"
    )
    scan.add_argument(
        "--interface", action="append", metavar="ADDR", help="with --lan: browse only there"
    )
    scan.add_argument(
        "--timeout", type=float, default=3.0, metavar="S", help="with --lan: listen this long"
    )
    scan.add_argument("--debug", action="store_true")
    add_history_commands(sub)

    doctor = sub.add_parser(
        "doctor", help="check this Pi for the configured sensors and print each fix"
    )
    doctor.add_argument(
        "--config", "-c", metavar="FILE", help=f"the config to check (default: {SERVICE_CONFIG})"
    )
    doctor.add_argument(
        "--mock", action="store_true", help="check the simulated Pi (of --config, else the demo)"
    )
    doctor.add_argument("--debug", action="store_true")

    install = sub.add_parser(
        "install-service", help="install, enable and start the systemd service (as root)"
    )
    install.add_argument(
        "--config",
        "-c",
        metavar="FILE",
        help=f"install this config as {SERVICE_CONFIG} (default: keep the one there, "
        "else write one from `scan`)",
    )
    uninstall = sub.add_parser(
        "uninstall-service", help="stop and remove the systemd service (as root)"
    )
    uninstall.add_argument(
        "--purge",
        action="store_true",
        help="also remove the config, the history and the pi-dashboard user",
    )
    for parser in (install, uninstall):
        parser.add_argument(
            "--dry-run", action="store_true", help="print every file and command instead"
        )
        parser.add_argument("--debug", action="store_true")

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
        if args.command == "doctor":
            return cmd_doctor(args)
        if args.command == "install-service":
            return cmd_install_service(args)
        if args.command == "uninstall-service":
            return cmd_uninstall_service(args)
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
    from pi_dashboard.demo import load
    from pi_dashboard.polling import validate
    from pi_dashboard.sensors.registry import TYPES

    config = load(args.file)
    validate(config, TYPES)
    print(f"{args.file}: ok ({len(config.sensors)} sensors)")
    return EXIT_OK


def cmd_scan(args: argparse.Namespace) -> int:
    if args.lan:
        return cmd_scan_lan(args)
    from pi_dashboard.app import scan
    from pi_dashboard.demo import load
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


def cmd_scan_lan(args: argparse.Namespace) -> int:
    """`scan --lan`: the dashboards that answer on the network (docs/integrations.md)."""
    import asyncio

    from pi_dashboard.integrations.mdns import browse

    if not 0.1 <= args.timeout <= 60:
        raise ConfigError(f"must be 0.1 to 60 seconds, got {args.timeout:g}", field="--timeout")
    found = asyncio.run(browse(args.timeout, interfaces=args.interface))
    if not found:
        print(f"no pi-dashboard answered within {args.timeout:g} s")
        return EXIT_OK
    width = max(len(f.name) for f in found)
    for f in found:
        print(f"{f.name:<{width}}  {f.url:<28}  node {f.node or '-'}  version {f.version or '?'}")
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from pi_dashboard import doctor
    from pi_dashboard.app import demo_config, load, real_hardware
    from pi_dashboard.config import Config
    from pi_dashboard.polling import validate
    from pi_dashboard.sensors.registry import TYPES

    path = args.config or (SERVICE_CONFIG if Path(SERVICE_CONFIG).exists() else None)
    config: Config | ConfigError | None = None
    if path is not None or args.mock:
        try:
            config = load(path)
            validate(config, TYPES)
        except ConfigError as e:
            config = e
    source = path or ("<built-in demo config>" if args.mock else SERVICE_CONFIG)
    if args.mock:
        from pi_dashboard.sim.world import SimWorld

        with contextlib.closing(SimWorld()) as world:
            world.populate(config if isinstance(config, Config) else demo_config())
            findings = doctor.diagnose(simulated_pi(world), config, source, TYPES)
    else:
        hardware, opener = real_hardware()
        try:
            findings = doctor.diagnose(doctor.Machine.this(hardware), config, source, TYPES)
        finally:
            opener.close()
    print(doctor.report(findings))
    return EXIT_FAILURE if any(f.level is doctor.Level.FAIL for f in findings) else EXIT_OK


def simulated_pi(world: SimWorld) -> doctor.Machine:
    """The simulated Pi as doctor sees it: device nodes for its buses and GPIO chip, the overlays
    its sensors need in config.txt, a user in the i2c and gpio groups, gpiozero's MockFactory."""
    from pi_dashboard import doctor

    dev = world.root / "dev"
    dev.mkdir(exist_ok=True)
    for n in world.buses:
        (dev / f"i2c-{n}").touch()
    (dev / "gpiochip0").touch()
    boot = world.root / "boot" / "firmware"
    boot.mkdir(parents=True, exist_ok=True)
    (boot / "config.txt").write_text("dtparam=i2c_arm=on\ndtoverlay=w1-gpio\n")
    return doctor.Machine(
        hardware=world.hardware(),
        user="pi",
        groups=frozenset({"pi", "i2c", "gpio"}),
        has_module=lambda name: name == "lgpio",
    )


def cmd_install_service(args: argparse.Namespace) -> int:
    from pi_dashboard import install

    _need_root(args.dry_run, "install-service")
    system = install.System.this(scan_toml=_scan_toml)
    config = Path(args.config) if args.config else None
    plan, _ = install.plan_install(system, config)
    return _carry_out(plan, args.dry_run)


def cmd_uninstall_service(args: argparse.Namespace) -> int:
    from pi_dashboard import install

    _need_root(args.dry_run, "uninstall-service")
    system = install.System.this(scan_toml=str)
    return _carry_out(install.plan_uninstall(system, purge=args.purge), args.dry_run)


def _need_root(dry_run: bool, command: str) -> None:
    if not dry_run and os.geteuid() != 0:
        from pi_dashboard.install import InstallError, this_program

        raise InstallError(
            f"{command} changes the system: run it as root (sudo {this_program()} {command}), "
            "or see what it would do with --dry-run"
        )


def _scan_toml() -> str:
    from pi_dashboard.app import scan
    from pi_dashboard.scan import to_toml

    return to_toml(scan(mock=False))


def _carry_out(plan: install.Plan, dry_run: bool) -> int:
    from pi_dashboard import install

    if dry_run:
        print("# --dry-run: nothing is changed; a real run does this:")
    for step in plan.steps:
        text = install.describe(step)
        print(text if dry_run else text.splitlines()[0])
        if not dry_run:
            install.apply(step)
    for note in plan.notes:
        print(note)
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    signals = Signals()
    signals.install()  # first: a SIGTERM while starting is a stop, not a kill
    setup_logging(args.debug)
    from dataclasses import replace

    from pi_dashboard.demo import load
    from pi_dashboard.polling import validate
    from pi_dashboard.sensors.registry import TYPES

    config = load(args.config)
    validate(config, TYPES)  # every config error before the port is bound
    mock = args.mock or args.config is None
    server = config.server
    if args.host is not None:
        server = replace(server, host=args.host)
    if args.port is not None:
        if not 0 <= args.port <= 65535:
            raise ConfigError(f"{args.port} is not a TCP port (0-65535)", field="--port")
        server = replace(server, port=args.port)
    config = replace(config, server=server)
    try:
        socks = listen(server.host, server.port)
    except OSError as e:  # only a failure to bind is reported as one
        if args.debug:
            raise
        print(f"error: {_listen_error(e, server.host, server.port)}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        from pi_dashboard.app import create_app  # the web stack, once the port is ours

        app = create_app(config, mock=mock, **history_args(args, config, mock))
        mode = "mock mode" if mock else "hardware"
        if args.config is None:
            mode = "mock mode, built-in demo config"
        what = f"{mode}, {len(config.sensors)} sensors"
        code = run_loop(_serve(app, socks, server.host, what, signals))
    finally:
        for sock in socks:
            sock.close()
    _exit_in_time(code, signals)
    return code


def listen(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for every address `host` resolves to, as aiohttp's TCPSite would make
    them, but before anything starts: the sensors start only once the port is ours."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    socks: list[socket.socket] = []
    try:
        for family, _, _, _, address in dict.fromkeys(infos):
            socks.append(socket.create_server(address, family=family))
    except OSError:
        for sock in socks:
            sock.close()
        raise
    return socks


class Signals:
    """SIGINT/SIGTERM: the first asks for a stop, a second one exits at once.

    Until the event loop runs, a Python-level handler exits at once (SystemExit(0)); while it
    runs, the loop's own handlers set the stop event (they wake it through its self-pipe, which
    the bounded thread hand-off in polling never fills); after it, a signal is a second one."""

    def __init__(self) -> None:
        self.received: float | None = None
        """`time.monotonic()` of the first stop signal."""
        self._on_stop: Callable[[], None] | None = None
        self._attached = False
        """The event loop has run: from then on a stop goes through the cleanup."""
        self._default_unraisable = sys.unraisablehook

    def install(self) -> None:
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._python_handler)
        if sys.unraisablehook is not self._unraisable:
            self._default_unraisable = sys.unraisablehook
            sys.unraisablehook = self._unraisable

    def _unraisable(self, info: sys.UnraisableHookArgs) -> None:
        """A signal that lands inside a callback Python cannot raise from (an import lock's
        weakref callback, say) has its SystemExit printed as "Exception ignored" and dropped.
        The stop is not lost — `received` is set, and `attach` stops at once — so that
        SystemExit is not an error worth a traceback; anything else is reported as usual."""
        if isinstance(info.exc_value, SystemExit) and self.received is not None:
            return
        self._default_unraisable(info)

    def attach(self, loop: asyncio.AbstractEventLoop, on_stop: Callable[[], None]) -> None:
        self._attached = True
        self._on_stop = on_stop
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, self.handle)
        if self.received is not None:
            on_stop()

    def detach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._on_stop = None
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
        self.install()

    def _python_handler(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None and not self._attached:
            # Still starting (importing, reading the config): nothing runs that a stop must
            # undo, so unwind now rather than at the next check, which may be a second away.
            self.received = time.monotonic()
            raise SystemExit(EXIT_OK)
        self.handle()

    def handle(self) -> None:
        if self.received is not None:
            force_exit("second stop signal: exiting at once")
        self.received = time.monotonic()
        if self._on_stop is not None:
            self._on_stop()


def force_exit(why: str, code: int = EXIT_FAILURE) -> None:
    """Exit now, from any thread: programs that command sensors started are killed first."""
    command = sys.modules.get("pi_dashboard.sensors.command")
    if command is not None:
        command.kill_all()
    with contextlib.suppress(Exception):
        os.write(2, f"pi-dashboard: {why}\n".encode())
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def run_loop(main: Coroutine[object, object, int]) -> int:
    """asyncio.run without its unbounded waits: leftover tasks get LEFTOVER_S once cancelled,
    and the default executor's threads are not joined (one may be stuck in a driver call)."""
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(main)
    finally:
        try:
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.wait(tasks, timeout=LEFTOVER_S))
            closing = loop.create_task(loop.shutdown_asyncgens())
            loop.run_until_complete(asyncio.wait((closing,), timeout=LEFTOVER_S))
        finally:
            loop.close()  # shuts the default executor down without waiting for its threads


def _exit_in_time(code: int, signals: Signals) -> None:
    """Interpreter exit joins every non-daemon thread (executor workers too): give them until
    EXIT_S after the signal, then leave without them."""
    start = signals.received if signals.received is not None else time.monotonic()
    deadline = start + EXIT_S
    for t in threading.enumerate():
        if t is threading.main_thread() or t.daemon:
            continue
        t.join(max(deadline - time.monotonic(), 0.0))
        if t.is_alive():
            force_exit(f"stopped; abandoning thread {t.name}, still busy", code)


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
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
    if host.startswith("127.") or host in ("::1", "localhost"):
        return f"{url} (this machine only; --host 0.0.0.0 shares it on the LAN)"
    return url


async def _serve(
    app: web.Application, socks: list[socket.socket], host: str, what: str, signals: Signals
) -> int:
    import asyncio

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
            from pi_dashboard.web.server import start_site

            for sock in socks:  # [server] limits: docs/config.md
                await start_site(runner, app[CONFIG].server, sock=sock)
            port = socks[0].getsockname()[1]  # --port 0: tests read the port from this line
            log.info("pi-dashboard %s serving %s (%s)", __version__, _display_url(host, port), what)
            notifier.ready(lambda: status_line(app))
            await stop.wait()
        log.info("shutting down")
    finally:
        notifier.stopping()
        await _cleanup(runner)
        signals.detach(loop)
    return EXIT_OK


async def _cleanup(runner: web.AppRunner) -> None:
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
