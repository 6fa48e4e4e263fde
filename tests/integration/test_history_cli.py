"""History from the command line, as a user runs it: export and backup with the daemon stopped
and while it runs (then through it), replay of an export, and one-line errors."""

from __future__ import annotations

import csv
import io
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from live_daemon import Daemon
from waiting import wait_until

CONFIG = """
[history]
flush_interval = 0.2

[[sensors]]
id = "greenhouse"
type = "demo"
interval = 0.1
"""


def cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pi_dashboard", *args],
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def daemon(tmp_path: Path, *extra: str, config: Path | None = None, data: Path) -> Daemon:
    """A daemon (not mock mode: the demo sensors need no hardware) writing history to `data`."""
    return Daemon(config=config, tmp=tmp_path, mock=False, data=data, extra=extra).start()


@pytest.fixture
def recorded(tmp_path) -> Path:
    """A data directory with a few seconds of history from a daemon that has stopped."""
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    data = tmp_path / "data"
    d = daemon(tmp_path, config=config, data=data)
    wait_until(
        lambda: sum(d.get_json("/api/history?sensor=greenhouse&channel=humidity")["count"]) >= 20
    )
    d.stop()
    return data


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_export_and_backup_with_the_daemon_stopped(recorded, tmp_path):
    r = cli("export", "--data-dir", str(recorded), "--since", "10m", "--step", "0")
    assert r.returncode == 0, r.stderr
    table = rows(r.stdout)
    assert table[0] == ["time", "epoch_s", "greenhouse/temperature (°C)",
                        "greenhouse/humidity (%)", "greenhouse/pressure (hPa)"]  # fmt: skip
    assert len(table) >= 21
    copy = tmp_path / "copy.sqlite3"
    r = cli("backup", str(copy), "--data-dir", str(recorded))
    assert r.returncode == 0, r.stderr
    conn = sqlite3.connect(copy)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_export_and_backup_while_the_daemon_runs_go_through_it(recorded, tmp_path):
    config = tmp_path / "config.toml"
    d = daemon(tmp_path, config=config, data=recorded)
    try:
        r = cli("export", "--data-dir", str(recorded), "--since", "1h", "--step", "1s",
                "--sensor", "greenhouse", "--channel", "temperature", "--url", d.url)  # fmt: skip
        assert r.returncode == 0, r.stderr
        table = rows(r.stdout)
        assert table[0][2:] == ["greenhouse/temperature (°C)"]
        assert len(table) >= 3
        copy = tmp_path / "live.sqlite3"
        r = cli("backup", str(copy), "--data-dir", str(recorded), "--url", d.url)
        assert r.returncode == 0, r.stderr
        conn = sqlite3.connect(copy)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
        r = cli("export", "--data-dir", str(recorded), "--url", "http://127.0.0.1:9")
        assert r.returncode == 1
        assert "no daemon answers at http://127.0.0.1:9" in r.stderr
        assert "Traceback" not in r.stderr
    finally:
        d.stop()


def test_replay_plays_an_export_as_live_readings(recorded, tmp_path):
    r = cli("export", "--data-dir", str(recorded), "--since", "1h", "--step", "0")
    export = tmp_path / "night.csv"
    export.write_text(r.stdout)
    started = time.time()
    d = daemon(tmp_path, "--replay", str(export), "--speed", "4", data=tmp_path / "unused")
    try:
        sensor = wait_until(
            lambda: (s := d.get_json("/api/sensors/greenhouse"))["status"] == "ok" and s
        )
        assert sensor["type"] == "replay"
        assert sensor["ts"] >= started, "replayed readings are live readings, stamped now"
        t = {c["id"]: c for c in sensor["channels"]}["temperature"]
        assert (t["unit"], t["kind"]) == ("°C", "temperature")
        first = sensor["ts"]
        wait_until(lambda: d.get_json("/api/sensors/greenhouse")["ts"] > first)
    finally:
        d.stop()
    assert not (tmp_path / "unused").exists(), "a replay writes no history to disk"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["run", "--replay", "/nonexistent.csv"], 1, "cannot read /nonexistent.csv"),
        (["run", "--replay", __file__, "--port", "0"], 1, "not a pi-dashboard export"),
        (["run", "--replay", __file__, "--speed", "0"], 2, "--speed: must be > 0"),
        (["export", "--since", "soon"], 2, "--since: 'soon' is not a duration"),
        (["export", "--data-dir", "/nonexistent"], 1, "no history at /nonexistent"),
        (["backup", "x.sqlite3", "--data-dir", "/nonexistent"], 1, "no history at /nonexistent"),
    ],
)
def test_history_errors_are_one_line(args, code, message):
    r = cli(*args)
    assert r.returncode == code, r.stderr
    assert "Traceback" not in r.stderr
    assert message in r.stderr.strip().splitlines()[-1]
