"""Database bytes per raw sample: a day of the reference workload (10 demo sensors x 3 channels,
read every second, 2.6 million samples) written through the real store, flushed every 5 s and
sealed hourly on a simulated clock, against the naive one-row-per-sample table (same samples).

    .venv/bin/python bench/history_size.py [--hours 24] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from naive_store import NaiveStore

from pi_dashboard.config import SensorConfig
from pi_dashboard.history.codec import Samples
from pi_dashboard.history.store import SeriesInfo, Store
from pi_dashboard.hw import Hardware
from pi_dashboard.sensors.demo import CHANNELS, DemoOptions, DemoSensor

T0 = 1_800_000_000


def sensors() -> list[DemoSensor]:
    hw = Hardware(i2c=lambda _n: None, pin_factory=lambda: None)  # type: ignore[arg-type, return-value]
    configs = [
        SensorConfig(
            id=f"room{i}", type="demo", name=f"room{i}", interval=1.0, options=DemoOptions(seed=i)
        )
        for i in range(10)
    ]
    return [DemoSensor(c, hw) for c in configs]


def fill(store, hours: int, seal: bool, start: int = T0) -> int:
    """`hours` of the reference workload from `start` (epoch s), flushed every 5 s."""
    with store.transaction():
        ids = {
            (s, c.id): store.register(
                SeriesInfo(sensor=f"room{s}", channel=c.id, unit=c.unit, precision=c.precision)
            )
            for s in range(10)
            for c in CHANNELS
        }
    demo = sensors()
    rng = random.Random(0)
    n = 0
    for flush in range(hours * 720):
        batch: dict[int, Samples] = {}
        for k in range(5):
            t = start + flush * 5 + k
            for s, sensor in enumerate(demo):
                ms = round((t + s * 0.1) * 1000) + rng.randint(0, 3)  # polling jitter
                values = sensor.read()
                for c in CHANNELS:
                    b = batch.setdefault(ids[(s, c.id)], Samples(c.precision))
                    b.t.append(ms)
                    b.q.append(round(values[c.id] * 10**c.precision))
                    n += 1
        store.append(batch)
        if seal:
            store.clock.t = start + (flush + 1) * 5
            while store.seal_step():
                pass
    return n


class Clock:
    t = float(T0)

    def __call__(self) -> float:
        return self.t


def size(path: Path) -> int:
    return sum(os.path.getsize(f"{path}{s}") for s in ("", "-wal") if os.path.exists(f"{path}{s}"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hours", type=int, default=24)
    p.add_argument("--dir", default=None)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="history-size-", dir=args.dir))
    for name, make, seal in (
        ("chunks", lambda f: Store(f, clock=Clock(), synchronous="OFF"), True),
        ("naive rows", lambda f: NaiveStore(f, synchronous="OFF"), False),
    ):
        path = tmp / f"{name.replace(' ', '-')}.sqlite3"
        store = make(path)
        started = time.monotonic()
        n = fill(store, args.hours, seal)
        if seal:
            store.clock.t += 3600
            store.seal_all()
            chunk_bytes = store.conn.execute("SELECT sum(length(data)) FROM chunks").fetchone()[0]
        store.close()
        total = size(path)
        extra = f", chunk payload {chunk_bytes / n:.2f} B/sample" if seal else ""
        print(
            f"{name:12s} {n} samples: {total / 1e6:.1f} MB on disk = {total / n:.2f} B/sample"
            f"{extra} ({time.monotonic() - started:.0f} s)"
        )


if __name__ == "__main__":
    main()
