"""`pi-dashboard export | backup`: history out of the database, or from the running daemon when
it holds the database (docs/history.md)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pi_dashboard.cli.codes import EXIT_OK, Subparsers
from pi_dashboard.errors import ConfigError, PiDashboardError

if TYPE_CHECKING:
    from typing import BinaryIO

    from pi_dashboard.history.store import Store


def data_dir_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where history is kept (default: $PI_DASHBOARD_DATA_DIR, $STATE_DIRECTORY, "
        "else ~/.local/share/pi-dashboard)",
    )


def add_parsers(sub: Subparsers) -> None:
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
        data_dir_option(p)
        p.add_argument("--mock", action="store_true", help="mock mode's database")
        p.add_argument(
            "--config", "-c", metavar="FILE", help="the daemon's config (to find its port)"
        )
        p.add_argument("--url", help="the running daemon (default: from --config, else :8080)")
        p.add_argument(
            "--token",
            default=os.environ.get("PI_DASHBOARD_TOKEN"),
            help="API token for a daemon with [server.auth] on (default: $PI_DASHBOARD_TOKEN)",
        )
        p.add_argument("--debug", action="store_true")
    export.set_defaults(handler=cmd_export)
    backup.set_defaults(handler=cmd_backup)


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
    request = urllib.request.Request(base.rstrip("/") + path)
    if args.token:
        request.add_header("Authorization", f"Bearer {args.token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            shutil.copyfileobj(resp, out)
    except urllib.error.HTTPError as e:
        try:
            message = json.loads(e.read())["error"]
        except (ValueError, KeyError):
            message = f"HTTP {e.code}"
        hint = " (pass --token or set PI_DASHBOARD_TOKEN)" if e.code == 401 else ""
        raise PiDashboardError(f"the daemon at {base} said: {message}{hint}") from None
    except (urllib.error.URLError, OSError) as e:
        raise PiDashboardError(
            f"the history database is in use, but no daemon answers at {base} "
            f"({getattr(e, 'reason', e)}): pass --url or --config"
        ) from None


def _daemon_url(config_path: str | None) -> str:
    host, port = "127.0.0.1", 8080
    if config_path:
        from pi_dashboard.demo import load

        server = load(config_path).server
        host = "127.0.0.1" if server.host in ("0.0.0.0", "::", "") else server.host
        port = server.port
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"
