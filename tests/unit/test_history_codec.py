"""Chunk encoding: exact round trips, gaps kept in place, compact for sensor-like series."""

from __future__ import annotations

import random

import pytest

from pi_dashboard.history.codec import (
    Buckets,
    CodecError,
    Samples,
    decode_buckets,
    decode_raw,
    encode_buckets,
    encode_raw,
    get_svarint,
    put_svarint,
)

BASE = 1_800_000_000_000


def test_varints_round_trip_signed_values_of_any_size():
    for x in (0, 1, -1, 63, -64, 64, 300, -300, 2**40, -(2**62), 2**63 - 1):
        out = bytearray()
        put_svarint(out, x)
        assert get_svarint(out, 0) == (x, len(out))


def test_raw_round_trip_with_gaps_and_irregular_times():
    rng = random.Random(7)
    s = Samples(2)
    t = BASE + 123
    for i in range(2000):
        t += rng.choice((1000, 1000, 1001, 999, 5000, 250))
        s.t.append(t)
        s.q.append(None if i in (0, 17, 18, 1999) else 2100 + rng.randint(-40, 40))
    back = decode_raw(encode_raw(s, BASE), BASE)
    assert back == s


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_tiny_series_round_trip(n):
    s = Samples(1, [BASE + 1000 * i for i in range(n)], [i * 7 for i in range(n)])
    assert decode_raw(encode_raw(s, BASE), BASE) == s


def test_all_gaps_and_huge_values_round_trip():
    s = Samples(0, [BASE, BASE + 5], [None, None])
    assert decode_raw(encode_raw(s, BASE), BASE) == s
    big = Samples(0, [BASE, BASE + 1000], [2**62, -(2**62)])
    assert decode_raw(encode_raw(big, BASE), BASE) == big


def test_a_sensor_like_hour_takes_about_a_byte_per_sample():
    """1 s polling with a few ms of jitter, a slowly wandering value at 0.01 resolution."""
    rng = random.Random(1)
    s = Samples(2)
    v = 2150
    for i in range(3600):
        s.t.append(BASE + i * 1000 + rng.randint(0, 4))
        v += rng.randint(-3, 3)
        s.q.append(v)
    size = len(encode_raw(s, BASE))
    assert size / len(s) < 1.2, size


def test_buckets_round_trip_with_empty_gap_buckets():
    b = Buckets(1)
    for i, (c, lo, hi, tot, gap) in enumerate(
        [(60, 200, 215, 12400, False), (0, 0, 0, 0, True), (12, 190, 230, 2500, True)]
    ):
        b.start.append(1_800_000_000 + 60 * (i * 3))
        b.count.append(c)
        b.lo.append(lo)
        b.hi.append(hi)
        b.total.append(tot)
        b.gap.append(gap)
    assert decode_buckets(encode_buckets(b, 1_800_000_000, 60), 1_800_000_000, 60) == b


def test_a_blob_of_another_format_is_refused_not_misread():
    blob = bytearray(encode_raw(Samples(1, [BASE], [5]), BASE))
    blob[0] = 99
    with pytest.raises(CodecError, match="unknown history format"):
        decode_raw(bytes(blob), BASE)
    with pytest.raises(CodecError):
        decode_raw(bytes([1]) + b"\xff\xff", BASE)
