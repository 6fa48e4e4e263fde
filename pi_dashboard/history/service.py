"""History as the daemon runs it: samples handed off from the event loop, SQLite on one thread.

The event loop only appends each read's samples to a bounded in-memory queue (`record`, a few
microseconds, never blocks). The writer thread owns the database: every flush interval it takes the
queue and commits it in one transaction; between flushes it answers queries and seals, rolls up and
prunes in small steps. If the disk is slower than the readings, the queue grows to `max_pending`
readings, then the oldest are dropped (counted in /api/health, logged once, and a gap marks where):
live readings are never delayed by the disk.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import sqlite3
import threading
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar, cast

from pi_dashboard.config import HistoryConfig
from pi_dashboard.errors import PiDashboardError
from pi_dashboard.history.codec import Samples
from pi_dashboard.history.store import SeriesInfo, Store
from pi_dashboard.history.tiers import Retention, Series
from pi_dashboard.model import Value, sensor_key

log = logging.getLogger(__name__)

T = TypeVar("T")
Describe = Callable[[str, str], SeriesInfo | None]
"""(sensor, channel) -> what that channel is (unit, precision, interval), or None if unknown."""

STOP_TIMEOUT_S = 5.0
SWEEP_EVERY_S = 600.0
"""Retention and the size cap are checked this often (and right after each seal)."""
WINDOW_POINTS = 60
"""Points per channel in a snapshot's recent window: enough for a sparkline."""

Latest = dict[tuple[str, str], tuple[float, float]]
"""(sensor, channel) -> its newest stored (epoch s, value)."""


class HistoryError(PiDashboardError):
    """The history database cannot be opened (path, permissions, a newer schema)."""


class HistoryBusy(PiDashboardError):
    """Too many queries are waiting for the writer thread: try again shortly."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryOptions:
    path: str | Path
    """The database file, or ":memory:" (replay mode: nothing written to disk)."""
    flush_interval: float = 5.0
    retention: Retention = field(default_factory=Retention)
    max_pending: int = 20_000
    """Readings waiting for the disk before the oldest are dropped."""
    max_jobs: int = 16
    """Queries waiting for the writer thread before new ones are refused (HTTP 503)."""
    seal_period: int = 3600
    synchronous: str = "FULL"
    reserve_after: float = 60.0
    """Seconds from the start until the WAL gets its working size (Store.reserve_wal): one-time
    work (5 MB of zeros and their sync), kept off the start and the minute after it, when a
    restarted Pi's browsers reconnect and fetch their history."""


def options_from_config(cfg: HistoryConfig, path: str | Path) -> HistoryOptions:
    day = 86400.0
    retention = Retention(
        raw_s=cfg.raw_days * day,
        minute_s=cfg.minute_days * day,
        hour_s=cfg.hour_days * day,
        max_bytes=int(cfg.max_size_mb * 1_000_000),
    )
    return HistoryOptions(path=path, flush_interval=cfg.flush_interval, retention=retention)


def window_span(interval_s: float) -> float:
    """The sparkline's time span for a sensor polled every `interval_s` (as static/js draws it)."""
    return 3600.0  # the page's sparklines show the last hour, whatever the interval


@dataclass(slots=True)
class _Window:
    """The recent samples of one channel, thinned to about WINDOW_POINTS over `span` seconds."""

    span: float
    digits: int
    t: deque[float] = field(default_factory=deque)
    v: deque[float | None] = field(default_factory=deque)

    def add(self, ts: float, value: float | None) -> None:
        """The newest sample is always the last point; older points are at least span/POINTS
        apart (the last one is replaced until the next is due)."""
        if value is not None:
            value = round(value, self.digits)
        if self.t:
            last = self.v[-1]
            if value is None and last is None:
                return
            due = len(self.t) < 2 or self.t[-1] >= self.t[-2] + self.span / WINDOW_POINTS
            if not due and value is not None and last is not None and self.v[-2] is not None:
                self.t[-1], self.v[-1] = ts, value
                return
        self.t.append(ts)
        self.v.append(value)
        cutoff = ts - self.span
        while len(self.t) > 1 and self.t[1] <= cutoff:
            self.t.popleft()
            self.v.popleft()


class History:
    """Start with `await start(...)`, feed with `record()`, query with `await query(...)`."""

    def __init__(
        self,
        options: HistoryOptions,
        *,
        describe: Describe | None = None,
        clock: Callable[[], float] = time.time,
        store: Callable[..., Store] = Store,
    ) -> None:
        self.options = options
        self._store_factory = store
        self._describe = describe or (lambda _s, _c: None)
        self._clock = clock
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._pending: deque[tuple[str, float, Mapping[str, Value] | None]] = deque()
        self._lost: dict[str, float] = {}
        self._new: list[SeriesInfo] = []
        self._idle = False
        """the writer sleeps until a reading arrives (the last flush had nothing to write)"""
        self._known: set[tuple[str, str]] = set()
        self._channels: dict[str, list[str]] = {}
        self._windows: dict[tuple[str, str], _Window] = {}
        self._jobs: deque[tuple[Callable[[Store], object], concurrent.futures.Future[object]]] = (
            deque()
        )
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._dead = False
        self._inflight_since: float | None = None
        self.dropped = 0
        self.flush_errors = 0
        self._failing = False
        self._db_bytes = 0
        self._io_base: tuple[int, int] | None = None  # (day ordinal, write_bytes at its start)
        self._io_today: int | None = None
        self.flushes = 0
        self._events: asyncio.AbstractEventLoop | None = None
        self._refill_sids: dict[tuple[str, str], int] = {}
        """the sparklines filled from a preview at the open, to refill once the replay is done"""
        self._refill_at = 0.0
        """epoch s of the open: the refill covers the span before it, the live points after"""

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self, series: Iterable[SeriesInfo] = ()) -> Latest:
        """Open the database on the writer thread, register `series`, and return each one's
        latest stored (ts, value); the recent windows are filled from the database too."""
        infos = list(series)
        for info in infos:
            self._learn(info)
        self._events = asyncio.get_running_loop()
        ready: concurrent.futures.Future[Latest] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._run, args=(infos, ready), name="history", daemon=True
        )
        self._thread.start()
        try:
            return await asyncio.wrap_future(ready)
        except (sqlite3.Error, OSError) as e:
            path = self.options.path
            if "locked" in str(e):
                raise HistoryError(
                    f"the history database {path} is in use by another pi-dashboard "
                    "(stop it, or give this one another --data-dir)"
                ) from None
            raise HistoryError(f"cannot open the history database {path}: {e}") from None

    async def stop(self) -> None:
        """Flush everything recorded so far and close; bounded by STOP_TIMEOUT_S."""
        thread = self._thread
        if thread is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify()
        await asyncio.to_thread(thread.join, STOP_TIMEOUT_S)
        if thread.is_alive():
            log.error(
                "history: the writer did not finish within %g s (disk stuck?); "
                "readings since the last flush are lost",
                STOP_TIMEOUT_S,
            )
        self._thread = None

    # --- the event loop's side --------------------------------------------------------------------

    def record(self, sensor: str, ts: float, values: Mapping[str, Value] | None) -> None:
        """One read of `sensor` at `ts` (epoch s): every channel's sampled value, before the
        deadband; None when the read failed (a gap). Never blocks. Another node's sensor is
        `model.sensor_key(node, id)`; `describe` says which node it is."""
        if self._dead:
            return
        if values is not None:
            for cid, v in values.items():
                key = (sensor, cid)
                w = self._windows.get(key)
                if w is None and key not in self._known:
                    info = self._describe(sensor, cid) or SeriesInfo(sensor=sensor, channel=cid)
                    self._learn(info)
                    w = self._windows.get(key)
                if w is not None:
                    w.add(ts, float(v))
        else:
            for cid in self._channels.get(sensor, ()):
                w = self._windows.get((sensor, cid))
                if w is not None:
                    w.add(ts, None)
        with self._lock:
            if len(self._pending) >= self.options.max_pending:
                lost_sensor, lost_ts, _ = self._pending.popleft()
                self._lost[lost_sensor] = lost_ts
                if not self.dropped:
                    log.warning(
                        "history: the disk is not keeping up; dropping the oldest readings "
                        "(more than %d waiting)",
                        self.options.max_pending,
                    )
                self.dropped += 1
            self._pending.append((sensor, ts, values))
            if self._idle:
                self._idle = False
                self._cond.notify()

    def set_describe(self, describe: Describe) -> None:
        self._describe = describe

    def _learn(self, info: SeriesInfo) -> None:
        key = (sensor_key(info.node, info.sensor), info.channel)
        if key in self._known:
            return
        self._known.add(key)
        self._channels.setdefault(key[0], []).append(info.channel)
        if not info.binary:
            self._windows[key] = _Window(window_span(info.interval_s), max(info.precision, 0))
        with self._lock:
            self._new.append(info)

    def recent(self) -> dict[str, dict[str, dict[str, object]]]:
        """Per sensor and channel, the recent window for a snapshot: `t0` (epoch s) and the
        points' offsets from it in `t` (0.1 s), values in `v` (None: a gap)."""
        out: dict[str, dict[str, dict[str, object]]] = {}
        for (sensor, cid), w in self._windows.items():
            if w.t:
                t0 = math.floor(w.t[0])
                out.setdefault(sensor, {})[cid] = {
                    "t0": t0,
                    "t": [round(t - t0, 1) for t in w.t],
                    "v": list(w.v),
                }
        return out

    async def query(
        self, sensor: str, channel: str, t_from: float, t_to: float, points: int, node: str = ""
    ) -> tuple[SeriesInfo, Series]:
        """At most `points` buckets of one channel over [t_from, t_to), readings not yet flushed
        included. KeyError("sensor" or "channel") when there is no such history."""

        def run(store: Store) -> tuple[SeriesInfo, Series]:
            sid = self._find(store, sensor, channel, node)
            info = store.series[sid]
            extra = self.unflushed(sensor_key(node, sensor), channel, info.precision)
            return info, store.query(sid, t_from, t_to, points, extra=extra)

        return await self.call(run)

    async def grid(
        self, series: list[tuple[str, str]], t_from: float, t_to: float, step: float, node: str = ""
    ) -> list[tuple[SeriesInfo, Series]]:
        """Several channels on one grid of `step` seconds (0: every sample), for CSV."""

        def run(store: Store) -> list[tuple[SeriesInfo, Series]]:
            out = []
            for sensor, channel in series:
                sid = self._find(store, sensor, channel, node)
                info = store.series[sid]
                extra = self.unflushed(sensor_key(node, sensor), channel, info.precision)
                out.append((info, store.grid(sid, t_from, t_to, step, extra=extra)))
            return out

        return await self.call(run)

    async def channels(self, node: str = "") -> list[SeriesInfo]:
        """Every channel with history (in its current unit), in registration order."""

        def run(store: Store) -> list[SeriesInfo]:
            return [
                info
                for sid, info in sorted(store.series.items())
                if info.node == node and store.find(info.sensor, info.channel, node) == sid
            ]

        return await self.call(run)

    @staticmethod
    def _find(store: Store, sensor: str, channel: str, node: str) -> int:
        sid = store.find(sensor, channel, node)
        if sid is None:
            known = any(i.sensor == sensor and i.node == node for i in store.series.values())
            raise KeyError("channel" if known else "sensor")
        return sid

    def unflushed(self, sensor: str, channel: str, precision: int) -> Samples:
        """What `record` holds for one channel that is not in the database yet, so a query sees
        readings of the last seconds too (the writer thread calls this between flushes)."""
        with self._lock:
            entries = [(ts, values) for s, ts, values in self._pending if s == sensor]
        out = Samples(precision)
        scale = 10.0**precision
        for ts, values in entries:
            if values is None:
                out.t.append(round(ts * 1000))
                out.q.append(None)
            elif channel in values and math.isfinite(v := float(values[channel])):
                out.t.append(round(ts * 1000))
                out.q.append(round(v * scale))
        return out

    def stats(self) -> dict[str, object]:
        """What /api/health shows: size, today's writes, what a power cut would lose now."""
        now = self._clock()
        with self._lock:
            oldest = self._pending[0][1] if self._pending else None
            waiting = len(self._pending)
        if self._inflight_since is not None:
            oldest = self._inflight_since if oldest is None else min(oldest, self._inflight_since)
        return {
            "path": str(self.options.path),
            "db_bytes": self._db_bytes,
            "written_today_bytes": self._io_today,
            "unflushed_s": round(max(now - oldest, 0.0), 1) if oldest is not None else 0.0,
            "unflushed_readings": waiting,
            "flush_interval_s": self.options.flush_interval,
            "dropped_readings": self.dropped,
            "flush_errors": self.flush_errors,
        }

    async def call(self, fn: Callable[[Store], T], wait_s: float = 10.0) -> T:
        """Run `fn(store)` on the writer thread; HistoryBusy if too many are waiting already."""
        fut: concurrent.futures.Future[object] = concurrent.futures.Future()
        with self._cond:
            if self._thread is None or self._stopping or self._dead:
                raise HistoryBusy("history is not running")
            if len(self._jobs) >= self.options.max_jobs:
                raise HistoryBusy(f"{len(self._jobs)} history queries are already waiting")
            self._jobs.append((fn, fut))
            self._cond.notify()
        try:
            done: object = await asyncio.wait_for(asyncio.wrap_future(fut), wait_s)
            return cast(T, done)  # what `fn` returned
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if fut.cancelled() and not (task and task.cancelling()):
                # the writer stopped before it got to this one (we were not cancelled)
                raise HistoryBusy("history is not running") from None
            raise
        except TimeoutError:
            fut.cancel()
            raise HistoryBusy(f"the history database did not answer within {wait_s:g} s") from None

    # --- the writer thread ---------------------------------------------------------------------

    def _run(
        self,
        infos: list[SeriesInfo],
        ready: concurrent.futures.Future[Latest],
    ) -> None:
        try:
            store = self._store_factory(
                self.options.path,
                retention=self.options.retention,
                seal_period=self.options.seal_period,
                clock=self._clock,
                synchronous=self.options.synchronous,
            )
        except BaseException as e:  # reported to start()'s caller
            ready.set_exception(e)
            return
        try:
            latest = self._open(store, infos)
        except BaseException as e:
            store.close()
            ready.set_exception(e)
            return
        ready.set_result(latest)
        try:
            self._loop(store)
        except Exception:
            log.exception("history writer failed; history is off until restart")
        finally:
            with self._cond:
                self._dead = True
                jobs, self._jobs = list(self._jobs), deque()
            for _fn, fut in jobs:
                fut.cancel()
            try:
                store.close()
            except sqlite3.Error as e:
                log.warning("history: closing the database: %s", e)

    def _open(self, store: Store, infos: list[SeriesInfo]) -> Latest:
        """Register the series, and restore what the first snapshot shows (latest values and
        sparklines) from the store's preview when it is still replaying the staging log: the
        port serves without waiting for the replay, and `_refill` redraws the sparklines from
        every sample once it is done."""
        now = self._clock()
        with self._lock:
            new, self._new = self._new, []
        ids = self._register(store, new)
        spans = [w.span for w in self._windows.values()] or [3600.0]
        preview = store.preview(now - max(spans), every_s=min(spans) / WINDOW_POINTS)
        latest: Latest = {}
        start_gaps: dict[int, Samples] = {}
        for info in infos:
            key = (sensor_key(info.node, info.sensor), info.channel)
            sid = ids[key]
            found = store.latest(sid, preview=preview)
            if found is not None:
                latest[key] = found
            w = self._windows.get(key)
            if w is not None:
                _fill(w, store.raw(sid, now - w.span, now + 60, preview=preview))
                if preview is not None:
                    self._refill_sids[key] = sid
            # a restart is a discontinuity: nothing joins the last sample before it to the next
            start_gaps[sid] = Samples(info.precision, [int(now * 1000)], [None])
        store.append(start_gaps)
        self._refill_at = now
        self._measure(store)
        return latest

    def _refill(self, store: Store) -> None:
        """The replay is done: the sparklines the preview drew, from every sample before the
        open, handed to the event loop (which owns the windows) to replace the preview's."""
        sids, self._refill_sids = self._refill_sids, {}
        since = self._refill_at
        fresh: dict[tuple[str, str], _Window] = {}
        for key, sid in sids.items():
            w = self._windows.get(key)
            if w is not None:
                fresh[key] = _fill(_Window(w.span, w.digits), store.raw(sid, since - w.span, since))
        if fresh and self._events is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody to show them to
                self._events.call_soon_threadsafe(self._swap_windows, fresh, since)

    def _swap_windows(self, fresh: dict[tuple[str, str], _Window], since: float) -> None:
        """On the event loop: each refilled window, continued with the live points since."""
        for key, w in fresh.items():
            old = self._windows.get(key)
            if old is not None:
                for t, v in zip(old.t, old.v, strict=True):
                    if t >= since:
                        w.add(t, v)
                self._windows[key] = w

    def _register(self, store: Store, infos: list[SeriesInfo]) -> dict[tuple[str, str], int]:
        with store.transaction():
            for info in infos:
                store.register(info)
        return {
            (sensor_key(i.node, i.sensor), i.channel): sid
            for i in infos
            if (sid := store.find(i.sensor, i.channel, i.node)) is not None
        }

    def _loop(self, store: Store) -> None:
        interval = self.options.flush_interval
        next_flush = time.monotonic() + interval
        next_sweep = time.monotonic()
        ids: dict[tuple[str, str], int] = {}
        for info in store.series.values():
            sid = store.find(info.sensor, info.channel, info.node)
            if sid is not None:
                ids[(sensor_key(info.node, info.sensor), info.channel)] = sid
        gap_open: set[int] = set()
        busy = False  # maintenance has more steps to run (the replay starts at the first flush)
        quiet = False  # the last flush had nothing to write
        reserved = False  # the WAL has its working size (see HistoryOptions.reserve_after)
        reserve_at = time.monotonic() + self.options.reserve_after
        while True:
            with self._cond:
                if not self._jobs and not self._stopping and not busy:
                    if quiet and not self._pending:
                        # nothing to write: sleep until a reading (record() wakes us), a query,
                        # stop, or the retention sweep, instead of waking every flush interval
                        self._idle = True
                        self._cond.wait(max(next_sweep - time.monotonic(), 0.0))
                        self._idle = False
                    else:
                        self._cond.wait(max(next_flush - time.monotonic(), 0.0))
                jobs = list(self._jobs)
                self._jobs.clear()
                stopping = self._stopping
            # a query needs the whole replay: finish it step by step, so a stop is not held up
            while jobs and store.replaying and not self._stopping:
                store.replay_step()
            if store.replaying:  # stopping: the replay is for the next start
                for _fn, fut in jobs:
                    fut.cancel()
                jobs = []
            for fn, fut in jobs:
                if fut.set_running_or_notify_cancel():
                    try:
                        fut.set_result(fn(store))
                    except Exception as e:
                        fut.set_exception(e)
            if stopping:
                self._flush(store, ids, gap_open)
                return
            now = time.monotonic()
            if now >= next_flush:
                if not reserved and now >= reserve_at:
                    store.reserve_wal()
                    reserved = True
                quiet = not self._flush(store, ids, gap_open)
                next_flush += interval
                if next_flush < now:  # fell behind: do not flush back to back
                    next_flush = now + interval
                busy = store.replaying or store.seal_due() or now >= next_sweep
            elif busy:
                try:
                    busy = store.replay_step() or store.seal_step()
                    if not busy and now >= next_sweep:
                        busy = store.sweep_step()
                        if not busy:
                            next_sweep = now + SWEEP_EVERY_S
                except sqlite3.Error as e:
                    log.warning("history: sealing or pruning failed, will retry: %s", e)
                    busy = False
                self._measure(store)
            if self._refill_sids and not store.replaying:  # the last step, or a query, ended it
                self._refill(store)

    def _flush(self, store: Store, ids: dict[tuple[str, str], int], gap_open: set[int]) -> bool:
        """Write what was recorded since the last flush; False if there was nothing."""
        with self._lock:
            batch, self._pending = self._pending, deque()
            lost, self._lost = self._lost, {}
            new, self._new = self._new, []
            if batch:
                self._inflight_since = batch[0][1]
        if not (batch or lost or new):
            return False
        try:
            if new:
                ids.update(self._register(store, new))
            samples = self._samples(store, ids, gap_open, batch, lost)
            store.append(samples)
        except sqlite3.Error as e:
            self.flush_errors += 1
            if not self._failing:
                log.error("history: writing to %s failed, will retry: %s", store.path, e)
                self._failing = True
            with self._lock:  # keep them for the next flush, within the same limit
                self._pending.extendleft(reversed(batch))
                while len(self._pending) > self.options.max_pending:
                    s, ts, _ = self._pending.popleft()
                    self._lost[s] = ts
                    self.dropped += 1
                self._new[:0] = new
                for s, ts in lost.items():
                    self._lost.setdefault(s, ts)
            return True
        finally:
            self._inflight_since = None
        if self._failing:
            log.info("history: writing works again")
            self._failing = False
        self.flushes += 1
        self._measure(store)
        return True

    def _samples(
        self,
        store: Store,
        ids: dict[tuple[str, str], int],
        gap_open: set[int],
        batch: Iterable[tuple[str, float, Mapping[str, Value] | None]],
        lost: Mapping[str, float],
    ) -> dict[int, Samples]:
        out: dict[int, Samples] = {}

        def put(sid: int, ts: float, q: int | None) -> None:
            s = out.get(sid)
            if s is None:
                s = out[sid] = Samples(store.series[sid].precision)
            s.t.append(round(ts * 1000))
            s.q.append(q)

        def gap(sensor: str, ts: float) -> None:
            for cid in self._channels.get(sensor, ()):
                sid = ids.get((sensor, cid))
                if sid is not None and sid not in gap_open:
                    put(sid, ts, None)
                    gap_open.add(sid)

        for sensor, ts in lost.items():
            gap(sensor, ts)
        for sensor, ts, values in batch:
            if values is None:
                gap(sensor, ts)
                continue
            for cid, v in values.items():
                sid = ids.get((sensor, cid))
                if sid is None:
                    continue
                fv = float(v)
                if not math.isfinite(fv):
                    continue
                put(sid, ts, round(fv * 10.0 ** store.series[sid].precision))
                gap_open.discard(sid)
        return out

    def _measure(self, store: Store) -> None:
        with contextlib.suppress(OSError):
            self._db_bytes = store.file_bytes()
        written = _write_bytes()
        if written is None:
            return
        day = time.localtime(self._clock()).tm_yday
        if self._io_base is None or self._io_base[0] != day:
            self._io_base = (day, written if self._io_base is None else self._last_written)
        self._last_written = written
        self._io_today = written - self._io_base[1]

    _last_written = 0


def _fill(w: _Window, s: Samples) -> _Window:
    """`w` fed every sample of `s` (in time order) as `add` one by one would leave it, without
    looking at those it would replace anyway: between two points that are due, a bisection finds
    the sample that makes the next one due. An hour at 1 s is 3,600 samples for 60 points: the
    snapshot's sparklines at the open cost tens of calls per channel instead of thousands."""
    t, q = s.t, s.q
    scale = 10.0**s.precision
    step = w.span / WINDOW_POINTS
    n = len(t)
    gap = -1  # the next gap at or after i (n: none)
    i = 0
    while i < n:
        if gap < i:
            try:
                gap = q.index(None, i)
            except ValueError:
                gap = n
        v = q[i]
        if v is None or len(w.t) < 2 or w.v[-1] is None or w.v[-2] is None:
            w.add(t[i] / 1000, None if v is None else v / scale)
            i += 1
            continue
        due = w.t[-2] + step
        if w.t[-1] >= due:  # sample i is the next point
            w.add(t[i] / 1000, v / scale)
            i += 1
            continue
        # samples i, i+1, ... replace the last point, up to the first at or past `due` (or the
        # last before a gap); the one after it is the next point
        j = min(bisect_left(t, due, i, gap, key=_seconds), gap - 1)
        w.add(t[j] / 1000, q[j] / scale)  # type: ignore[operator]  # no gap before `gap`
        i = j + 1
    return w


def _seconds(ms: int) -> float:
    return ms / 1000


def _write_bytes() -> int | None:
    """This process's bytes written to storage (Linux /proc/self/io), or None elsewhere."""
    try:
        with open("/proc/self/io", "rb") as f:
            for line in f:
                if line.startswith(b"write_bytes:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None
