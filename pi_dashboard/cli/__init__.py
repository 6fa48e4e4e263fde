"""Command line: `pi-dashboard run | check-config | scan | doctor | export | backup | ...`.

Exit codes: 0 ok, 1 runtime failure, 2 config error. Expected failures (bad config, port in use,
no permission) print one line, never a traceback, unless `--debug` is given.

One module per command (or family of commands): each adds its parser with `add_parsers` and
names its handler there, so a new command is a new module and its names in `COMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pi_dashboard import __version__
from pi_dashboard.cli.codes import EXIT_CONFIG, EXIT_FAILURE, EXIT_OK
from pi_dashboard.errors import ConfigError, PiDashboardError

COMMANDS = {
    "run": "run",
    "check-config": "checks",
    "scan": "checks",
    "doctor": "checks",
    "export": "history",
    "backup": "history",
    "install-service": "service",
    "uninstall-service": "service",
    "set-password": "auth",
    "token": "auth",
}
"""Each command's module under `pi_dashboard.cli`, in `--help`'s order. A command line naming one
imports that module alone and builds its parsers alone: every command's parsers cost a start of
the daemon a few ms."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every command's parser, or only `command`'s module's if it is one of COMMANDS."""
    p = argparse.ArgumentParser(prog="pi-dashboard", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"pi-dashboard {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    modules = (COMMANDS[command],) if command in COMMANDS else dict.fromkeys(COMMANDS.values())
    for name in modules:
        importlib.import_module(f"pi_dashboard.cli.{name}").add_parsers(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(words[0] if words else None)
    args = parser.parse_args(words)
    if args.command is None:
        parser.print_help()
        return EXIT_CONFIG
    debug = getattr(args, "debug", False)
    try:
        code: int = args.handler(args)
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
    return code
