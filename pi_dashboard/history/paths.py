"""Where the history database lives: one file in the data directory, chosen as systemd and the XDG
base-directory spec expect (`--data-dir`, else $PI_DASHBOARD_DATA_DIR, else systemd's
$STATE_DIRECTORY, else, as root, the service's directory when it exists, else
$XDG_DATA_HOME/pi-dashboard, i.e. ~/.local/share/pi-dashboard)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pi_dashboard.errors import PiDashboardError

DATABASE = "history.sqlite3"
SERVICE_DIR = Path("/var/lib/pi-dashboard")
"""The service's data directory (the unit's StateDirectory=, made by install-service): what `sudo
pi-dashboard ...` means with no directory given, so `run`, `token` and `export` agree."""
MOCK_DATABASE = "history-mock.sqlite3"
"""Mock mode's own file beside the real one: simulated readings never mix with real ones."""


def data_dir(
    arg: str | None = None,
    env: Mapping[str, str] | None = None,
    *,
    root: bool | None = None,
    service_dir: Path = SERVICE_DIR,
) -> Path:
    env = os.environ if env is None else env
    root = os.geteuid() == 0 if root is None else root
    if arg:
        return Path(arg).expanduser()
    if env.get("PI_DASHBOARD_DATA_DIR"):
        return Path(env["PI_DASHBOARD_DATA_DIR"]).expanduser()
    if env.get("STATE_DIRECTORY"):  # StateDirectory= may list several, separated by ":"
        return Path(env["STATE_DIRECTORY"].split(":")[0])
    if root and service_dir.is_dir():
        return service_dir
    xdg = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local/share")
    return Path(xdg) / "pi-dashboard"


def database(directory: Path, *, mock: bool) -> Path:
    return directory / (MOCK_DATABASE if mock else DATABASE)


def ensure(directory: Path) -> Path:
    """Create the directory (owner and group only) or say in one line why not."""
    try:
        directory.mkdir(mode=0o750, parents=True, exist_ok=True)
    except OSError as e:
        raise PiDashboardError(
            f"cannot create the data directory {directory}: {e.strerror or e} "
            "(choose another with --data-dir or PI_DASHBOARD_DATA_DIR)"
        ) from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PiDashboardError(
            f"cannot write to the data directory {directory}: permission denied "
            "(choose another with --data-dir or PI_DASHBOARD_DATA_DIR)"
        )
    return directory
