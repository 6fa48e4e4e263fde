"""A real daemon writing history, killed: SIGKILL at random moments loses at most one flush
interval and never corrupts the database; SIGTERM loses nothing."""

from __future__ import annotations

import random
import signal
import sqlite3
import time
from pathlib import Path

import pytest
import socketio
from live_daemon import Daemon
from waiting import until

from pi_dashboard.history.store import Store

pytestmark = pytest.mark.slow

FLUSH_S = 0.5
INTERVAL_S = 0.05
SLACK_S = 0.3
"""Scheduling slack on a loaded machine: a commit in flight, a late poll, a late flush."""
CONFIG = f"""
[history]
flush_interval = {FLUSH_S}

[[sensors]]
id = "room"
type = "demo"
interval = {INTERVAL_S}

[[sensors]]
id = "cellar"
type = "demo"
interval = {INTERVAL_S}
"""


def check(db: Path) -> list[tuple[int, int | None]]:
    """integrity_check, then every stored sample of room/temperature."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    store = Store(db)
    try:
        s = store.raw(store.find("room", "temperature"), 0, 2**40)  # type: ignore[arg-type]
        return list(zip(s.t, s.q, strict=True))
    finally:
        store.close()


def test_sigkill_at_random_moments_loses_at_most_one_flush_interval(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    data = tmp_path / "data"
    rng = random.Random()
    kept: list[tuple[int, int | None]] = []
    for run in range(20):
        d = Daemon(config=config, tmp=tmp_path, mock=False, data=data).start()
        time.sleep(rng.uniform(FLUSH_S + 0.1, 1.2))
        killed_at = time.time()
        d.stop(signal.SIGKILL)
        rows = check(data / "history.sqlite3")
        assert rows[: len(kept)] == kept, f"run {run}: samples kept before were lost"
        values = [t for t, q in rows if q is not None]
        lost = killed_at - values[-1] / 1000
        assert lost <= FLUSH_S + INTERVAL_S + SLACK_S, f"run {run}: lost the last {lost:.2f} s"
        kept = rows


async def test_sigterm_loses_nothing(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.replace(f"flush_interval = {FLUSH_S}", "flush_interval = 60"))
    data = tmp_path / "data"
    d = Daemon(config=config, tmp=tmp_path, mock=False, data=data).start()
    readings: list[dict] = []
    client = socketio.AsyncClient(reconnection=False)
    client.on("reading", readings.append)
    await client.connect(f"http://127.0.0.1:{d.port}", transports=["websocket"], wait_timeout=5)
    await until(lambda: sum(1 for r in readings if r["sensor"] == "room") >= 20)
    await client.disconnect()
    d.stop(signal.SIGTERM)  # a minute before the next flush: only the stop can save them
    assert d.proc.returncode == 0
    stored = dict(check(data / "history.sqlite3"))
    for r in readings:
        if r["sensor"] == "room" and "temperature" in r["values"]:
            q = round(r["values"]["temperature"] * 100)
            assert stored.get(round(r["ts"] * 1000)) == q, r
