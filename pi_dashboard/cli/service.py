"""`pi-dashboard install-service | uninstall-service`: the systemd unit, its user and config."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from pi_dashboard.cli.codes import EXIT_OK, SERVICE_CONFIG, Subparsers

if TYPE_CHECKING:
    from pi_dashboard import install


def add_parsers(sub: Subparsers) -> None:
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
    install.set_defaults(handler=cmd_install_service)
    uninstall = sub.add_parser(
        "uninstall-service", help="stop and remove the systemd service (as root)"
    )
    uninstall.add_argument(
        "--purge",
        action="store_true",
        help="also remove the config, the history and the pi-dashboard user",
    )
    uninstall.set_defaults(handler=cmd_uninstall_service)
    for parser in (install, uninstall):
        parser.add_argument(
            "--dry-run", action="store_true", help="print every file and command instead"
        )
        parser.add_argument("--debug", action="store_true")


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
