"""Roll-ups, retention and queries across tiers, on a week of 1 s data and an injected clock."""

from __future__ import annotations

from itertools import pairwise

import pytest

from pi_dashboard.history.codec import GAP_AFTER, Samples
from pi_dashboard.history.store import SeriesInfo, Store
from pi_dashboard.history.tiers import HOUR, MINUTE, RAW, Retention, downsample, sample_items

DAY = 86400
START = 1_800_000_000 - 1_800_000_000 % DAY  # a UTC midnight
OUTAGE = (START + 3 * DAY + 7200 + 90, START + 3 * DAY + 7200 + 210)  # 2 min in error on day 3


def value(t: int) -> int:
    """At precision 2: minute m of the hour reads m + s/100, so each minute's min, max and mean
    differ, and every hour has the same min 0, max 59.59 and mean 29.795."""
    return (t // 60 % 60) * 100 + t % 60


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """A week of 1 s samples through the real path: staged an hour at a time, sealed hourly."""
    clock = Clock(START)
    path = tmp_path_factory.mktemp("week") / "h.sqlite3"
    store = Store(path, clock=clock, synchronous="OFF")
    sid = store.register(SeriesInfo(sensor="room", channel="temperature", precision=2))
    for hour in range(7 * 24):
        s = Samples(2)
        for t in range(START + hour * 3600, START + (hour + 1) * 3600):
            if OUTAGE[0] < t < OUTAGE[1]:
                continue  # an outage: one gap marker at its start, then nothing until it ends
            s.t.append(t * 1000)
            s.q.append(None if t == OUTAGE[0] else value(t))
        store.append({sid: s})
        clock.t = START + (hour + 1) * 3600 + 1
        store.seal_all()
    yield store, sid, clock
    store.close()


def buckets(store, sid, tier, t0, t1):
    rows = store.conn.execute(
        "SELECT t0, data FROM chunks WHERE series=? AND tier=? AND t0>=? AND t0<? ORDER BY t0",
        (sid, tier, t0, t1),
    ).fetchall()
    from pi_dashboard.history.codec import decode_buckets

    out = {}
    for t0_, data in rows:
        b = decode_buckets(data, t0_, tier)
        for i, start in enumerate(b.start):
            out[start] = (b.count[i], b.lo[i], b.hi[i], b.total[i], b.gap[i])
    return out


def test_a_week_becomes_the_right_minute_buckets(week):
    store, sid, _ = week
    minutes = buckets(store, sid, MINUTE, START, START + 7 * DAY)
    assert len(minutes) == 7 * 24 * 60 - 1  # the outage's second minute has neither data nor gap
    m = START + 5 * DAY + 3600 * 13 + 60 * 42  # any ordinary minute: 42.00 .. 42.59
    assert minutes[m] == (60, 4200, 4259, sum(range(4200, 4260)), 0)
    o = OUTAGE[0] - OUTAGE[0] % 60  # the minute the outage began in: 30 samples, then the gap
    assert minutes[o][0] == 30
    assert minutes[o][4] == GAP_AFTER  # the line breaks after this minute, not before
    assert OUTAGE[0] - OUTAGE[0] % 60 + 60 not in minutes
    assert minutes[OUTAGE[1] - OUTAGE[1] % 60][0] == 30


def test_a_week_becomes_the_right_hour_buckets(week):
    store, sid, _ = week
    hours = buckets(store, sid, HOUR, START, START + 7 * DAY)
    assert len(hours) == 7 * 24
    total = sum(value(t) for t in range(3600))
    assert hours[START + 2 * DAY + 5 * 3600] == (3600, 0, 5959, total, 0)
    broken = hours[START + 3 * DAY + 7200]
    assert broken[0] == 3600 - 120
    assert broken[4] == GAP_AFTER


def test_queries_are_continuous_across_tier_boundaries(week, tmp_path):
    store, sid, clock = week
    clock.t = START + 7 * DAY
    store.retention = Retention(raw_s=2 * DAY, minute_s=4 * DAY, hour_s=365 * DAY)
    while store.sweep_step():
        pass
    tiers = dict(store.conn.execute("SELECT tier, min(t0) FROM chunks GROUP BY tier").fetchall())
    # retention deletes what it should: raw older than 2 days, minutes older than 4 days
    assert tiers[RAW] == START + 5 * DAY - 3600
    assert tiers[MINUTE] == START + 3 * DAY - 3600
    assert tiers[HOUR] == START
    # a 30 s grid over the whole week: hours, then minutes, then raw, with no hole at the seams
    s = store.grid(sid, START, START + 7 * DAY, 30)
    data = [(t, c) for t, c in zip(s.t, s.count, strict=True) if c]
    gaps = [t for t, c in zip(s.t, s.count, strict=True) if c == 0]
    steps = {b[0] - a[0] for a, b in pairwise(data)}
    assert max(steps) <= 3600, "no hole wider than the coarsest tier"
    assert len(gaps) == 1
    assert OUTAGE[0] - 60 < gaps[0] < OUTAGE[1]
    times = [t for t, _ in data]
    hours = [t for t in times if t < tiers[MINUTE]]
    minutes = [t for t in times if tiers[MINUTE] <= t < tiers[RAW]]
    raw = [t for t in times if t >= tiers[RAW]]
    assert {b - a for a, b in pairwise(hours)} == {3600}
    across = [(a, b) for a, b in pairwise(minutes) if b - a != 60]  # only at the outage
    assert len(across) == 1
    assert across[0][0] < OUTAGE[0] < across[0][0] + 60
    assert across[0][1] <= OUTAGE[1] < across[0][1] + 60
    assert {b - a for a, b in pairwise(raw)} == {30}
    assert minutes[0] - hours[-1] == 3600
    assert raw[0] - minutes[-1] == 60
    # every source gives the same answer where it can: an hour's mean is 29.795
    s_h = store.grid(sid, START, START + DAY, 3600)
    assert set(s_h.mean) == {29.795}
    assert sum(s.count) == 7 * DAY - 120


def test_an_api_sized_query_picks_the_tier_its_points_need(week):
    store, sid, _ = week
    day = store.query(sid, START + 6 * DAY, START + 7 * DAY, 500)
    assert (day.tier, day.step) == (MINUTE, 180)
    assert len(day) <= 500
    hour = store.query(sid, START + 6 * DAY, START + 6 * DAY + 3600, 500)
    assert hour.tier == RAW
    assert hour.step == pytest.approx(7.2)
    many = store.query(sid, START + 6 * DAY, START + 7 * DAY, 10_000)  # 86 400 raw samples
    assert many.tier == MINUTE, "a long range is never decoded sample by sample"
    assert len(many) == 24 * 60
    minute = store.query(sid, START + 6 * DAY, START + 6 * DAY + 60, 500)
    assert minute.step == 0
    assert minute.count == [1] * 60


def test_downsample_breaks_the_line_at_a_gap_and_never_interpolates():
    s = Samples(1, [1000, 2000, 3000, 10000, 11000], [10, 11, None, 20, 21])
    out = downsample(sample_items(s), 0, 20, 0, 1, RAW)
    assert out.t == [1.0, 2.0, 6.0, 10.0, 11.0]
    assert out.mean == [1.0, 1.1, None, 2.0, 2.1]
    ends_in_gap = Samples(1, [1000, 2000, 3000], [10, 11, None])
    out = downsample(sample_items(ends_in_gap), 0, 20, 0, 1, RAW)
    assert out.mean[-1] is None
    assert out.t[-1] == 3.0
    assert sum(out.count) == 2
