"""Replay: exported history (a CSV export, or a copy of the database) played back as live readings.

`pi-dashboard run --mock --replay FILE --speed 10` shows last night's greenhouse on a laptop: the
recording's sensors appear on the page and their values arrive as they were recorded, `speed`
times faster, stamped with the time they are played (they are live readings now).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from itertools import islice, pairwise
from pathlib import Path
from statistics import median

from pi_dashboard.errors import PiDashboardError
from pi_dashboard.history.export import read_csv
from pi_dashboard.history.store import SeriesInfo, Store

log = logging.getLogger(__name__)

Event = tuple[float, str, dict[str, float]]
"""(recorded epoch s, sensor, {channel: value})"""
BATCH = 500
"""Events read at a time, on a worker thread (file and database reads stay off the loop)."""
KINDS = {
    "°C": "temperature", "°F": "temperature", "K": "temperature", "%": "humidity",
    "hPa": "atmospheric_pressure", "kPa": "pressure", "Pa": "pressure", "inHg": "pressure",
    "mmHg": "pressure", "lx": "illuminance", "V": "voltage", "mV": "voltage", "m": "distance",
    "cm": "distance", "mm": "distance", "B": "data_size",
}  # fmt: skip
"""A CSV names only units: the kind each implies, so the page shows the channel as it was."""


class ReplayError(PiDashboardError):
    """The file cannot be replayed; the message says why in one line."""


@dataclass(frozen=True, slots=True)
class Recording:
    source: str
    channels: list[SeriesInfo]
    events: Callable[[], Iterator[Event]]

    def sensors(self) -> dict[str, list[SeriesInfo]]:
        out: dict[str, list[SeriesInfo]] = {}
        for info in self.channels:
            out.setdefault(info.sensor, []).append(info)
        return out


def open_recording(path: str | Path) -> Recording:
    p = Path(path)
    try:
        with p.open("rb") as f:
            magic = f.read(16)
    except OSError as e:
        raise ReplayError(f"cannot read {p}: {e.strerror or e}") from None
    if magic == b"SQLite format 3\0":
        return _from_database(p)
    return _from_csv(p)


def _from_csv(path: Path) -> Recording:
    try:
        with path.open(encoding="utf-8", newline="") as f:
            infos, rows = read_csv(f)
            first = list(islice(rows, 200))
    except (ValueError, UnicodeDecodeError) as e:
        raise ReplayError(f"{path}: {e}") from None
    spacing = [b[0] - a[0] for a, b in pairwise(first) if b[0] > a[0]]
    interval = median(spacing) if spacing else 1.0
    infos = [
        replace(i, name=i.channel, kind=KINDS.get(i.unit or "", "none"), interval_s=interval)
        for i in infos
    ]

    def events() -> Iterator[Event]:
        with path.open(encoding="utf-8", newline="") as f:
            _, rows = read_csv(f)
            for t, values in rows:
                per: dict[str, dict[str, float]] = {}
                for info, v in zip(infos, values, strict=True):
                    if v is not None:
                        per.setdefault(info.sensor, {})[info.channel] = v
                for sensor, vals in per.items():
                    yield t, sensor, vals

    return Recording(str(path), infos, events)


def _from_database(path: Path) -> Recording:
    try:
        store = Store(path, busy_timeout=0.5)
    except Exception as e:
        if "locked" in str(e):
            raise ReplayError(
                f"{path} is in use by a running daemon: replay a copy "
                "(pi-dashboard backup FILE) instead"
            ) from None
        raise ReplayError(f"{path}: not a pi-dashboard history database ({e})") from None
    infos = [i for sid, i in sorted(store.series.items()) if store.find(i.sensor, i.channel) == sid]
    ids = {(i.sensor, i.channel): store.find(i.sensor, i.channel) for i in infos}
    bounds = store.raw_span() or ()

    def events() -> Iterator[Event]:
        if not bounds:
            return
        hour = math.floor(min(bounds) / 3600) * 3600
        while hour <= max(bounds):
            merged: dict[tuple[float, str], dict[str, float]] = {}
            for (sensor, channel), sid in ids.items():
                s = store.raw(sid, hour, hour + 3600)  # type: ignore[arg-type]
                scale = 10.0**s.precision
                for t, q in zip(s.t, s.q, strict=True):
                    if q is not None:
                        merged.setdefault((t / 1000, sensor), {})[channel] = q / scale
            for (ts, sensor), values in sorted(merged.items()):
                yield ts, sensor, values
            hour += 3600

    return Recording(str(path), infos, events)


async def play(
    recording: Recording,
    publish: Callable[[str, float, dict[str, float]], None],
    *,
    speed: float = 1.0,
    clock: Callable[[], float] = time.time,
) -> None:
    """Publish the recording's events at their recorded pace, `speed` times faster."""
    events = recording.events()
    start = clock()
    first: float | None = None
    n = 0
    while batch := await asyncio.to_thread(lambda: list(islice(events, BATCH))):
        for ts, sensor, values in batch:
            if first is None:
                first = ts
            delay = start + (ts - first) / speed - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            publish(sensor, clock(), values)
            n += 1
    log.info("replay of %s finished (%d readings)", recording.source, n)
