"""The data directory, chosen as systemd and the XDG spec expect; config's [history] checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from pi_dashboard.errors import ConfigError
from pi_dashboard.history.paths import data_dir, database


@pytest.mark.parametrize(
    ("arg", "env", "expected"),
    [
        ("/srv/pd", {"PI_DASHBOARD_DATA_DIR": "/x", "HOME": "/home/pi"}, "/srv/pd"),
        (None, {"PI_DASHBOARD_DATA_DIR": "/x", "STATE_DIRECTORY": "/var/lib/pd"}, "/x"),
        (None, {"STATE_DIRECTORY": "/var/lib/pd:/var/lib/other", "HOME": "/h"}, "/var/lib/pd"),
        (None, {"XDG_DATA_HOME": "/h/data", "HOME": "/h"}, "/h/data/pi-dashboard"),
        (None, {"HOME": "/home/pi"}, "/home/pi/.local/share/pi-dashboard"),
    ],
)
def test_data_dir_order(arg, env, expected):
    assert data_dir(arg, env, root=False) == Path(expected)


def test_mock_mode_has_its_own_file_beside_the_real_one():
    d = Path("/var/lib/pd")
    assert database(d, mock=False) == d / "history.sqlite3"
    assert database(d, mock=True) == d / "history-mock.sqlite3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[history]\nflush_interval = 0\n", "history.flush_interval: must be 0.1 to 300 seconds"),
        ("[history]\nraw_days = -1\n", "history.raw_days: must be > 0 days"),
        ("[history]\nmax_size_mb = -5\n", "history.max_size_mb: must be >= 0"),
        ("[history]\nflush = 5\n", "history.flush: unknown key"),
        ("history = 5\n", "history: must be a table"),
    ],
)
def test_history_config_errors_name_the_field(make_config, text, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        make_config(text)


def test_history_config_defaults(make_config):
    h = make_config("").history
    assert (h.enabled, h.flush_interval, h.raw_days, h.minute_days, h.hour_days) == (
        True, 5.0, 7.0, 90.0, 1825.0,
    )  # fmt: skip


def test_root_means_the_service_directory_when_nothing_else_is_said(tmp_path):
    """`sudo pi-dashboard run`, `sudo pi-dashboard token create` and `sudo pi-dashboard export`
    all find the service's data (and auth.json) without --data-dir."""
    service = tmp_path / "var-lib-pi-dashboard"
    home = {"HOME": "/root"}
    assert data_dir(None, home, root=True, service_dir=service) == Path(
        "/root/.local/share/pi-dashboard"
    )  # not installed: the user's own directory
    service.mkdir()
    assert data_dir(None, home, root=True, service_dir=service) == service
    assert data_dir(None, home, root=False, service_dir=service) == Path(
        "/root/.local/share/pi-dashboard"
    )
    said = {"STATE_DIRECTORY": "/run/x", **home}
    assert data_dir(None, said, root=True, service_dir=service) == Path("/run/x")
    assert data_dir("/srv/pd", home, root=True, service_dir=service) == Path("/srv/pd")
