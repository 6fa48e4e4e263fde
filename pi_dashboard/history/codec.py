"""The bytes of a history chunk: columns of delta-encoded integers, deflated.

A series is stored at its channel's precision (21.37 °C at precision 2 is the integer 2137), so
consecutive samples differ by a few units. Timestamps (milliseconds) are stored as differences of
differences: a sensor polled every second gives a column of near-zero jitter. Each column is a
fixed-width integer array (the narrowest of 1, 2, 4 or 8 bytes that holds it), which the `array`
module packs and unpacks in C, and deflate squeezes out the unused high bits. The layout is
documented in docs/history.md; `FORMAT` changes whenever it does.
"""

from __future__ import annotations

import sys
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate, pairwise

FORMAT = 1
"""First byte of every blob: the layout below. A reader refuses a format it does not know."""

_WIDTHS = (("b", 1 << 7), ("h", 1 << 15), ("i", 1 << 31), ("q", 1 << 63))
_SWAP = sys.byteorder == "big"  # columns are little-endian on disk, whatever the machine


GAP_BEFORE = 1
GAP_AFTER = 2


class CodecError(ValueError):
    """A blob that is not one of ours (or a newer format): never silently misread."""


# --- varints and integer columns -------------------------------------------------------------


def put_uvarint(out: bytearray, x: int) -> None:
    while x >= 0x80:
        out.append((x & 0x7F) | 0x80)
        x >>= 7
    out.append(x)


def put_svarint(out: bytearray, x: int) -> None:
    put_uvarint(out, x * 2 if x >= 0 else -x * 2 - 1)


def get_uvarint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    x = shift = 0
    while True:
        try:
            b = buf[pos]
        except IndexError:
            raise CodecError("truncated varint") from None
        pos += 1
        x |= (b & 0x7F) << shift
        if b < 0x80:
            return x, pos
        shift += 7
        if shift > 70:
            raise CodecError("varint too long")


def get_svarint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    z, pos = get_uvarint(buf, pos)
    return (z >> 1) if not z & 1 else -((z + 1) >> 1), pos


def put_column(out: bytearray, xs: Sequence[int]) -> None:
    """A type letter, then the integers at the narrowest fixed width that holds them all."""
    if not xs:
        out += b"b"
        return
    lo, hi = min(xs), max(xs)
    for code, lim in _WIDTHS:
        if -lim <= lo and hi < lim:
            col = array(code, xs)
            if _SWAP:
                col.byteswap()
            out += code.encode()
            out += col.tobytes()
            return
    raise OverflowError(f"value {hi if hi > -lo else lo} does not fit in 64 bits")


def get_column(buf: bytes | memoryview, pos: int, n: int) -> tuple[array[int], int]:
    if pos >= len(buf):
        raise CodecError("truncated column")
    code = chr(buf[pos])
    if code not in "bhiq":
        raise CodecError(f"unknown column type {code!r}")
    col = array(code)
    end = pos + 1 + n * col.itemsize
    if end > len(buf):
        raise CodecError("truncated column")
    col.frombytes(bytes(buf[pos + 1 : end]))
    if _SWAP:
        col.byteswap()
    return col, end


def deltas(xs: Sequence[int]) -> list[int]:
    """xs[1] - xs[0], xs[2] - xs[1], ...: the column for xs[1:] once xs[0] is stored."""
    return [b - a for a, b in pairwise(xs)]


def undelta(first: int, ds: Sequence[int]) -> list[int]:
    return list(accumulate(ds, initial=first))


# --- one series' samples -----------------------------------------------------------------------


@dataclass(slots=True)
class Samples:
    """Samples of one series in time order: `t` in epoch milliseconds, `q` the value at the
    series' precision (value * 10**precision, rounded), `None` for a gap (the sensor failed, or
    the daemon restarted: what lies on either side must not be joined by a line)."""

    precision: int
    t: list[int] = field(default_factory=list)
    q: list[int | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.t)


def put_samples(out: bytearray, s: Samples, base_ms: int) -> None:
    """Header varints (precision, count, gap count), then the time column (first offset from
    `base_ms` and first step in the header, then differences of differences), the gap positions
    (differences), and the values (the first in the header, then differences)."""
    n = len(s.t)
    gaps = [i for i, q in enumerate(s.q) if q is None]
    values = [q for q in s.q if q is not None]
    put_svarint(out, s.precision)
    put_uvarint(out, n)
    put_uvarint(out, len(gaps))
    if n == 0:
        return
    t = s.t
    put_svarint(out, t[0] - base_ms)
    steps = deltas(t)
    put_svarint(out, steps[0] if steps else 0)
    put_column(out, deltas(steps))
    put_column(out, deltas([-1, *gaps]))
    put_svarint(out, values[0] if values else 0)
    put_column(out, deltas(values))


def get_samples(buf: bytes | memoryview, pos: int, base_ms: int) -> tuple[Samples, int]:
    precision, pos = get_svarint(buf, pos)
    n, pos = get_uvarint(buf, pos)
    ngaps, pos = get_uvarint(buf, pos)
    s = Samples(precision)
    if n == 0:
        return s, pos
    if ngaps > n:
        raise CodecError("more gaps than samples")
    first, pos = get_svarint(buf, pos)
    step, pos = get_svarint(buf, pos)
    dd, pos = get_column(buf, pos, max(n - 2, 0))
    gd, pos = get_column(buf, pos, ngaps)
    v0, pos = get_svarint(buf, pos)
    vd, pos = get_column(buf, pos, max(n - ngaps - 1, 0))
    s.t = undelta(first + base_ms, undelta(step, dd)[: n - 1]) if n > 1 else [first + base_ms]
    values = undelta(v0, vd) if n > ngaps else []
    if ngaps == 0:
        s.q = values  # type: ignore[assignment]
    else:
        q: list[int | None] = list(values)
        for i in accumulate(gd, initial=-1):
            if i >= 0:
                q.insert(i, None)
        s.q = q
    if len(s.q) != n:
        raise CodecError("gap positions do not match the sample count")
    return s, pos


# --- blobs ---------------------------------------------------------------------------------------


def deflate(body: bytes | bytearray, level: int = 9) -> bytes:
    """Raw deflate (no zlib header or checksum: SQLite already guards the bytes)."""
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return bytes([FORMAT]) + c.compress(body) + c.flush()


def inflate(blob: bytes) -> bytes:
    if not blob or blob[0] != FORMAT:
        raise CodecError(f"unknown history format {blob[0] if blob else None}")
    try:
        return zlib.decompress(blob[1:], -15)
    except zlib.error as e:
        raise CodecError(f"corrupt chunk: {e}") from None


def encode_raw(s: Samples, base_ms: int) -> bytes:
    out = bytearray()
    put_samples(out, s, base_ms)
    return deflate(out)


def decode_raw(blob: bytes, base_ms: int) -> Samples:
    body = inflate(blob)
    s, pos = get_samples(body, 0, base_ms)
    if pos != len(body):
        raise CodecError("trailing bytes after the samples")
    return s


# --- roll-up buckets ------------------------------------------------------------------------------


@dataclass(slots=True)
class Buckets:
    """Min/max/sum/count per time bucket, values at the series' precision. Sums (not means) are
    kept so buckets merge exactly. `gap` flags where the series had a gap in the bucket:
    GAP_BEFORE (before its first value, or the bucket has none), GAP_AFTER (after a value), so a
    chart breaks its line on the right side of the bucket."""

    precision: int
    start: list[int] = field(default_factory=list)
    """bucket start, epoch seconds"""
    count: list[int] = field(default_factory=list)
    lo: list[int] = field(default_factory=list)
    hi: list[int] = field(default_factory=list)
    total: list[int] = field(default_factory=list)
    gap: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.start)


def encode_buckets(b: Buckets, base_s: int, step_s: int) -> bytes:
    """Header (precision, count), then columns: bucket index steps, counts, the minimum (first in
    the header, then differences), max - min, sum - count * min, the gap buckets' positions and
    their flags."""
    out = bytearray()
    n = len(b)
    put_svarint(out, b.precision)
    put_uvarint(out, n)
    idx = [(s - base_s) // step_s for s in b.start]
    put_column(out, deltas([-1, *idx]))
    put_column(out, b.count)
    put_svarint(out, b.lo[0] if n else 0)
    put_column(out, deltas(b.lo))
    put_column(out, [h - lo for h, lo in zip(b.hi, b.lo, strict=True)])
    put_column(out, [t - c * lo for t, c, lo in zip(b.total, b.count, b.lo, strict=True)])
    gaps = [i for i, g in enumerate(b.gap) if g]
    put_uvarint(out, len(gaps))
    put_column(out, deltas([-1, *gaps]))
    put_column(out, [b.gap[i] for i in gaps])
    return deflate(out)


def decode_buckets(blob: bytes, base_s: int, step_s: int) -> Buckets:
    body = inflate(blob)
    precision, pos = get_svarint(body, 0)
    n, pos = get_uvarint(body, pos)
    b = Buckets(precision)
    di, pos = get_column(body, pos, n)
    b.start = [base_s + i * step_s for i in accumulate(di, initial=-1)][1:]
    count, pos = get_column(body, pos, n)
    b.count = count.tolist()
    lo0, pos = get_svarint(body, pos)
    dlo, pos = get_column(body, pos, max(n - 1, 0))
    b.lo = undelta(lo0, dlo) if n else []
    span, pos = get_column(body, pos, n)
    b.hi = [lo + s for lo, s in zip(b.lo, span, strict=True)]
    extra, pos = get_column(body, pos, n)
    b.total = [e + c * lo for e, c, lo in zip(extra, b.count, b.lo, strict=True)]
    ngaps, pos = get_uvarint(body, pos)
    gd, pos = get_column(body, pos, ngaps)
    flags, pos = get_column(body, pos, ngaps)
    b.gap = [0] * n
    for i, f in zip(list(accumulate(gd, initial=-1))[1:], flags, strict=True):
        if not 0 <= i < n:
            raise CodecError("gap bucket out of range")
        b.gap[i] = f
    if pos != len(body):
        raise CodecError("trailing bytes after the buckets")
    return b
