"""Opening a store with an hour of unsealed staging records: the open only indexes them, a
preview of a few of them gives the snapshot its latest values and sparklines, the replay runs
after the daemon serves, and no read ever sees part of it."""

from __future__ import annotations

import asyncio
import os
import random
import threading

import pytest
from waiting import until

from pi_dashboard.history.codec import Samples
from pi_dashboard.history.service import History, HistoryBusy, HistoryOptions, _fill, _Window
from pi_dashboard.history.store import (
    PREVIEW_RECENT,
    PREVIEW_RECORDS,
    REPLAY_BATCH,
    SeriesInfo,
    Store,
)

T0 = 1_800_000_000  # epoch s, on an hour boundary
FLUSHES = 700  # under an hour of 5-s flushes: one seal period
ROOM = [
    SeriesInfo(sensor="room", channel="temperature", unit="°C", precision=2, interval_s=1),
    SeriesInfo(sensor="room", channel="humidity", unit="%", precision=1, interval_s=1),
]
GAP_AT = T0 + 5 * 301 + 2
"""A failed read in one record, in the middle of the hour."""


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def temperature(t: float) -> int:
    return 2000 + int(t - T0) % 97


def killed_daemon(path: os.PathLike[str], flushes: int = FLUSHES) -> None:
    """What a daemon killed before its hourly seal leaves: `flushes` staging records of 5 one-
    second samples of each series, one of them a gap, the database not closed cleanly."""
    store = Store(path, clock=Clock(), synchronous="OFF")
    with store.transaction():
        ids = [store.register(info) for info in ROOM]
    for k in range(flushes):
        ts = [T0 + 5 * k + i for i in range(5)]
        temp = [None if t == GAP_AT else temperature(t) for t in ts]
        store.append(
            {
                ids[0]: Samples(2, [t * 1000 for t in ts], temp),
                ids[1]: Samples(1, [t * 1000 for t in ts], [400 + k % 7] * 5),
            }
        )
    store.conn.close()  # as a SIGKILL leaves it: no seal, the WAL not checkpointed


def expected(flushes: int = FLUSHES) -> list[tuple[int, int | None]]:
    times = [T0 + i for i in range(5 * flushes)]
    return [(t * 1000, None if t == GAP_AT else temperature(t)) for t in times]


def reopened(tmp_path, clock: Clock | None = None) -> tuple[Store, int]:
    """The killed daemon's store, opened again, and its temperature series."""
    killed_daemon(tmp_path / "h.sqlite3")
    store = Store(tmp_path / "h.sqlite3", clock=clock or Clock(T0 + 5 * FLUSHES))
    sid = store.find("room", "temperature")
    assert sid is not None
    return store, sid


def every_sample(store: Store, sid: int) -> list[tuple[int, int | None]]:
    s = store.raw(sid, 0, 2**40)
    return list(zip(s.t, s.q, strict=True))


def test_the_open_indexes_the_records_and_a_read_finishes_the_replay_first(tmp_path):
    store, sid = reopened(tmp_path)
    assert store.replaying, "nothing decoded at the open"
    assert store.replay_step() is True  # REPLAY_BATCH records of FLUSHES: partway through
    assert every_sample(store, sid) == expected(), "the whole answer, never the part replayed"
    assert not store.replaying
    assert store.latest(sid) == (T0 + 5 * FLUSHES - 1, temperature(T0 + 5 * FLUSHES - 1) / 100)
    store.close()


def test_flushes_during_the_replay_follow_it_and_seal_once(tmp_path):
    clock = Clock(T0 + 5 * FLUSHES)
    store, sid = reopened(tmp_path, clock)
    store.replay_step()
    new = [(T0 + 5 * FLUSHES + i, 2500 + i) for i in range(3)]
    for t, q in new:  # written to disk at once, added to the unsealed samples after the replay
        store.append({sid: Samples(2, [t * 1000], [q])})
    assert store.replaying
    while store.replay_step():
        pass
    after = expected() + [(t * 1000, q) for t, q in new]
    assert every_sample(store, sid) == after
    clock.t = T0 + 3600 + 1
    store.seal_all()
    assert every_sample(store, sid) == after
    store.close()
    again = Store(tmp_path / "h.sqlite3", clock=clock)
    assert not again.replaying, "every record sealed: nothing to replay"
    assert every_sample(again, sid) == after, "each sample once"
    again.close()


def test_a_stop_during_the_replay_loses_nothing(tmp_path):
    store, sid = reopened(tmp_path)
    store.append({sid: Samples(2, [(T0 + 5 * FLUSHES) * 1000], [2600])})
    assert store.replaying
    store.close()
    again = Store(tmp_path / "h.sqlite3")
    assert every_sample(again, sid) == [*expected(), ((T0 + 5 * FLUSHES) * 1000, 2600)]
    again.close()


def test_staging_rows_holding_unreplayed_records_are_not_reused(tmp_path):
    """Flushes during the replay fill the current staging row and need another one: a row whose
    records are not replayed yet is never it."""
    path = tmp_path / "h.sqlite3"
    rng = random.Random(0)
    store = Store(path, clock=Clock(), synchronous="OFF")
    with store.transaction():
        sid = store.register(ROOM[0])
    written: list[tuple[int, int | None]] = []

    def big_flush(s: Store) -> None:
        """500 samples that do not compress: about 2 KB a record."""
        t0 = T0 + len(written)
        batch = [((t0 + i) * 1000, rng.randrange(10**6)) for i in range(500)]
        s.append({sid: Samples(2, [t for t, _ in batch], [q for _, q in batch])})
        written.extend(batch)

    while len(store._rows) < 2:
        big_flush(store)
    store.conn.close()  # killed: both rows hold unsealed records
    again = Store(path, clock=Clock(), synchronous="OFF")
    assert again.replaying
    assert len(again._rows) == 2
    while len(again._rows) == 2:  # the current row fills: a third is made, the first kept
        big_flush(again)
    assert every_sample(again, sid) == written
    again.close()


def test_a_preview_reads_a_few_records_the_newest_in_full(tmp_path):
    store, sid = reopened(tmp_path)
    preview = store.preview(T0 + 600)
    assert preview is not None
    s = preview[sid]
    assert len(s.t) <= 5 * PREVIEW_RECORDS
    pairs = list(zip(s.t, s.q, strict=True))
    assert pairs[-5 * PREVIEW_RECENT :] == expected()[-5 * PREVIEW_RECENT :]
    assert (T0 + 540) * 1000 <= s.t[0] < (T0 + 660) * 1000, "from `since`, not before"
    assert max(b - a for a, b in zip(s.t, s.t[1:], strict=False)) <= 65_000, "one a minute"
    assert set(pairs) <= set(expected())
    assert store.replaying, "a preview replays nothing"
    while store.replay_step():
        pass
    assert store.preview() is None
    store.close()


class GatedStore(Store):
    """The real store, its replay held after the first step until `gate` is set."""

    gate: threading.Event
    steps: int = 0

    def replay_step(self, records: int = REPLAY_BATCH) -> bool:
        if self.replaying:
            self.steps += 1
            if self.steps > 1:
                assert self.gate.wait(10)
        return super().replay_step(records)


def gated(tmp_path) -> tuple[History, list[GatedStore], threading.Event]:
    gate = threading.Event()
    made: list[GatedStore] = []

    def factory(*args: object, **kw: object) -> Store:
        store = GatedStore(*args, **kw)
        store.gate = gate
        made.append(store)
        return store

    h = History(
        HistoryOptions(path=tmp_path / "h.sqlite3", flush_interval=0.02),
        clock=Clock(T0 + 5 * FLUSHES),
        store=factory,
    )
    return h, made, gate


def exact_window(before: float) -> _Window:
    """The sparkline from every sample before `before`, as the snapshot draws it."""
    w = _Window(3600.0, 2)
    for t, q in expected():
        if t / 1000 < before:
            w.add(t / 1000, None if q is None else q / 100)
    return w


async def test_the_start_serves_latest_values_and_sparklines_before_the_replay_ends(tmp_path):
    killed_daemon(tmp_path / "h.sqlite3")
    h, made, gate = gated(tmp_path)
    latest = await h.start(ROOM)
    last = T0 + 5 * FLUSHES - 1
    assert latest[("room", "temperature")] == (last, temperature(last) / 100)
    win = h.recent()["room"]["temperature"]
    assert 50 <= len(win["t"]) <= 62, "about a point a minute over the hour"
    assert win["t0"] + win["t"][-1] == pytest.approx(last, abs=0.1)
    assert win["t0"] + win["t"][0] < T0 + 120
    await until(lambda: made[0].steps == 2, what="the replay held partway")
    assert made[0].replaying
    gate.set()
    h.record("room", T0 + 5 * FLUSHES + 1, {"temperature": 25.0, "humidity": 40.0})
    want = exact_window(T0 + 5 * FLUSHES)
    want.add(T0 + 5 * FLUSHES + 1, 25.0)

    def redrawn() -> bool:
        w = h.recent()["room"]["temperature"]
        return [w["t0"] + t for t in w["t"]] == pytest.approx(list(want.t)) and w["v"] == list(
            want.v
        )

    await until(redrawn, what="the sparkline redrawn from every sample, the live point kept")
    assert None in h.recent()["room"]["temperature"]["v"], "the failed read breaks the line"
    await h.stop()


async def test_a_query_during_the_replay_waits_for_it_and_gets_every_sample(tmp_path):
    killed_daemon(tmp_path / "h.sqlite3")
    h, made, gate = gated(tmp_path)
    await h.start(ROOM)
    await until(lambda: made[0].steps == 2, what="the replay held partway")
    query = h.call(lambda store: every_sample(store, store.find("room", "temperature")))
    task = asyncio.ensure_future(query)
    await until(lambda: h._jobs, what="the query waiting for the writer")
    assert not task.done()
    gate.set()
    restart = ((T0 + 5 * FLUSHES) * 1000, None)  # the open's gap: the two are not joined
    assert await task == [*expected(), restart]
    await h.stop()


@pytest.mark.parametrize("seed", range(100))
def test_a_sparkline_filled_at_once_is_the_one_filled_sample_by_sample(seed):
    """`_fill` skips the samples a window would replace: it must leave what `add` leaves, with
    gaps, runs of gaps, jitter, bursts and a window that already has points."""
    rng = random.Random(seed)
    span = rng.choice([600.0, 3600.0])
    t = (T0 - rng.randrange(4000)) * 1000
    s = Samples(2)
    for _ in range(rng.randrange(1, 5000)):
        t += rng.choice([1000, 1000, 1000, 997, 1003, 5000, 60_000, 59_999, 60_001, 1])
        s.t.append(t)
        s.q.append(
            None if rng.random() < rng.choice([0, 0.001, 0.05, 0.5]) else rng.randrange(9999)
        )
    one, bulk = _Window(span, 2), _Window(span, 2)
    before = rng.randrange(4)
    for w in one, bulk:
        for k in range(before):  # points already there, older than the samples
            w.add(s.t[0] / 1000 - 100 + k, None if k == 2 else 20.0)
    for ts, q in zip(s.t, s.q, strict=True):
        one.add(ts / 1000, None if q is None else q / 100)
    _fill(bulk, s)
    assert (list(bulk.t), list(bulk.v)) == (list(one.t), list(one.v))


async def test_a_stop_during_a_query_that_waits_for_the_replay_is_not_held_up(tmp_path):
    """The query's replay runs step by step; a stop between two steps refuses the query (as any
    the writer did not get to) and flushes, instead of finishing the replay first."""
    killed_daemon(tmp_path / "h.sqlite3")
    h, made, gate = gated(tmp_path)
    await h.start(ROOM)
    await until(lambda: made[0].steps == 2, what="the replay held partway")
    task = asyncio.ensure_future(h.query("room", "temperature", T0, T0 + 3600, 500))
    await until(lambda: h._jobs, what="the query waiting for the writer")
    h.record("room", T0 + 5 * FLUSHES + 1, {"temperature": 25.0, "humidity": 40.0})
    stop = asyncio.ensure_future(h.stop())
    await until(lambda: h._stopping, what="the stop requested")
    gate.set()
    await stop
    assert made[0].replaying, "the stop did not wait for the rest of the replay"
    with pytest.raises(HistoryBusy):
        await task
    again = Store(tmp_path / "h.sqlite3")
    sid = again.find("room", "temperature")
    assert sid is not None
    assert every_sample(again, sid)[-1] == ((T0 + 5 * FLUSHES + 1) * 1000, 2500), "flushed"
    again.close()
