"""SQLite storage of history: a staging log for the last flushes, sealed chunks per series and tier.

Every flush appends one small record to a pre-allocated staging blob (SQLite's incremental blob
I/O): it rewrites one or two 512-byte pages, and one commit in WAL mode with synchronous=FULL syncs
one WAL frame, so a power cut loses at most the current flush interval and never corrupts the file.
Once an hour (the seal), the staged samples become one compressed chunk per series (raw tier) and
are rolled up into minute and hour buckets; each series is sealed in its own small transaction,
marked with the last staging record it includes, so a seal cut off halfway resumes without
duplicating anything. Why these choices (page size, exclusive locking, blob log) is measured in
docs/history.md.

Not thread-safe: one thread owns a Store (`service.History` runs it on its writer thread).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import os
import sqlite3
import time
import weakref
from array import array
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from operator import itemgetter
from pathlib import Path

from pi_dashboard.history import schema
from pi_dashboard.history.codec import (
    FORMAT,
    Buckets,
    CodecError,
    Samples,
    decode_buckets,
    decode_raw,
    deflate,
    encode_buckets,
    encode_raw,
    get_samples,
    get_uvarint,
    inflate,
    put_samples,
    put_uvarint,
)
from pi_dashboard.history.tiers import (
    CHUNK_SPAN,
    HOUR,
    MINUTE,
    RAW,
    TIERS,
    Item,
    Retention,
    Series,
    bucket_items,
    chunk_start,
    coarsen,
    downsample,
    merge,
    rescale_buckets,
    rescale_samples,
    rollup,
    sample_items,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 512
"""The smallest SQLite page: a flush rewrites one or two of them (see docs/history.md)."""
STAGING_ROW_BYTES = 64 * 1024
MAX_STAGING_ROWS = 64
"""4 MB of staging (about a day of the reference workload): when full, seal early."""
RECORD_SAMPLES = 4096
"""Largest staging record, in samples: a backlog is written as several records."""
SEAL_BATCH = 8
"""Series sealed per transaction: the writer serves queries and flushes between batches."""
SWEEP_BATCH = 256
"""Chunks deleted per transaction by retention (by the size cap, a sixteenth of it)."""
CAP_KEEPS = {RAW: 86400, MINUTE: 7 * 86400, HOUR: 30 * 86400}
"""What the size cap never deletes: the last day of raw samples, week of minutes, month of hours."""
CACHE_KB = 256
"""SQLite's page cache: the hot pages are the current staging row and a few chunk pages; a larger
cache only grows the daemon's memory (2000 pages would be about 1.4 MB)."""
WAL_PAGES = 10_000
"""Checkpoint when the WAL holds this many pages (5 MB at 512 B): staging pages are rewritten every
hour or so, and a checkpoint copies only a page's last version, so a long WAL copies each once."""
WAL_FRAME_HEADER = 24
WAL_BYTES = 32 + (WAL_PAGES + 64) * (WAL_FRAME_HEADER + PAGE_SIZE)
"""The WAL's working size: its header, the frames up to the checkpoint, and a seal's transaction
past it. The file is given this size up front (see `_reserve_wal`)."""
ZERO_CHUNK = 4096
"""The WAL is reserved in writes of one memory page (see `_reserve_wal`)."""
RAW_QUERY_SAMPLES = 50_000
"""A query reads raw samples only if the range holds no more than this (about 5 MB in Python):
a longer one is answered from the minute tier."""
GAP = -(1 << 63)
"""A gap in the in-memory arrays (no value is ever this small)."""
BLOCK_SAMPLES = 256
"""Staged samples of a series are kept in memory deflated, this many to a block: a query of the
unsealed hour decodes them (about 0.7 ms per series-hour)."""
PRUNE_BLOBS = 256
"""Python's sqlite3 keeps a weak reference (88 bytes) to every blob ever opened until the
connection closes (python/cpython#144424): every this many flushes, the dead ones are dropped."""
CUT = -2
"""A record seq that is never one: the next record added starts a new run."""
REPLAY_BATCH = 32
"""Staging records decoded per step of the replay after the open (`replay_step`): about 10 ms
here, so the writer answers queries and flushes between steps."""
PREVIEW_RECENT = 12
"""The newest staging records a `preview` decodes in full (a minute at the default flush): every
channel read in the last minute gets its exact latest value."""
PREVIEW_RECORDS = 84
"""Staging records a `preview` decodes at most: the recent ones, and before them one a minute (the
snapshot's sparkline has a point a minute), for an hour and then some."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesInfo:
    """What a series is: whose channel, in which unit, at which precision, sampled how often."""

    sensor: str
    channel: str
    node: str = ""
    unit: str | None = None
    name: str = ""
    kind: str = "none"
    """Home Assistant's device class, as the snapshot's `kind`"""
    precision: int = 2
    binary: bool = False
    interval_s: float = 1.0


@dataclass(slots=True)
class _Unsealed:
    """Staged samples of one series not yet sealed into chunks, in arrival order: deflated in
    blocks of BLOCK_SAMPLES (about 1.5 bytes a sample, instead of 16 in arrays), the newest in a
    short tail; and the runs of consecutive staging records of one seal period they came from,
    so that a seal can stop after any record it chooses (see `upto`)."""

    precision: int
    blocks: list[tuple[int, int, int, int, bytes]] = field(default_factory=list)
    """(samples, base ms, first and last time ms, codec.encode_raw blob), oldest first"""
    t: array[int] = field(default_factory=lambda: array("q"))
    q: array[int] = field(default_factory=lambda: array("q"))
    n: int = 0
    run_seq: list[int] = field(default_factory=list)
    """first staging record of each run"""
    run_start: list[int] = field(default_factory=list)
    """index of its first sample"""
    last: tuple[int, int] = (CUT, CUT)
    """(seq, seal period) of the last record added; CUT starts a new run at the next one"""

    def add(self, seq: int, period: int, s: Samples) -> None:
        if not s.t:
            return
        if s.precision != self.precision:
            s = rescale_samples(s, self.precision)
        # A run is consecutive records of one period: whatever record a seal stops after (the
        # last of a past period, or the last of all, after which the round cuts every run), the
        # next one starts a run, so `upto` finds the exact boundary.
        if (seq - 1, period) != self.last and (seq, period) != self.last:
            self.run_seq.append(seq)
            self.run_start.append(self.n)
        self.last = (seq, period)
        self.t.extend(s.t)
        self.q.extend(GAP if v is None else v for v in s.q)
        self.n += len(s.t)
        if len(self.t) >= BLOCK_SAMPLES:
            self._pack()

    def _pack(self) -> None:
        while len(self.t) >= BLOCK_SAMPLES:
            self.blocks.append(_block(self._tail(0, BLOCK_SAMPLES)))
            del self.t[:BLOCK_SAMPLES]
            del self.q[:BLOCK_SAMPLES]

    def _tail(self, start: int, end: int) -> Samples:
        qs = self.q[start:end]
        return Samples(
            self.precision, self.t[start:end].tolist(), [None if v == GAP else v for v in qs]
        )

    def cut(self) -> None:
        """The next record added starts a new run (a seal round stops after the current one)."""
        self.last = (CUT, CUT)

    def upto(self, seq: int) -> int:
        """Number of leading samples from records <= seq (seq ends a run, see `add`)."""
        for i, rs in enumerate(self.run_seq):
            if rs > seq:
                return self.run_start[i]
        return self.n

    def span(self) -> tuple[int, int] | None:
        """Earliest and latest sample time (ms), or None when empty."""
        times = [t for b in self.blocks for t in b[2:4]]
        if self.t:
            times += [min(self.t), max(self.t)]
        return (min(times), max(times)) if times else None

    def samples(self, start: int = 0, end: int | None = None) -> Samples:
        end = self.n if end is None else min(end, self.n)
        out = Samples(self.precision)
        pos = 0
        for count, base, _lo, _hi, blob in self.blocks:
            if pos >= end:
                break
            if pos + count > start:
                s = decode_raw(blob, base)
                a, b = max(start - pos, 0), min(end - pos, count)
                out.t += s.t[a:b]
                out.q += s.q[a:b]
            pos += count
        if end > pos:
            s = self._tail(max(start - pos, 0), end - pos)
            out.t += s.t
            out.q += s.q
        return out

    def drop(self, n: int) -> None:
        """Forget the first n samples (they are sealed now)."""
        ends = [*self.run_start[1:], self.n]
        runs = [
            (seq, max(start - n, 0))
            for seq, start, end in zip(self.run_seq, self.run_start, ends, strict=True)
            if end > n
        ]
        self.run_seq = [seq for seq, _ in runs]
        self.run_start = [start for _, start in runs]
        self.n -= min(n, self.n)
        while self.blocks and n >= self.blocks[0][0]:
            n -= self.blocks.pop(0)[0]
        if self.blocks and n:
            _n, base, _lo, _hi, blob = self.blocks[0]
            s = decode_raw(blob, base)
            self.blocks[0] = _block(Samples(s.precision, s.t[n:], s.q[n:]))
        elif n:
            del self.t[:n]
            del self.q[:n]

    def rescale(self, precision: int) -> None:
        s = rescale_samples(self.samples(), precision)
        self.precision = precision
        self.blocks.clear()
        self.t = array("q", s.t)
        self.q = array("q", (GAP if v is None else v for v in s.q))
        self._pack()


def _within(s: Samples, lo: int, hi: int) -> Samples:
    """The samples of `s` with lo <= t < hi, in their order; by bisection when in time order."""
    t = s.t
    if t == sorted(t):
        a, b = bisect_left(t, lo), bisect_left(t, hi)
        return Samples(s.precision, t[a:b], s.q[a:b])
    keep = [i for i, x in enumerate(t) if lo <= x < hi]
    return Samples(s.precision, [t[i] for i in keep], [s.q[i] for i in keep])


def _block(s: Samples) -> tuple[int, int, int, int, bytes]:
    return len(s.t), s.t[0], min(s.t), max(s.t), encode_raw(s, s.t[0])


@dataclass(slots=True)
class _Row:
    id: int
    size: int
    first: int
    """blob offset where its first overflow page starts (see `overflow_layout`)"""
    page: int
    """bytes of blob per overflow page"""
    used: int = 0
    max_seq: int = 0

    def page_end(self, offset: int) -> int:
        """The blob offset where the page holding `offset` ends."""
        if offset < self.first:
            return self.first
        return self.first + ((offset - self.first) // self.page + 1) * self.page


@dataclass(slots=True)
class _Round:
    upto: int
    todo: list[int]


@dataclass(slots=True)
class Stats:
    flushes: int = 0
    samples: int = 0
    seals: int = 0
    chunks_deleted: int = 0
    last_flush_s: float = 0.0


class Store:
    """One history database file (or ":memory:"), opened by the thread that will use it."""

    def __init__(
        self,
        path: str | Path,
        *,
        retention: Retention = Retention(),  # noqa: B008 (frozen dataclass)
        seal_period: int = 3600,
        clock: Callable[[], float] = time.time,
        synchronous: str = "FULL",
        busy_timeout: float = 10.0,
    ) -> None:
        if 3600 % seal_period:
            raise ValueError("seal_period must divide an hour")
        self.path = str(path)
        self.retention = retention
        self.seal_period = seal_period
        self.clock = clock
        self.stats = Stats()
        self.series: dict[int, SeriesInfo] = {}
        self._ids: dict[tuple[str, str, str, str], int] = {}
        self._sealed_seq: dict[int, int] = {}
        self._unsealed: dict[int, _Unsealed] = {}
        self._records: list[tuple[int, int]] = []
        """(seq, seal period) of every staging record with unsealed samples, in seq order"""
        self._rows: list[_Row] = []
        self._row = -1
        self._seq = 0
        self._sealed_through = 0
        self._round: _Round | None = None
        self._backlog: deque[tuple[int, int, int, int, int]] = deque()
        """staging records found at the open and not decoded yet: (seq, base ms, row, start, end)"""
        self._late: list[tuple[int, int, dict[int, Samples]]] = []
        """(seq, seal period, samples) appended while the backlog is replayed, added after it"""
        self._over_cap = False
        self._blob_opens = 0
        self.conn = _connect(self.path, synchronous, busy_timeout)
        self._page_size = int(self.conn.execute("PRAGMA page_size").fetchone()[0])
        try:
            schema.migrate(self.conn)
            self._load()
        except BaseException:
            self.conn.close()
            raise

    def reserve_wal(self) -> None:
        """Give the WAL its working size (see `_reserve_wal`): the daemon's writer does, a minute
        after the start (HistoryOptions.reserve_after); a reader (export, backup, replay of a
        copy) has no use for 5 MB of zeros."""
        if self.path != ":memory:":
            _reserve_wal(self.path + "-wal")

    def close(self) -> None:
        self.conn.close()

    # --- series ------------------------------------------------------------------------------

    def register(self, info: SeriesInfo) -> int:
        """The id of a series, created or updated to `info` (name, precision, interval)."""
        key = (info.node, info.sensor, info.channel, info.unit or "")
        sid = self._ids.get(key)
        if sid is not None:
            if self.series[sid] != info:
                old = self.series[sid]
                self._exec(
                    "UPDATE series SET name=?, kind=?, precision=?, binary=?, interval_s=?"
                    " WHERE id=?",
                    (info.name, info.kind, info.precision, int(info.binary), info.interval_s, sid),
                )
                self.series[sid] = info
                if old.precision != info.precision:
                    self._caught_up()
                    if sid in self._unsealed:
                        self._unsealed[sid].rescale(info.precision)
            return sid
        cur = self._exec(
            "INSERT INTO series (node, sensor, channel, unit, name, kind, precision, binary,"
            " interval_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*key, info.name, info.kind, info.precision, int(info.binary), info.interval_s),
        )
        sid = int(cur.lastrowid or 0)
        self._ids[key] = sid
        self.series[sid] = info
        self._sealed_seq[sid] = 0
        return sid

    def find(self, sensor: str, channel: str, node: str = "") -> int | None:
        """The series of a channel in its current unit: the one registered last."""
        found = [
            sid for (n, s, c, _u), sid in self._ids.items() if (n, s, c) == (node, sensor, channel)
        ]
        return max(found) if found else None

    def _exec(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        with self.transaction():
            return self.conn.execute(sql, params)

    def transaction(self) -> Transaction:
        return Transaction(self.conn)

    # --- loading -----------------------------------------------------------------------------

    def _load(self) -> None:
        for row in self.conn.execute(
            "SELECT id, node, sensor, channel, unit, name, kind, precision, binary, interval_s,"
            " sealed_seq FROM series"
        ):
            sid, node, sensor, channel, unit, name, kind, precision, binary, interval_s, sealed = (
                row
            )
            info = SeriesInfo(
                sensor=sensor, channel=channel, node=node, unit=unit or None, name=name,
                kind=kind, precision=precision, binary=bool(binary), interval_s=interval_s,
            )  # fmt: skip
            self.series[sid] = info
            self._ids[(node, sensor, channel, unit)] = sid
            self._sealed_seq[sid] = sealed
        # two passes, so recovering an hour of staging never holds it all decoded at once
        frames: list[tuple[int, int, int, int, int]] = []  # seq, base ms, row, start, end
        for row_id, size in self.conn.execute("SELECT id, length(data) FROM staging ORDER BY id"):
            r = self._row_of(row_id, size)
            data = self._read_row(row_id)
            for seq, base, start, end in _parse_row(data, r):
                frames.append((seq, base, len(self._rows), start, end))
                r.used, r.max_seq = end, max(r.max_seq, seq)
            self._rows.append(r)
        frames.sort()
        self._seq = max([0, *self._sealed_seq.values(), *(r.max_seq for r in self._rows)])
        floor = min(self._sealed_seq.values(), default=self._seq)
        self._backlog = deque(f for f in frames if f[0] > floor)
        # until the backlog is replayed, a row holding any of it is never reused (`_next_row`)
        self._sealed_through = self._backlog[0][0] - 1 if self._backlog else self._seq
        if self._rows:
            self._row = max(range(len(self._rows)), key=lambda i: self._rows[i].max_seq)

    @property
    def replaying(self) -> bool:
        """Staging records found at the open are not all decoded yet (see `replay_step`)."""
        return bool(self._backlog)

    def replay_step(self, records: int = REPLAY_BATCH) -> bool:
        """Decode the next `records` staging records found at the open into the unsealed samples;
        True while more remain. The open only indexes them, so the daemon serves at once whatever
        the staging log holds; every read of unsealed samples finishes the replay first, so none
        sees part of it (`preview` is the one exception, and says so)."""
        if not self._backlog:
            return False
        batch = [self._backlog.popleft() for _ in range(min(records, len(self._backlog)))]
        for seq, period, entries in self._decode(batch):
            live = False
            for sid, smp in entries.items():
                if sid in self.series and seq > self._sealed_seq[sid]:
                    self._unsealed_for(sid).add(seq, period, smp)
                    live = True
            if live:
                self._records.append((seq, period))
        if self._backlog:
            return True
        for seq, period, entries in self._late:
            self._records.append((seq, period))
            for sid, smp in entries.items():
                self._unsealed_for(sid).add(seq, period, smp)
        self._late = []
        self._sealed_through = self._records[0][0] - 1 if self._records else self._seq
        n = sum(u.n for u in self._unsealed.values())
        if n:
            log.info("history: %d staged samples recovered", n)
        return False

    def _caught_up(self) -> None:
        while self.replay_step(len(self._backlog)):
            pass

    def _decode(
        self, frames: Sequence[tuple[int, int, int, int, int]]
    ) -> Iterator[tuple[int, int, dict[int, Samples]]]:
        """(seq, seal period, samples) of each staging record in `frames`, damaged ones skipped."""
        cached: tuple[int, bytes] = (-1, b"")
        for seq, base, row, start, end in frames:
            if cached[0] != row:
                cached = (row, self._read_row(self._rows[row].id))
            try:
                entries = _decode_entries(cached[1][start:end], base)
            except CodecError as e:
                log.error("history: skipping damaged staging record %d: %s", seq, e)
                continue
            yield seq, base // (self.seal_period * 1000), entries

    def preview(self, since: float = 0.0, every_s: float = 60.0) -> dict[int, Samples] | None:
        """While the replay is pending: the unsealed samples of a few staging records (the newest
        PREVIEW_RECENT, and before them one every `every_s` seconds from `since`, epoch s;
        PREVIEW_RECORDS in all at most), per series in time order, without replaying: enough for
        the snapshot's latest values and sparklines (a point every `every_s`), not for a query.
        None once the replay is done (the unsealed samples themselves are complete then)."""
        if not self._backlog:
            return None
        frames = list(self._backlog)
        older = frames[: max(len(frames) - PREVIEW_RECENT, 0)]
        chosen: list[tuple[int, int, int, int, int]] = []
        # a record's base is its first sample: one that starts a little before `since` may hold
        # the sample a sparkline starts with
        first = since * 1000 - every_s * 1000
        for f in older:
            if f[1] < first:
                continue
            if not chosen or f[1] >= chosen[-1][1] + every_s * 1000:
                chosen.append(f)
        room = PREVIEW_RECORDS - PREVIEW_RECENT
        if len(chosen) > room:  # a longer span than usual (sealing failed): fewer, evenly
            chosen = [chosen[i * len(chosen) // room] for i in range(room)]
        chosen += frames[len(older) :]
        out: dict[int, Samples] = {}
        for seq, _period, entries in self._decode(chosen):
            for sid, smp in entries.items():
                info = self.series.get(sid)
                if info is not None and seq > self._sealed_seq[sid]:
                    part = out.setdefault(sid, Samples(info.precision))
                    smp = rescale_samples(smp, info.precision)
                    part.t += smp.t
                    part.q += smp.q
        for part in out.values():  # records are in seq order, not always in time order
            if any(b < a for a, b in pairwise(part.t)):
                pairs = sorted(zip(part.t, part.q, strict=True), key=itemgetter(0))
                part.t = [t for t, _ in pairs]
                part.q = [q for _, q in pairs]
        return out

    def _read_row(self, row_id: int) -> bytes:
        return bytes(
            self.conn.execute("SELECT data FROM staging WHERE id=?", (row_id,)).fetchone()[0]
        )

    def _unsealed_for(self, sid: int) -> _Unsealed:
        u = self._unsealed.get(sid)
        if u is None:
            u = self._unsealed[sid] = _Unsealed(self.series[sid].precision)
        return u

    # --- appending (one transaction per flush) -------------------------------------------------

    def append(self, batch: dict[int, Samples]) -> None:
        """Stage one flush: a record per seal period it touches (usually one), one commit."""
        batch = {sid: s for sid, s in batch.items() if s.t}
        if not batch:
            return
        records = list(self._split(batch))
        frames: list[tuple[int, int, bytes]] = []
        for period, entries in records:
            self._seq += 1
            frames.append((self._seq, period, _encode_record(self._seq, entries)))
        with self.transaction():
            for seq, _period, blob in frames:
                self._write_frame(seq, blob)
        for (seq, period, _blob), (_p, entries) in zip(frames, records, strict=True):
            if self._backlog:  # after the records being replayed, in seq order
                self._late.append((seq, period, entries))
                continue
            self._records.append((seq, period))
            for sid, s in entries.items():
                self._unsealed_for(sid).add(seq, period, s)
        self.stats.flushes += 1
        self.stats.samples += sum(len(s) for s in batch.values())

    def _split(self, batch: dict[int, Samples]) -> Iterator[tuple[int, dict[int, Samples]]]:
        """By seal period (so a record never spans a seal), then by size."""
        per: dict[int, dict[int, Samples]] = {}
        span = self.seal_period * 1000
        for sid, s in batch.items():
            for t, q in zip(s.t, s.q, strict=True):
                period = t // span
                entry = per.setdefault(period, {}).get(sid)
                if entry is None:
                    entry = per[period][sid] = Samples(s.precision)
                entry.t.append(t)
                entry.q.append(q)
        for period in sorted(per):
            entries = per[period]
            out: dict[int, Samples] = {}
            n = 0
            for sid, s in entries.items():
                for i in range(0, len(s), RECORD_SAMPLES):
                    part = Samples(
                        s.precision, s.t[i : i + RECORD_SAMPLES], s.q[i : i + RECORD_SAMPLES]
                    )
                    if n + len(part) > RECORD_SAMPLES and out:
                        yield period, out
                        out, n = {}, 0
                    if sid in out:
                        yield period, out
                        out, n = {}, 0
                    out[sid] = part
                    n += len(part)
            if out:
                yield period, out

    def _write_frame(self, seq: int, blob: bytes) -> None:
        """Write one record where it changes as few pages as possible: records start on a fresh
        overflow page when the previous one left too little room, so a flush of up to a page of
        samples rewrites exactly one page (one WAL frame, one synced block)."""
        frame = bytearray()
        put_uvarint(frame, len(blob))
        frame += blob
        row = self._rows[self._row] if self._row >= 0 else None
        if row is None or row.used + len(frame) > row.size:
            row = self._next_row(len(frame))
        end = row.used + len(frame)
        room = row.page_end(end) - end
        if room < len(frame) and row.page_end(end) <= row.size:
            frame += bytes(room)  # the next record starts on the next page; zeros say so
        with self.conn.blobopen("staging", "data", row.id) as b:
            b.seek(row.used)
            b.write(bytes(frame))
        self._blob_opens += 1
        if self._blob_opens % PRUNE_BLOBS == 0:
            _drop_dead_blob_refs(self.conn)
        row.used += len(frame)
        row.max_seq = seq

    def _row_of(self, row_id: int, size: int) -> _Row:
        first, page = overflow_layout(self._page_size, size)
        return _Row(row_id, size, first, page)

    def _next_row(self, need: int) -> _Row:
        """The next staging row whose records are all sealed, else a new one."""
        n = len(self._rows)
        for k in range(1, n + 1):
            i = (self._row + k) % n
            r = self._rows[i]
            if i != self._row and r.max_seq <= self._sealed_through and r.size >= need:
                r.used, r.max_seq = 0, 0
                self._row = i
                return r
        size = max(STAGING_ROW_BYTES, need)
        cur = self.conn.execute("INSERT INTO staging (data) VALUES (zeroblob(?))", (size,))
        r = self._row_of(int(cur.lastrowid or 0), size)
        self._rows.append(r)
        self._row = len(self._rows) - 1
        return r

    # --- sealing: staged samples -> chunks and roll-ups ------------------------------------------

    def seal_due(self) -> bool:
        """Whether a seal round is due; not before the replay is done (`seal_step` forces it)."""
        if self._backlog:
            return False
        if self._round is not None:
            return True
        if not self._records:
            return False
        current = int(self.clock() // self.seal_period)
        return self._records[0][1] != current or len(self._rows) >= MAX_STAGING_ROWS

    def seal_step(self) -> bool:
        """Seal the next few series; True while the round has more to do."""
        self._caught_up()
        if self._round is None:
            if not self.seal_due():
                return False
            current = int(self.clock() // self.seal_period)
            if len(self._rows) >= MAX_STAGING_ROWS:
                upto = self._records[-1][0]
            else:
                upto = max(seq for seq, period in self._records if period != current)
            todo = [sid for sid, u in self._unsealed.items() if u.run_seq and u.run_seq[0] <= upto]
            self._round = _Round(upto=upto, todo=todo)
            for u in self._unsealed.values():
                u.cut()
        r = self._round
        batch, r.todo = r.todo[:SEAL_BATCH], r.todo[SEAL_BATCH:]
        with self.transaction():
            for sid in batch:
                self._seal_series(sid, r.upto)
        for sid in batch:
            u = self._unsealed[sid]
            u.drop(u.upto(r.upto))
            if not u.n:
                del self._unsealed[sid]
        if r.todo:
            return True
        self._records = [(seq, p) for seq, p in self._records if seq > r.upto]
        self._sealed_through = max(self._sealed_through, r.upto)
        self._round = None
        self.stats.seals += 1
        return False

    def _seal_series(self, sid: int, upto: int) -> None:
        u = self._unsealed[sid]
        s = u.samples(0, u.upto(upto))
        by_hour: dict[int, Samples] = {}
        for t, q in zip(s.t, s.q, strict=True):
            part = by_hour.get(t // 3_600_000)
            if part is None:
                part = by_hour[t // 3_600_000] = Samples(s.precision)
            part.t.append(t)
            part.q.append(q)
        for hour, part in sorted(by_hour.items()):
            t0 = hour * 3600
            self.conn.execute(
                "INSERT INTO chunks (series, tier, t0, t_first, t_last, n, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (sid, RAW, t0, part.t[0] / 1000, part.t[-1] / 1000, len(part),
                 encode_raw(part, t0 * 1000)),
            )  # fmt: skip
        minutes = rollup(s, MINUTE)
        self._upsert_buckets(sid, MINUTE, minutes)
        self._upsert_buckets(sid, HOUR, coarsen(minutes, HOUR))
        self.conn.execute("UPDATE series SET sealed_seq=? WHERE id=?", (upto, sid))
        self._sealed_seq[sid] = upto

    def _upsert_buckets(self, sid: int, tier: int, b: Buckets) -> None:
        span = CHUNK_SPAN[tier]
        groups: dict[int, Buckets] = {}
        for i, start in enumerate(b.start):
            g = groups.get(start // span)
            if g is None:
                g = groups[start // span] = Buckets(b.precision)
            g.start.append(start)
            g.count.append(b.count[i])
            g.lo.append(b.lo[i])
            g.hi.append(b.hi[i])
            g.total.append(b.total[i])
            g.gap.append(b.gap[i])
        for k, g in sorted(groups.items()):
            t0 = k * span
            row = self.conn.execute(
                "SELECT rowid, data FROM chunks WHERE series=? AND tier=? AND t0=?",
                (sid, tier, t0),
            ).fetchone()
            if row is not None:
                g = merge(decode_buckets(row[1], t0, tier), g, tier)
                self.conn.execute("DELETE FROM chunks WHERE rowid=?", (row[0],))
            self.conn.execute(
                "INSERT INTO chunks (series, tier, t0, t_first, t_last, n, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (sid, tier, t0, g.start[0], g.start[-1] + tier, sum(g.count),
                 encode_buckets(g, t0, tier)),
            )  # fmt: skip

    def seal_all(self) -> None:
        """Seal everything staged before now's period (tests and tools; the writer steps)."""
        while self.seal_step():
            pass

    # --- retention and the size cap ------------------------------------------------------------

    def sweep_step(self) -> bool:
        """Delete up to SWEEP_BATCH expired chunks (then, over the size cap, the oldest ones);
        True while there is more to delete."""
        now = self.clock()
        for tier in TIERS:
            cutoff = now - self.retention.keep(tier) - CHUNK_SPAN[tier]
            if self._delete(
                "SELECT rowid FROM chunks WHERE tier=? AND t0 < ? LIMIT ?",
                (tier, cutoff, SWEEP_BATCH),
            ):
                return True
        cap = self.retention.max_bytes
        if cap and self.used_bytes() > cap:
            for tier in TIERS:
                floor = now - CAP_KEEPS[tier] - CHUNK_SPAN[tier]
                if self._delete(
                    "SELECT rowid FROM chunks WHERE tier=? AND t0 < ? ORDER BY t0 LIMIT ?",
                    (tier, floor, SWEEP_BATCH // 16),
                ):
                    if not self._over_cap:
                        log.warning(
                            "history: the database is over its %g MB cap; deleting the oldest "
                            "%s data", cap / 1e6, _TIER_NAMES[tier],
                        )  # fmt: skip
                        self._over_cap = True
                    return True
        else:
            self._over_cap = False
        return False

    def _delete(self, select: str, params: Sequence[object]) -> bool:
        with self.transaction():
            rows = [r[0] for r in self.conn.execute(select, params)]
            if rows:
                marks = ",".join("?" * len(rows))
                self.conn.execute(f"DELETE FROM chunks WHERE rowid IN ({marks})", rows)
        self.stats.chunks_deleted += len(rows)
        return bool(rows)

    def used_bytes(self) -> int:
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
        free = self.conn.execute("PRAGMA freelist_count").fetchone()[0]
        return int((pages - free) * self._page_size)

    def file_bytes(self) -> int:
        """The database's size on disk (main file and WAL)."""
        if self.path == ":memory:":
            return self.used_bytes()
        total = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(FileNotFoundError):
                total += os.stat(self.path + suffix).st_size
        return total

    # --- reading -------------------------------------------------------------------------------

    def raw(
        self,
        sid: int,
        t_from: float,
        t_to: float,
        *,
        preview: Mapping[int, Samples] | None = None,
    ) -> Samples:
        """Every raw sample (and gap) in [t_from, t_to), sealed or staged, in time order (with
        `preview`, its staged samples instead: see `preview`)."""
        info = self.series[sid]
        out = Samples(info.precision)
        rows = self.conn.execute(
            "SELECT t0, data FROM chunks WHERE series=? AND tier=? AND t0 >= ? AND t0 < ?"
            " AND t_last >= ? ORDER BY t0",
            (sid, RAW, chunk_start(t_from, RAW), t_to, t_from),
        ).fetchall()
        parts = [rescale_samples(decode_raw(data, t0 * 1000), info.precision) for t0, data in rows]
        staged = self._staged(sid, preview)
        if staged is not None:
            parts.append(staged)
        lo, hi = math.ceil(t_from * 1000), math.ceil(t_to * 1000)
        parts = [_within(p, lo, hi) for p in parts]
        if all(p.t == sorted(p.t) for p in parts) and all(
            a.t[-1] <= b.t[0] for a, b in pairwise(p for p in parts if p.t)
        ):  # the usual case: consecutive chunks, then the staged samples
            for p in parts:
                out.t += p.t
                out.q += p.q
            return out
        pairs = [(t, q) for p in parts for t, q in zip(p.t, p.q, strict=True)]
        if len(parts) > 1:
            pairs.sort(key=itemgetter(0))
        out.t = [t for t, _ in pairs]
        out.q = [q for _, q in pairs]
        return out

    def raw_span(self) -> tuple[float, float] | None:
        """First and last raw sample time (epoch s) of any series, or None if there are none."""
        lo, hi = self.conn.execute(
            "SELECT min(t_first), max(t_last) FROM chunks WHERE tier=?", (RAW,)
        ).fetchone()
        times = [x for x in (lo, hi) if x is not None]
        self._caught_up()
        for u in self._unsealed.values():
            if (span := u.span()) is not None:
                times += [span[0] / 1000, span[1] / 1000]
        return (min(times), max(times)) if times else None

    def latest(
        self, sid: int, *, preview: Mapping[int, Samples] | None = None
    ) -> tuple[float, float] | None:
        """The newest sample that is a value (not a gap): (epoch s, value)."""
        staged = self._staged(sid, preview)
        candidates: list[Samples] = [staged] if staged is not None else []
        row = self.conn.execute(
            "SELECT t0, data FROM chunks WHERE series=? AND tier=? ORDER BY t0 DESC LIMIT 1",
            (sid, RAW),
        ).fetchone()
        if row is not None:
            candidates.append(decode_raw(row[1], row[0] * 1000))
        best: tuple[int, int, int] | None = None
        for s in candidates:
            for t, q in zip(reversed(s.t), reversed(s.q), strict=True):
                if q is not None:
                    if best is None or t > best[0]:
                        best = (t, q, s.precision)
                    break
        if best is None:
            return None
        return best[0] / 1000, best[1] / 10.0 ** best[2]

    def query(
        self, sid: int, t_from: float, t_to: float, points: int, *, extra: Samples | None = None
    ) -> Series:
        """At most `points` buckets over [t_from, t_to) (plus a None point per gap), from the
        coarsest tier still finer than a bucket, continued with coarser tiers where it has been
        pruned and with the staged samples not yet rolled up (and `extra`: samples recorded but
        not yet flushed). The raw samples themselves when there are no more than `points`."""
        width = (t_to - t_from) / points
        tier = max(t for t in TIERS if t <= width)
        if (
            tier == RAW
            and (t_to - t_from) / max(self.series[sid].interval_s, 1e-3) > RAW_QUERY_SAMPLES
        ):
            tier = MINUTE  # fewer points than asked, rather than a long range decoded in RAM
            width = max(width, MINUTE)
        if tier == RAW:
            return self.grid(sid, t_from, t_to, width, raw_up_to=points, extra=extra)
        step = float(tier * math.ceil(width / tier))
        start = math.floor(t_from / tier) * tier
        while math.ceil((t_to - start) / step) > points:
            step += tier
        return self.grid(sid, start, t_to, step, extra=extra)

    def grid(
        self,
        sid: int,
        t_from: float,
        t_to: float,
        step: float,
        *,
        raw_up_to: int = 0,
        extra: Samples | None = None,
    ) -> Series:
        """Buckets of `step` seconds from `t_from` (the samples themselves if `step` is 0, or if
        there are no more than `raw_up_to` of them), from the coarsest tier finer than `step`."""
        info = self.series[sid]
        tier = max(t for t in TIERS if t <= step) if step else RAW
        if tier == RAW:
            s = self.raw(sid, t_from, t_to)
            oldest = self.conn.execute(
                "SELECT min(t0) FROM chunks WHERE series=? AND tier=?", (sid, RAW)
            ).fetchone()[0]
            edge = oldest if oldest is not None else (s.t[0] / 1000 if s.t else t_to)
            items = self._older(sid, RAW, t_from, edge)
            if extra is not None:
                s.t += extra.t
                s.q += rescale_samples(extra, info.precision).q
            if raw_up_to and sum(1 for q in s.q if q is not None) + len(items) <= raw_up_to:
                step = 0.0
            items.extend(sample_items(s))
        else:
            items = self._tier_items(sid, tier, t_from, t_to)
            staged = self._staged(sid, None)
            if staged is not None:
                items.extend(sample_items(staged))
            if extra is not None:
                items.extend(sample_items(rescale_samples(extra, info.precision)))
        items.sort(key=itemgetter(0))
        return downsample(items, t_from, t_to, step, info.precision, tier)

    def _staged(self, sid: int, preview: Mapping[int, Samples] | None) -> Samples | None:
        """A series' unsealed samples: replayed in full, or those of `preview` if given."""
        if preview is not None:
            return preview.get(sid)
        self._caught_up()
        u = self._unsealed.get(sid)
        return u.samples() if u is not None else None

    def _tier_items(self, sid: int, tier: int, t_from: float, t_to: float) -> list[Item]:
        """Buckets of `tier` in range; before the oldest chunk it still has, coarser tiers'."""
        info = self.series[sid]
        rows = self.conn.execute(
            "SELECT t0, data FROM chunks WHERE series=? AND tier=? AND t0 >= ? AND t0 < ?"
            " ORDER BY t0",
            (sid, tier, chunk_start(t_from, tier), t_to),
        ).fetchall()
        items: list[Item] = []
        for t0, data in rows:
            b = rescale_buckets(decode_buckets(data, t0, tier), info.precision)
            items.extend(bucket_items(b))
        first = rows[0][0] if rows else None
        if first is None or first > t_from:
            oldest = self.conn.execute(
                "SELECT min(t0) FROM chunks WHERE series=? AND tier=?", (sid, tier)
            ).fetchone()[0]
            edge = t_to if oldest is None else max(oldest, t_from)
            items.extend(self._older(sid, tier, t_from, edge))
        return items

    def _older(self, sid: int, tier: int, t_from: float, edge: float) -> list[Item]:
        """Data of the tiers coarser than `tier`, before `edge` (where `tier`'s own data begins)."""
        if edge <= t_from:
            return []
        coarser = [t for t in TIERS if t > tier]
        if not coarser:
            return []
        items = self._tier_items(sid, coarser[0], t_from, edge)
        return [it for it in items if it[0] < edge]

    # --- consistent copy -------------------------------------------------------------------------

    def backup(self, target: str | Path) -> None:
        """A consistent copy through SQLite's backup API (the daemon keeps writing meanwhile)."""
        dst = sqlite3.connect(str(target), isolation_level=None)
        try:
            with dst:
                self.conn.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()


_TIER_NAMES = {RAW: "raw", MINUTE: "per-minute", HOUR: "per-hour"}


class Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception; nests as a no-op."""

    __slots__ = ("conn", "outer")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.outer = False

    def __enter__(self) -> None:
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
            self.outer = True

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self.outer:
            return
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


def _connect(path: str, synchronous: str, busy_timeout: float) -> sqlite3.Connection:
    """WAL with synchronous=FULL: each commit is on disk when it returns, and a torn write is
    rolled back by the WAL's checksums, never half-applied. Exclusive locking keeps the WAL index
    in our memory instead of a -shm file whose pages the kernel would write back every 30 s."""
    conn = sqlite3.connect(
        path, isolation_level=None, timeout=busy_timeout, check_same_thread=False
    )
    try:
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode not in ("wal", "memory"):
            raise sqlite3.OperationalError(f"cannot use WAL mode (got {mode})")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KB}")
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_PAGES}")
        conn.execute("PRAGMA foreign_keys = OFF")
    except BaseException:
        conn.close()
        raise
    return conn


def _reserve_wal(path: str) -> None:
    """Give the WAL its working size at once, in real zero blocks: a WAL that grows costs more at
    each sync that extends it (the new block is allocated and the file's size changes then): 5.4
    to 5.8 KB a flush instead of 4.9 while it grows, measured (docs/history.md). Zeros are written
    only past the file's end, never over a frame; SQLite writes a WAL from its start whatever its
    size, and recovery stops at the first frame whose salts and checksum do not match, so zeros
    past the last commit read as the end of the log. fallocate would reserve the blocks without
    writing them, but then the first write to each converts an unwritten extent, a journal commit
    (measured on the device: 5.2 KB a flush, against 4.3 with zero blocks). 4 KB writes, so the
    page cache keeps 4 KB pages: a large folio would be dirtied, and written, whole per flush."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:  # no WAL (yet), or not ours to write: SQLite says so where it matters
        return
    try:
        size = os.fstat(fd).st_size
        if size >= WAL_BYTES:
            return
        zeros = bytes(ZERO_CHUNK)
        while size < WAL_BYTES:
            n = min(ZERO_CHUNK - size % ZERO_CHUNK, WAL_BYTES - size)
            size += os.pwrite(fd, zeros[:n], size)
        os.fdatasync(fd)  # now, rather than in the first flush's sync
    except OSError as e:  # disk full: the WAL grows as it is written, as before
        log.warning("history: cannot reserve the WAL (%s); it grows as it is written", e)
    finally:
        os.close(fd)


def _drop_dead_blob_refs(conn: sqlite3.Connection) -> None:
    """Empty CPython's list of weak references to closed blobs (it only ever grows, 88 bytes a
    flush, 1.5 MB a day). Closing the connection would also empty it, but would delete the WAL,
    and a WAL that grows again from nothing costs more writes than one SQLite reuses in place
    (docs/history.md). The list is found as the connection's only referent that is a list of
    weak references; if a Python without it has none, this does nothing."""
    for ref in gc.get_referents(conn):
        if type(ref) is list and ref and all(type(w) is weakref.ReferenceType for w in ref):
            ref[:] = [w for w in ref if w() is not None]


def _encode_record(seq: int, entries: dict[int, Samples]) -> bytes:
    """seq and the base time in the clear (recovery sorts records without inflating them), then
    the samples of each series, deflated."""
    base = min(s.t[0] for s in entries.values())
    head = bytearray()
    put_uvarint(head, seq)
    put_uvarint(head, base)
    body = bytearray()
    put_uvarint(body, len(entries))
    for sid, s in entries.items():
        put_uvarint(body, sid)
        put_samples(body, s, base)
    return bytes(head) + deflate(body, 6)


def _decode_entries(record: bytes, base: int) -> dict[int, Samples]:
    """A record's samples; `record` starts at its deflated part (after seq and base)."""
    body = inflate(record)
    n, pos = get_uvarint(body, 0)
    entries: dict[int, Samples] = {}
    for _ in range(n):
        sid, pos = get_uvarint(body, pos)
        entries[sid], pos = get_samples(body, pos, base)
    if pos != len(body):
        raise CodecError("trailing bytes in a staging record")
    return entries


def _parse_row(data: bytes, row: _Row) -> Iterator[tuple[int, int, int, int]]:
    """(seq, first sample's epoch ms, start and end of its deflated part) per record in a staging
    row. A zero length skips to the next page (padding); the log ends where a record does not
    parse or its seq does not increase (what follows is left from the row's previous use, or
    zeros)."""
    pos = 0
    last = 0
    view = memoryview(data)
    while pos < len(data):
        try:
            n, start = get_uvarint(view, pos)
            if n == 0:
                pos = row.page_end(pos)
                continue
            end = start + n
            seq, p = get_uvarint(view, start)
            base, p = get_uvarint(view, p)
        except CodecError:
            return
        if end > len(data) or p >= end or data[p] != FORMAT or seq <= last:
            return
        last = seq
        pos = end
        yield seq, base, p, end


def overflow_layout(page_size: int, blob_bytes: int) -> tuple[int, int]:
    """Where a staging row's blob crosses pages: (offset of its first overflow page, bytes per
    overflow page), from SQLite's file format (section 1.6, "Cell Payload Overflow Pages") for a
    row of (INTEGER PRIMARY KEY, BLOB), no reserved bytes. tests/unit/test_history_store.py checks
    it against the WAL: one small record, one frame."""
    usable = page_size
    serial = blob_bytes * 2 + 12
    header = 2 + (serial.bit_length() + 6) // 7  # header-size byte, NULL rowid, the blob's type
    payload = header + blob_bytes
    max_local = usable - 35
    min_local = (usable - 12) * 32 // 255 - 23
    if payload <= max_local:
        return blob_bytes, usable  # no overflow at all
    local = min_local + (payload - min_local) % (usable - 4)
    if local > max_local:
        local = min_local
    return local - header, usable - 4
