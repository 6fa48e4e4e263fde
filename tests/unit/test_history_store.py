"""The SQLite store on real files: one WAL frame per flush, recovery after a crash (also halfway
through a seal), bounded staging, the size cap, and upgrades from the first schema version."""

from __future__ import annotations

import gc
import os
import shutil
import sqlite3
import weakref

import pytest

from pi_dashboard.history import schema
from pi_dashboard.history.codec import Samples, encode_raw
from pi_dashboard.history.store import (
    BLOCK_SAMPLES,
    PAGE_SIZE,
    PRUNE_BLOBS,
    SEAL_BATCH,
    WAL_BYTES,
    SeriesInfo,
    Store,
)
from pi_dashboard.history.tiers import RAW, Retention

T0 = 1_800_000_000  # epoch s, on an hour boundary


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def flush(store: Store, ids: list[int], t: float, n: int = 5, value: int = 2000) -> None:
    """n one-second samples per series starting at t, as one flush."""
    batch = {}
    for k, sid in enumerate(ids):
        ms = [round((t + i) * 1000) for i in range(n)]
        batch[sid] = Samples(2, ms, [value + k * 10 + i for i in range(n)])
    store.append(batch)


def register(store: Store, n: int) -> list[int]:
    with store.transaction():
        return [
            store.register(SeriesInfo(sensor=f"s{i // 3}", channel=f"c{i % 3}", precision=2))
            for i in range(n)
        ]


def every_sample(store: Store, sid: int) -> list[tuple[int, int | None]]:
    s = store.raw(sid, 0, 2**40)
    return list(zip(s.t, s.q, strict=True))


def wal_frames(path: str) -> int:
    """Frames in the WAL's current generation: those carrying the header's salts (the file is
    reserved at its working size, so its length says nothing)."""
    with open(path, "rb") as f:
        data = f.read()
    salts = data[16:24]
    n, pos = 0, 32
    while pos + 24 + PAGE_SIZE <= len(data) and data[pos + 8 : pos + 16] == salts:
        n, pos = n + 1, pos + 24 + PAGE_SIZE
    return n


def test_a_flush_rewrites_exactly_one_page(tmp_path):
    """30 channels x 5 samples: one WAL frame (page + 24-byte header) per commit, once the
    staging rows exist; this also checks `overflow_layout` against SQLite's real layout."""
    clock = Clock()
    path = tmp_path / "h.sqlite3"
    store = Store(path, clock=clock)
    ids = register(store, 30)
    flush(store, ids, T0)  # allocates the first staging row
    frames = []
    for k in range(1, 200):
        before = wal_frames(f"{path}-wal")
        flush(store, ids, T0 + 5 * k)
        frames.append(wal_frames(f"{path}-wal") - before)
    fresh_rows = [f for f in frames if f > 100]  # a new 64 KB staging row now and then
    assert sum(1 for f in frames if f == 1) >= len(frames) - len(fresh_rows) - 2
    store.close()


def ten_flushes(path: os.PathLike[str], clock: Clock) -> tuple[Store, list[int]]:
    """A store as the daemon opens it, with 3 series and 10 flushes of 5 samples each, nothing
    sealed."""
    store = Store(path, clock=clock)
    store.reserve_wal()
    ids = register(store, 3)
    for k in range(10):
        flush(store, ids, T0 + 5 * k)
    return store, ids


def test_staged_samples_survive_a_restart_and_queries_see_them(tmp_path):
    clock = Clock()
    path = tmp_path / "h.sqlite3"
    store, ids = ten_flushes(path, clock)
    expected = every_sample(store, ids[1])
    assert len(expected) == 50
    store.conn.close()  # as a SIGKILL leaves it: no seal, the WAL not checkpointed
    again = Store(path, clock=clock)
    assert every_sample(again, ids[1]) == expected
    flush(again, ids, T0 + 50)
    assert len(every_sample(again, ids[1])) == 55
    assert again.query(ids[1], T0, T0 + 60, 500).count == [1] * 55
    again.close()


def test_a_seal_cut_off_halfway_resumes_without_duplicates_or_loss(tmp_path):
    clock = Clock()
    path = tmp_path / "h.sqlite3"
    store = Store(path, clock=clock)
    ids = register(store, 3 * SEAL_BATCH)  # three seal transactions' worth of series
    for k in range(20):
        flush(store, ids, T0 + 5 * k)
    before = {sid: every_sample(store, sid) for sid in ids}
    clock.t = T0 + 3600 + 1
    assert store.seal_step() is True  # one batch of series sealed, the round not finished
    store.conn.close()  # killed here
    again = Store(path, clock=clock)
    again.seal_all()
    assert not again._unsealed, "everything is in chunks now"
    for sid in ids:
        assert every_sample(again, sid) == before[sid]
    n = again.conn.execute("SELECT count(*) FROM chunks WHERE tier=?", (RAW,)).fetchone()[0]
    assert n == len(ids), "one raw chunk per series for the hour: nothing sealed twice"
    again.close()


def test_staging_is_reused_after_sealing_not_grown(tmp_path):
    clock = Clock()
    store = Store(tmp_path / "h.sqlite3", clock=clock)
    ids = register(store, 30)
    rows = []
    for hour in range(4):
        for k in range(720):
            flush(store, ids, T0 + hour * 3600 + 5 * k)
        clock.t = T0 + (hour + 1) * 3600 + 1
        store.seal_all()
        rows.append(store.conn.execute("SELECT count(*) FROM staging").fetchone()[0])
    assert rows[-1] == rows[1], rows
    store.close()


def test_the_size_cap_deletes_the_oldest_raw_data_first(tmp_path, caplog):
    clock = Clock()
    store = Store(tmp_path / "h.sqlite3", clock=clock)
    ids = register(store, 3)
    hours = 30
    for hour in range(hours):
        for k in range(0, 3600, 300):
            flush(store, ids, T0 + hour * 3600 + k, n=300)
        clock.t = T0 + (hour + 1) * 3600 + 1
        store.seal_all()
    full = store.used_bytes()
    store.retention = Retention(max_bytes=1000)  # far below: delete all the cap may delete
    while store.sweep_step():
        pass
    assert store.used_bytes() < full
    oldest = dict(store.conn.execute("SELECT tier, min(t0) FROM chunks GROUP BY tier"))
    # chunks starting more than a day and an hour ago went; the last day of raw samples stays
    assert oldest[RAW] == T0 + (hours - 24) * 3600
    assert oldest[60] == T0, "roll-ups stay while raw data can go"
    assert sum("over its" in r.message for r in caplog.records) == 1, "said once, not per batch"
    store.close()


def test_migration_from_the_first_schema_version_keeps_the_data(tmp_path):
    path = tmp_path / "h.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    schema.migrate(conn, target=1)
    assert schema.version(conn) == 1
    conn.execute(
        "INSERT INTO series (id, sensor, channel, unit, name, precision, binary, interval_s)"
        " VALUES (7, 'greenhouse', 'temperature', '°C', 'Temperature', 1, 0, 10)"
    )
    s = Samples(1, [(T0 + 10 * i) * 1000 for i in range(360)], [215 + i % 7 for i in range(360)])
    conn.execute(
        "INSERT INTO chunks (series, tier, t0, t_first, t_last, n, data) VALUES (?,?,?,?,?,?,?)",
        (7, RAW, T0, T0, T0 + 3590, 360, encode_raw(s, T0 * 1000)),
    )
    conn.close()

    store = Store(path, clock=Clock(T0 + 3600))
    assert schema.version(store.conn) == schema.VERSION == 2
    sid = store.find("greenhouse", "temperature")
    assert sid == 7
    assert store.series[7].node == ""
    out = store.query(7, T0, T0 + 3600, 1000)
    assert out.count == [1] * 360
    assert out.mean[:3] == [21.5, 21.6, 21.7]
    # the upgraded database takes new series with a node, as remote nodes' history needs
    remote = store.register(SeriesInfo(node="garage", sensor="greenhouse", channel="temperature"))
    assert remote != 7
    store.close()


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "h.sqlite3"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.VERSION + 1}")
    conn.close()
    with pytest.raises(schema.SchemaError, match="newer than this pi-dashboard"):
        Store(path)


def test_a_precision_change_rescales_old_data(tmp_path):
    clock = Clock()
    store = Store(tmp_path / "h.sqlite3", clock=clock)
    info = SeriesInfo(sensor="a", channel="t", precision=2)
    sid = store.register(info)
    store.append({sid: Samples(2, [T0 * 1000], [2137])})
    clock.t = T0 + 3601
    store.seal_all()
    store.register(SeriesInfo(sensor="a", channel="t", precision=1))
    store.append({sid: Samples(1, [(T0 + 3602) * 1000], [215])})
    out = store.query(sid, T0, T0 + 7200, 100)
    assert out.mean == [21.4, 21.5]
    store.close()


def test_staged_samples_kept_deflated_read_back_exactly_and_seal_at_the_hour(tmp_path):
    """Staged samples live in memory in deflated blocks; a seal that stops in the middle of a
    block (at the hour) keeps exactly the samples after it, also across a restart."""
    clock = Clock(T0 + 3600 - 1000)
    path = tmp_path / "h.sqlite3"
    store = Store(path, clock=clock)
    ids = register(store, 2)
    expected = []
    for k in range(260):  # 1300 s: 1000 before the hour, 300 after
        t = T0 + 3600 - 1000 + 5 * k
        ms = [(t + i) * 1000 for i in range(5)]
        qs: list[int | None] = [
            None if (k * 5 + i) % 97 == 0 else 3000 + k * 7 - i for i in range(5)
        ]
        store.append({ids[0]: Samples(2, ms, qs), ids[1]: Samples(2, ms, [1] * 5)})
        expected += list(zip(ms, qs, strict=True))
    u = store._unsealed[ids[0]]
    assert len(u.blocks) == 1300 // BLOCK_SAMPLES
    assert sum(len(b[-1]) for b in u.blocks) < 3 * 1300, "a few bytes a sample, not 16"
    assert every_sample(store, ids[0]) == expected
    clock.t = T0 + 3600 + 300
    store.seal_all()
    after = [(t, q) for t, q in expected if t >= (T0 + 3600) * 1000]
    assert store._unsealed[ids[0]].n == len(after) == 300
    assert every_sample(store, ids[0]) == expected
    store.conn.close()
    again = Store(path, clock=clock)
    assert every_sample(again, ids[0]) == expected
    again.close()


def test_a_late_record_of_a_past_hour_is_sealed_once_and_nothing_twice(tmp_path):
    """Records of the current hour, then one of the past hour (a late sample of one series), then
    the current hour again: the seal stops after the late one; after a restart every sample is
    there exactly once."""
    clock = Clock(T0 + 3600 + 10)
    path = tmp_path / "h.sqlite3"
    store = Store(path, clock=clock)
    a, b = register(store, 2)
    now = (T0 + 3600) * 1000
    store.append({a: Samples(2, [now], [1]), b: Samples(2, [now], [2])})
    store.append({b: Samples(2, [now - 5000], [3])})  # late, of the past hour
    store.append({a: Samples(2, [now + 5000], [4]), b: Samples(2, [now + 5000], [5])})
    before = {sid: every_sample(store, sid) for sid in (a, b)}
    store.seal_all()
    assert {sid: every_sample(store, sid) for sid in (a, b)} == before
    store.conn.close()
    again = Store(path, clock=clock)
    assert {sid: every_sample(again, sid) for sid in (a, b)} == before
    again.close()


def test_closed_blobs_are_not_remembered_forever(tmp_path):
    """CPython's sqlite3 keeps a weak reference to every blob opened until the connection closes
    (python/cpython#144424): the store drops the dead ones, so a flush a second for a year does
    not pile up 2.8 GB of them, and the WAL is never deleted to get rid of them."""
    clock = Clock()
    path = tmp_path / "h.sqlite3"
    store = Store(path, clock=clock)
    ids = register(store, 3)
    for k in range(3 * PRUNE_BLOBS):
        flush(store, ids, T0 + 5 * k)
    refs = [r for r in gc.get_referents(store.conn) if type(r) is list]
    weak = [w for r in refs for w in r if type(w) is weakref.ReferenceType]
    assert len(weak) < PRUNE_BLOBS
    assert os.path.exists(f"{path}-wal")
    assert len(every_sample(store, ids[0])) == 3 * PRUNE_BLOBS * 5
    store.close()


def crash_image(path: os.PathLike[str], to: os.PathLike[str]) -> None:
    """The files as a power cut would leave them: every commit is synced, nothing closed."""
    os.makedirs(to)
    for suffix in ("", "-wal"):
        shutil.copyfile(f"{path}{suffix}", os.path.join(to, f"h.sqlite3{suffix}"))


def test_the_wal_is_reserved_at_its_working_size_and_recovery_stops_at_its_last_frame(tmp_path):
    """The WAL gets its blocks on open (writing into a growing file costs more per sync); past
    the last commit it reads as zeros, which fail the frame checks, so a crash loses nothing
    committed and picks up nothing that was not."""
    clock = Clock()
    path = tmp_path / "h.sqlite3"
    store = Store(path, clock=clock)
    store.reserve_wal()
    wal = os.stat(f"{path}-wal")
    assert wal.st_size == WAL_BYTES
    assert wal.st_blocks * 512 >= WAL_BYTES, "the blocks are allocated, not a sparse file"
    ids = register(store, 3)
    for k in range(10):
        flush(store, ids, T0 + 5 * k)
    expected = every_sample(store, ids[2])
    assert os.path.getsize(f"{path}-wal") == WAL_BYTES, "written in place, not grown"
    crash_image(path, tmp_path / "cut")
    store.close()
    again = Store(tmp_path / "cut" / "h.sqlite3", clock=clock)
    assert every_sample(again, ids[2]) == expected
    assert again.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    again.close()


def test_a_grown_wal_left_by_a_crash_is_extended_without_losing_its_frames(tmp_path):
    """A WAL cut to its valid frames (as one that grew as it was written leaves it) is
    extended on the next start, and every committed flush is still there."""
    clock = Clock()
    path = tmp_path / "h.sqlite3"
    store, ids = ten_flushes(path, clock)
    expected = every_sample(store, ids[0])
    crash_image(path, tmp_path / "cut")
    store.close()
    cut = tmp_path / "cut" / "h.sqlite3"
    frames = wal_frames(f"{cut}-wal")
    os.truncate(f"{cut}-wal", 32 + frames * (24 + PAGE_SIZE))
    again = Store(cut, clock=clock)
    again.reserve_wal()
    assert os.path.getsize(f"{cut}-wal") == WAL_BYTES
    assert every_sample(again, ids[0]) == expected
    flush(again, ids, T0 + 50)
    assert len(every_sample(again, ids[0])) == 55
    again.close()
    assert not os.path.exists(f"{cut}-wal"), "a clean close still leaves one self-contained file"
    final = Store(cut, clock=clock)  # as export opens a stopped daemon's file: no zeros written
    assert len(every_sample(final, ids[0])) == 55
    assert os.path.getsize(f"{cut}-wal") < WAL_BYTES
    final.close()
