"""`pi-dashboard check-config | scan | doctor`: the config, the buses and the Pi, checked without
starting the daemon. check-config loads a config exactly as `run` does."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from pi_dashboard.cli.codes import EXIT_FAILURE, EXIT_OK, SERVICE_CONFIG, Subparsers
from pi_dashboard.errors import ConfigError

if TYPE_CHECKING:
    from pi_dashboard import doctor
    from pi_dashboard.sim.world import SimWorld


def add_parsers(sub: Subparsers) -> None:
    check = sub.add_parser("check-config", help="validate a config file and exit")
    check.add_argument("file", metavar="FILE")
    check.add_argument("--debug", action="store_true")
    check.set_defaults(handler=cmd_check_config)

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
    scan.set_defaults(handler=cmd_scan)

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
    doctor.set_defaults(handler=cmd_doctor)


def cmd_check_config(args: argparse.Namespace) -> int:
    from pi_dashboard.demo import load

    config = load(args.file)  # what `run` loads, the same way
    if config.server.tls is not None:  # and the certificate, as `run` does before it listens
        from pi_dashboard.web.tls import server_context

        server_context(config.server.tls, config.source)
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
    from pi_dashboard.app import real_hardware
    from pi_dashboard.config import Config
    from pi_dashboard.demo import demo_config, load
    from pi_dashboard.sensors.registry import TYPES

    path = args.config or (SERVICE_CONFIG if Path(SERVICE_CONFIG).exists() else None)
    config: Config | ConfigError | None = None
    if path is not None or args.mock:
        try:
            config = load(path)
        except ConfigError as e:
            config = e
    source = path or ("<built-in demo config>" if args.mock else SERVICE_CONFIG)
    if args.mock:
        from pi_dashboard.sim.world import SimWorld

        with contextlib.closing(SimWorld()) as world:
            world.populate(config if isinstance(config, Config) else demo_config(), TYPES)
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
