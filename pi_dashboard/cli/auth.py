"""`pi-dashboard set-password | token create|revoke|list`: the login's password and the API
tokens, in `auth.json` in the data directory (docs/security.md). A running daemon notices a
change on its next request: no restart."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from pi_dashboard.cli.codes import EXIT_OK, Subparsers
from pi_dashboard.cli.history import data_dir_option
from pi_dashboard.errors import PiDashboardError

if TYPE_CHECKING:
    from pi_dashboard.web.credentials import CredentialFile


def add_parsers(sub: Subparsers) -> None:
    pw = sub.add_parser("set-password", help="set the login password ([server.auth])")
    pw.add_argument(
        "--stdin", action="store_true", help="read the password from standard input's first line"
    )
    pw.set_defaults(handler=cmd_set_password)
    token = sub.add_parser("token", help="API tokens for scripts and Prometheus")
    verbs = token.add_subparsers(dest="verb", metavar="VERB", required=True)
    create = verbs.add_parser("create", help="make a token (shown once) and store its hash")
    create.add_argument("name")
    revoke = verbs.add_parser("revoke", help="delete a token: it stops working at once")
    revoke.add_argument("name")
    listing = verbs.add_parser("list", help="each token's name, creation and last use")
    for p in (pw, create, revoke, listing):
        data_dir_option(p)
        p.add_argument("--debug", action="store_true")
    create.set_defaults(handler=cmd_token_create)
    revoke.set_defaults(handler=cmd_token_revoke)
    listing.set_defaults(handler=cmd_token_list)


def credential_file(arg: str | None) -> CredentialFile:
    """The data directory as `run` finds it (as root with nothing said, the service's)."""
    from pi_dashboard.history import paths
    from pi_dashboard.web.credentials import CredentialFile

    return CredentialFile(paths.data_dir(arg))


def cmd_set_password(args: argparse.Namespace) -> int:
    f = credential_file(args.data_dir)
    if args.stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        import getpass

        password = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != password:
            raise PiDashboardError("the two passwords differ: nothing changed")
    f.set_password(password)
    print(f"password set in {f.path}; browsers that were logged in must log in again")
    return EXIT_OK


def cmd_token_create(args: argparse.Namespace) -> int:
    f = credential_file(args.data_dir)
    token = f.create_token(args.name)
    print(token)
    print(
        f'token "{args.name}" created; it is shown only now. Send it as '
        f'"Authorization: Bearer <token>" (or PI_DASHBOARD_TOKEN for export/backup --url).',
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_token_revoke(args: argparse.Namespace) -> int:
    credential_file(args.data_dir).revoke_token(args.name)
    print(f'token "{args.name}" revoked', file=sys.stderr)
    return EXIT_OK


def cmd_token_list(args: argparse.Namespace) -> int:
    def when(t: float | None) -> str:
        return "never" if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))

    tokens = credential_file(args.data_dir).describe()
    if not tokens:
        print("no tokens (pi-dashboard token create NAME makes one)", file=sys.stderr)
    for t in tokens:
        print(f"{t['name']}\tcreated {when(t['created'])}\tlast used {when(t['last_used'])}")
    return EXIT_OK
