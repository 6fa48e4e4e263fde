"""The database schema and its migrations, versioned with `PRAGMA user_version`.

Each migration moves the schema up one version inside one transaction, so an upgrade that is cut
off (power, SIGKILL) leaves the previous version intact and runs again on the next start. Never edit
a released migration: append one. docs/history.md describes every table.
"""

from __future__ import annotations

import logging
import sqlite3

from pi_dashboard.errors import PiDashboardError

log = logging.getLogger(__name__)

V1 = """
CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    sensor TEXT NOT NULL,
    channel TEXT NOT NULL,
    unit TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    precision INTEGER NOT NULL,
    binary INTEGER NOT NULL DEFAULT 0,
    interval_s REAL NOT NULL,
    sealed_seq INTEGER NOT NULL DEFAULT 0,
    UNIQUE (sensor, channel, unit)
);
CREATE TABLE chunks (
    series INTEGER NOT NULL REFERENCES series (id),
    tier INTEGER NOT NULL,
    t0 INTEGER NOT NULL,
    t_first REAL NOT NULL,
    t_last REAL NOT NULL,
    n INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX chunks_by_time ON chunks (series, tier, t0);
CREATE TABLE staging (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
"""

V2 = """
CREATE TABLE series_v2 (
    id INTEGER PRIMARY KEY,
    node TEXT NOT NULL DEFAULT '',
    sensor TEXT NOT NULL,
    channel TEXT NOT NULL,
    unit TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT 'none',
    precision INTEGER NOT NULL,
    binary INTEGER NOT NULL DEFAULT 0,
    interval_s REAL NOT NULL,
    sealed_seq INTEGER NOT NULL DEFAULT 0,
    UNIQUE (node, sensor, channel, unit)
);
INSERT INTO series_v2 (id, sensor, channel, unit, name, precision, binary, interval_s, sealed_seq)
    SELECT id, sensor, channel, unit, name, precision, binary, interval_s, sealed_seq FROM series;
DROP TABLE series;
ALTER TABLE series_v2 RENAME TO series;
"""
"""v2: series gain a `node` (empty for this daemon's own sensors), so the history of other nodes'
sensors can be kept beside ours, and a `kind` (the channel's device class), so a replayed database
shows each channel as it was. SQLite cannot change a UNIQUE constraint in place: the table is
rebuilt, ids kept, so chunks still point at their series."""

MIGRATIONS: tuple[str, ...] = (V1, V2)
VERSION = len(MIGRATIONS)


class SchemaError(PiDashboardError):
    """The database was written by a newer pi-dashboard: refuse rather than guess."""


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, target: int = VERSION) -> int:
    """Bring the schema to `target`; returns the version found. The connection must be in
    autocommit mode (isolation_level=None): each step is its own explicit transaction."""
    found = version(conn)
    if found > VERSION:
        raise SchemaError(
            f"the history database has schema version {found}, newer than this pi-dashboard "
            f"understands ({VERSION}): upgrade pi-dashboard or use another --data-dir"
        )
    for v in range(found, target):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[v].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {v + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if found:
            log.info("history database upgraded to schema version %d", v + 1)
    return found
