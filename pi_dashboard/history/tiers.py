"""Retention tiers, roll-ups and the downsampling behind `/api/history`.

Raw samples are kept for days; per-minute and per-hour buckets (min, max, sum, count) for months
and years, as Netdata's dbengine tiers do. A query asks for at most N points over a range: it is
answered from the coarsest tier whose buckets are still finer than the N points need, falls back to
coarser tiers where that one has been pruned, and to the raw samples not yet rolled up, so the
answer is continuous across tier boundaries. Everything here is pure: the store feeds it integers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from pi_dashboard.history.codec import GAP_AFTER, GAP_BEFORE, Buckets, Samples

RAW = 0
MINUTE = 60
HOUR = 3600
TIERS = (RAW, MINUTE, HOUR)
"""Tier id = its bucket width in seconds (0: raw samples)."""
CHUNK_SPAN = {RAW: 3600, MINUTE: 3600, HOUR: 86400}
"""Seconds of data per stored chunk, per tier: an hour of raw samples or of minute buckets, a day
of hour buckets. Chunks start at multiples of their span (UTC)."""


def chunk_start(t: float, tier: int) -> int:
    span = CHUNK_SPAN[tier]
    return int(t // span) * span


# --- roll-ups ---------------------------------------------------------------------------------


def rollup(samples: Samples, step_s: int) -> Buckets:
    """Raw samples -> buckets of `step_s` seconds. A gap flags its bucket (even an empty one)."""
    acc: dict[int, list[int]] = {}
    step_ms = step_s * 1000
    for t, q in zip(samples.t, samples.q, strict=True):
        k = t // step_ms
        a = acc.get(k)
        if q is None:
            if a is None:
                acc[k] = [0, 0, 0, 0, GAP_BEFORE]
            else:
                a[4] |= GAP_AFTER if a[0] else GAP_BEFORE
            continue
        if a is None:
            acc[k] = [1, q, q, q, 0]
        elif a[0] == 0:
            a[0], a[1], a[2], a[3] = 1, q, q, q
        else:
            a[0] += 1
            if q < a[1]:
                a[1] = q
            elif q > a[2]:
                a[2] = q
            a[3] += q
    return _from_acc(acc, step_s, samples.precision)


def coarsen(b: Buckets, step_s: int) -> Buckets:
    """Minute buckets -> hour buckets (any finer step -> a multiple of it)."""
    acc: dict[int, list[int]] = {}
    for s, c, lo, hi, tot, g in zip(b.start, b.count, b.lo, b.hi, b.total, b.gap, strict=True):
        merge_into(acc, s // step_s, c, lo, hi, tot, g)
    return _from_acc(acc, step_s, b.precision)


def merge(a: Buckets, b: Buckets, step_s: int) -> Buckets:
    """Union of two bucket lists of the same step; buckets present in both are combined."""
    if a.precision != b.precision:
        b = rescale_buckets(b, a.precision)
    acc: dict[int, list[int]] = {}
    for src in (a, b):
        for s, c, lo, hi, tot, g in zip(
            src.start, src.count, src.lo, src.hi, src.total, src.gap, strict=True
        ):
            merge_into(acc, s // step_s, c, lo, hi, tot, g)
    return _from_acc(acc, step_s, a.precision)


def merge_into(
    acc: dict[int, list[int]], k: int, c: int, lo: int, hi: int, tot: int, gap: int
) -> None:
    a = acc.get(k)
    if a is None:
        acc[k] = [c, lo, hi, tot, gap]
        return
    if gap & GAP_BEFORE and a[0]:  # the earlier bucket's values come before this gap
        gap = (gap & ~GAP_BEFORE) | GAP_AFTER
    if c:
        if a[0] == 0:
            a[1], a[2] = lo, hi
        else:
            a[1], a[2] = min(a[1], lo), max(a[2], hi)
        a[0] += c
        a[3] += tot
    a[4] |= gap


def _from_acc(acc: dict[int, list[int]], step_s: int, precision: int) -> Buckets:
    out = Buckets(precision)
    for k in sorted(acc):
        c, lo, hi, tot, g = acc[k]
        out.start.append(k * step_s)
        out.count.append(c)
        out.lo.append(lo)
        out.hi.append(hi)
        out.total.append(tot)
        out.gap.append(g)
    return out


def rescale(q: int, have: int, want: int) -> int:
    """A value stored at precision `have` expressed at precision `want` (the config changed)."""
    return q * 10 ** (want - have) if want >= have else round(q / 10.0 ** (have - want))


def rescale_samples(s: Samples, precision: int) -> Samples:
    if s.precision == precision:
        return s
    q = [None if v is None else rescale(v, s.precision, precision) for v in s.q]
    return Samples(precision, s.t, q)


def rescale_buckets(b: Buckets, precision: int) -> Buckets:
    if b.precision == precision:
        return b
    p = b.precision
    return Buckets(
        precision,
        b.start,
        b.count,
        [rescale(x, p, precision) for x in b.lo],
        [rescale(x, p, precision) for x in b.hi],
        [rescale(x, p, precision) for x in b.total],
        b.gap,
    )


# --- retention ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Retention:
    """How long each tier is kept, and the cap on the database's size (0: no cap)."""

    raw_s: float = 7 * 86400
    minute_s: float = 90 * 86400
    hour_s: float = 5 * 365 * 86400
    max_bytes: int = 0

    def keep(self, tier: int) -> float:
        return {RAW: self.raw_s, MINUTE: self.minute_s, HOUR: self.hour_s}[tier]


# --- downsampling ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Series:
    """What `/api/history` returns for one channel: parallel columns, one entry per point. A gap is
    a point whose values are all None (count 0): a chart breaks its line there."""

    precision: int
    step: float
    """seconds per bucket; 0 when the points are the raw samples themselves"""
    tier: int
    t: list[float] = field(default_factory=list)
    lo: list[float | None] = field(default_factory=list)
    mean: list[float | None] = field(default_factory=list)
    hi: list[float | None] = field(default_factory=list)
    count: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.t)


Item = tuple[float, int, int, int, int, int]
"""(t seconds, count, min, max, sum, gap flags): one raw sample, bucket or gap marker."""


def sample_items(s: Samples) -> Iterator[Item]:
    for t, q in zip(s.t, s.q, strict=True):
        if q is None:
            yield (t / 1000, 0, 0, 0, 0, GAP_BEFORE)
        else:
            yield (t / 1000, 1, q, q, q, 0)


def bucket_items(b: Buckets) -> Iterator[Item]:
    for s, c, lo, hi, tot, g in zip(b.start, b.count, b.lo, b.hi, b.total, b.gap, strict=True):
        yield (float(s), c, lo, hi, tot, g)


def downsample(
    items: Iterable[Item], t_from: float, t_to: float, step: float, precision: int, tier: int
) -> Series:
    """Items sorted by time -> one point per bucket of `step` seconds that has data (one per item
    when `step` is 0). A gap marker between two points becomes a None point between them, so a
    chart never draws a line across an outage; a gap inside one bucket is below the resolution
    asked for, unless data on both sides of it fall in different buckets."""
    out = Series(precision=precision, step=step, tier=tier)
    scale = 10.0**precision
    digits = max(precision, 0) + 1
    key: float | None = None
    c = lo = hi = tot = 0
    gap_before = gap_after = False
    gap_t = 0.0

    def null(t: float) -> None:
        out.t.append(t)
        out.lo.append(None)
        out.mean.append(None)
        out.hi.append(None)
        out.count.append(0)

    def emit() -> None:
        nonlocal gap_before, gap_after
        assert key is not None  # emit() runs once a bucket has begun
        t = t_from + key * step if step else key
        if gap_before and out.t:
            null((out.t[-1] + t) / 2)
        out.t.append(t)
        out.lo.append(lo / scale)
        out.mean.append(round(tot / c / scale, digits))
        out.hi.append(hi / scale)
        out.count.append(c)
        gap_before, gap_after = gap_after, False

    for t, ic, ilo, ihi, itot, gap in items:
        if t < t_from or t >= t_to:
            continue
        k = (t - t_from) // step if step else t
        if k != key:
            if c:
                emit()
            key, c = k, 0
            gap_before, gap_after = gap_before or gap_after, False
        if gap & GAP_BEFORE:
            if c:
                gap_after = True
            else:
                gap_before = True
            gap_t = t
        if gap & GAP_AFTER:
            gap_after = True
            gap_t = t
        if ic:
            if c:
                lo, hi, tot = min(lo, ilo), max(hi, ihi), tot + itot
            else:
                lo, hi, tot = ilo, ihi, itot
            c += ic
    if c:
        emit()
    if (gap_before or gap_after) and out.t:  # ends in a gap: the line stops at the last point
        null(max(gap_t, out.t[-1] + (step / 2 if step else 0.001)))
    return out
