"""Command line: `pi-dashboard run | check-config | scan | doctor | install-service | ...`.

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

    from aiohttp import web

    from pi_dashboard import doctor, install
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

        app = create_app(config, mock=mock)
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

    def install(self) -> None:
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._python_handler)

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
