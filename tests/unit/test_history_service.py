"""History as the daemon runs it: the bounded hand-off from the event loop, the bounded query
queue, flush on stop, restarts leaving a gap, and the recent windows for the snapshot."""

from __future__ import annotations

import asyncio
import logging
import os
import threading

import pytest
from waiting import until

from pi_dashboard.history.codec import Samples
from pi_dashboard.history.service import History, HistoryBusy, HistoryOptions
from pi_dashboard.history.store import WAL_BYTES, SeriesInfo, Store

T0 = 1_800_000_000.0


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


ROOM = [
    SeriesInfo(sensor="room", channel="temperature", unit="°C", precision=2, interval_s=1),
    SeriesInfo(sensor="room", channel="humidity", unit="%", precision=1, interval_s=1),
]


def options(tmp_path, **kw) -> HistoryOptions:
    return HistoryOptions(path=tmp_path / "h.sqlite3", **kw)


def stored(path, sensor="room", channel="temperature"):
    store = Store(path)
    try:
        sid = store.find(sensor, channel)
        s = store.raw(sid, 0, 2**40)
        return list(zip(s.t, s.q, strict=True))
    finally:
        store.close()


def wal_size(tmp_path) -> int:
    return os.path.getsize(tmp_path / "h.sqlite3-wal")


async def test_stop_flushes_every_reading_recorded(tmp_path):
    clock = Clock()
    h = History(options(tmp_path, flush_interval=60), clock=clock)
    await h.start(ROOM)
    for i in range(50):
        h.record("room", T0 + i, {"temperature": 21.0 + i / 100, "humidity": 40.0})
    assert h.stats()["unflushed_readings"] == 50
    await h.stop()
    values = [q for _, q in stored(tmp_path / "h.sqlite3") if q is not None]
    assert values == [2100 + i for i in range(50)]


async def test_the_wal_is_reserved_after_the_start_at_a_flush(tmp_path):
    """5 MB of zeros and their sync, in the start, competed with it: 40 ms more to the first
    HTTP 200 here, and more on an SD card. The writer reserves the WAL at a flush once
    `reserve_after` has passed; readings recorded meanwhile wait in memory and are kept."""
    release = threading.Event()
    reserving = threading.Event()

    class SlowDisk(Store):
        def reserve_wal(self) -> None:
            reserving.set()
            release.wait(30)
            super().reserve_wal()

    h = History(
        options(tmp_path, flush_interval=0.2, reserve_after=0.5), clock=Clock(), store=SlowDisk
    )
    n = 0

    def reading() -> bool:  # readings keep coming, as in the daemon (an idle writer sleeps)
        nonlocal n
        h.record("room", T0 + n, {"temperature": 21.5, "humidity": 40.0})
        n += 1
        return reserving.is_set()

    try:
        await h.start(ROOM)
        assert not reserving.is_set()
        await until(reading, what="a flush after reserve_after reserves the WAL")
        reading()  # recorded while the reservation is under way
    finally:
        release.set()
    await until(lambda: wal_size(tmp_path) == WAL_BYTES, what="the WAL at its working size")
    await h.stop()
    assert [q for _, q in stored(tmp_path / "h.sqlite3") if q is not None] == [2150] * n


async def test_the_hand_off_drops_the_oldest_beyond_its_limit_and_marks_a_gap(tmp_path, caplog):
    """The disk is not keeping up (here: no flush due for a minute): the queue holds at most
    max_pending readings, drops the oldest, says so once, and history shows a gap there."""
    h = History(options(tmp_path, flush_interval=60, max_pending=100), clock=Clock())
    await h.start(ROOM)
    with caplog.at_level(logging.WARNING):
        for i in range(250):
            h.record("room", T0 + i, {"temperature": 20.0 + i / 100, "humidity": 40.0})
    stats = h.stats()
    assert stats["unflushed_readings"] == 100
    assert stats["dropped_readings"] == 150
    assert sum("not keeping up" in r.message for r in caplog.records) == 1
    await h.stop()
    rows = stored(tmp_path / "h.sqlite3")
    values = [q for _, q in rows if q is not None]
    assert values == [2000 + i for i in range(150, 250)], "the newest are kept"
    gap_at = [t for t, q in rows if q is None]
    assert round((T0 + 149) * 1000) in gap_at, "a gap where readings were dropped"


async def test_queries_beyond_the_limit_are_refused_not_queued(tmp_path):
    h = History(options(tmp_path, max_jobs=3), clock=Clock())
    await h.start(ROOM)
    started, release = threading.Event(), threading.Event()

    def block(_store: object) -> bool:
        started.set()
        return release.wait(10)

    blocker = asyncio.ensure_future(h.call(block))
    await until(started.is_set)  # the writer is inside the blocking job
    waiting = [asyncio.ensure_future(h.call(lambda store: len(store.series))) for _ in range(3)]
    await until(lambda: len(h._jobs) == 3)
    with pytest.raises(HistoryBusy, match="already waiting"):
        await h.call(lambda store: len(store.series))
    release.set()
    assert await blocker is True
    assert await asyncio.gather(*waiting) == [2, 2, 2]
    await h.stop()


class CountingStore(Store):
    """The real store, counting the flushes handed to it."""

    appends: list[int]

    def append(self, batch: dict[int, Samples]) -> None:
        self.appends.append(sum(len(s) for s in batch.values()))
        super().append(batch)


async def test_the_writer_sleeps_while_nothing_is_recorded_and_wakes_for_a_reading(tmp_path):
    """No wakeup every flush interval for nothing: with nothing recorded the writer waits for a
    reading (or a query, or the sweep), and a reading that arrives is flushed at once."""
    appends: list[int] = []

    def counting(*args: object, **kw: object) -> Store:
        store = CountingStore(*args, **kw)
        store.appends = appends
        return store

    h = History(options(tmp_path, flush_interval=0.02), clock=Clock(), store=counting)
    await h.start(ROOM)
    await until(lambda: h._idle, what="the writer asleep with nothing to write")
    before = len(appends)
    h.record("room", T0 + 1, {"temperature": 21.5, "humidity": 40.0})
    await until(lambda: h._idle and h.stats()["unflushed_readings"] == 0)
    assert appends[before:] == [2], "one flush, with the reading's two samples; no empty ones"
    await h.stop()
    assert stored(tmp_path / "h.sqlite3")[-1][1] == 2150


async def test_a_failed_read_and_a_restart_leave_gaps_never_a_line(tmp_path):
    clock = Clock()
    h = History(options(tmp_path), clock=clock)
    await h.start(ROOM)
    for i in range(10):
        h.record("room", T0 + i, {"temperature": 21.0, "humidity": 40.0})
    h.record("room", T0 + 10, None)  # the sensor failed
    h.record("room", T0 + 11, None)  # still failing: one gap, not two
    for i in range(12, 20):
        h.record("room", T0 + i, {"temperature": 22.0, "humidity": 41.0})
    await h.stop()
    clock.t = T0 + 60
    h = History(options(tmp_path), clock=clock)
    await h.start(ROOM)
    h.record("room", T0 + 61, {"temperature": 23.0, "humidity": 42.0})
    _, out = await h.query("room", "temperature", T0, T0 + 70, 500)
    await h.stop()
    assert out.mean == [21.0] * 10 + [None] + [22.0] * 8 + [None] + [23.0]


async def test_the_snapshot_window_is_short_and_refilled_from_the_database(tmp_path):
    clock = Clock()
    h = History(options(tmp_path), clock=clock)
    await h.start(ROOM)
    for i in range(4000):  # over an hour at 1 s: the window keeps about 60 points of the hour
        clock.t = T0 + i
        h.record("room", T0 + i, {"temperature": 20.0 + (i % 10) / 10, "humidity": 40.0})
    win = h.recent()["room"]["temperature"]
    assert 50 <= len(win["t"]) <= 62
    assert win["t0"] + win["t"][-1] == pytest.approx(T0 + 3999, abs=0.1)
    assert win["t0"] + win["t"][0] >= T0 + 3999 - 3600 - 60
    await h.stop()
    after = History(options(tmp_path), clock=clock)
    latest = await after.start(ROOM)
    assert latest[("room", "temperature")] == (pytest.approx(T0 + 3999), 20.9)
    again = after.recent()["room"]["temperature"]
    assert abs(len(again["t"]) - len(win["t"])) <= 2
    assert again["t0"] + again["t"][-1] == pytest.approx(T0 + 3999, abs=0.1)
    for dt, v in zip(again["t"], again["v"], strict=True):  # the values recorded at those times
        assert v == round(20.0 + ((again["t0"] + dt - T0) % 10) / 10, 2)
    await after.stop()


async def test_an_unwritable_database_is_one_clear_error(tmp_path):
    from pi_dashboard.history.service import HistoryError

    (tmp_path / "h.sqlite3").mkdir()  # a directory where the file should be
    h = History(options(tmp_path))
    with pytest.raises(HistoryError, match="cannot open the history database"):
        await h.start(ROOM)
    await h.stop()
