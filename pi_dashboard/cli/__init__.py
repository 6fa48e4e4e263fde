"""Command line: `pi-dashboard run | check-config | scan | doctor | export | backup | ...`.

Exit codes: 0 ok, 1 runtime failure, 2 config error. Expected failures (bad config, port in use,
no permission) print one line, never a traceback, unless `--debug` is given.

One module per command (or family of commands): each adds its parser with `add_parsers` and
names its handler there, so a new command is a new module and one line in `build_parser`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pi_dashboard import __version__
from pi_dashboard.cli import auth, checks, history, run, service
from pi_dashboard.cli.codes import EXIT_CONFIG, EXIT_FAILURE, EXIT_OK
from pi_dashboard.errors import ConfigError, PiDashboardError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pi-dashboard", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"pi-dashboard {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for module in (run, checks, history, service, auth):
        module.add_parsers(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
