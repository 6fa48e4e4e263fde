"""The naive design history is measured against: one row per sample, SQLite's defaults otherwise.

Same durability as the real store (WAL, synchronous=FULL, one transaction per flush), an index on
(series, ts) for range queries, 4 KB pages and shared locking: a plain recorder table, as Home
Assistant's `states` table is in spirit. Only what `History` calls is implemented; no roll-ups.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pi_dashboard.history.codec import Samples
from pi_dashboard.history.store import SeriesInfo, Stats, Transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY, sensor TEXT NOT NULL, channel TEXT NOT NULL,
    precision INTEGER NOT NULL, UNIQUE (sensor, channel)
);
CREATE TABLE IF NOT EXISTS samples (series INTEGER NOT NULL, ts REAL NOT NULL, value REAL);
CREATE INDEX IF NOT EXISTS samples_by_time ON samples (series, ts);
"""


class NaiveStore:
    def __init__(self, path: str | Path, *, synchronous: str = "FULL", **_: Any) -> None:
        self.path = str(path)
        self.stats = Stats()
        self.series: dict[int, SeriesInfo] = {}
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute(f"PRAGMA synchronous = {synchronous}")
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def transaction(self) -> Any:
        return Transaction(self.conn)

    def register(self, info: SeriesInfo) -> int:
        self.conn.execute(
            "INSERT OR IGNORE INTO series (sensor, channel, precision) VALUES (?, ?, ?)",
            (info.sensor, info.channel, info.precision),
        )
        sid = self.find(info.sensor, info.channel)
        assert sid is not None
        self.series[sid] = info
        return sid

    def find(self, sensor: str, channel: str, node: str = "") -> int | None:
        row = self.conn.execute(
            "SELECT id FROM series WHERE sensor=? AND channel=?", (sensor, channel)
        ).fetchone()
        return None if row is None else int(row[0])

    def append(self, batch: dict[int, Samples]) -> None:
        rows: list[Sequence[object]] = []
        for sid, s in batch.items():
            scale = 10.0**s.precision
            rows += [
                (sid, t / 1000, None if q is None else q / scale)
                for t, q in zip(s.t, s.q, strict=True)
            ]
        with self.transaction():
            self.conn.executemany("INSERT INTO samples (series, ts, value) VALUES (?, ?, ?)", rows)
        self.stats.flushes += 1
        self.stats.samples += len(rows)

    def latest(self, sid: int) -> tuple[float, float] | None:
        row = self.conn.execute(
            "SELECT ts, value FROM samples WHERE series=? AND value IS NOT NULL"
            " ORDER BY ts DESC LIMIT 1",
            (sid,),
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def raw(self, sid: int, t_from: float, t_to: float) -> Samples:
        p = self.series[sid].precision
        s = Samples(p)
        for ts, v in self.conn.execute(
            "SELECT ts, value FROM samples WHERE series=? AND ts >= ? AND ts < ? ORDER BY ts",
            (sid, t_from, t_to),
        ):
            s.t.append(round(ts * 1000))
            s.q.append(None if v is None else round(v * 10**p))
        return s

    def seal_due(self) -> bool:
        return False

    def seal_step(self) -> bool:
        return False

    def sweep_step(self) -> bool:
        return False

    def file_bytes(self) -> int:
        return sum(
            os.stat(self.path + s).st_size
            for s in ("", "-wal", "-shm")
            if os.path.exists(self.path + s)
        )
