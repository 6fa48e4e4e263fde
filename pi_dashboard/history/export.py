"""History as CSV for a spreadsheet (`/api/history.csv`, `pi-dashboard export`), and back (replay).

One row per time bucket (or per sample when the step is 0), one column per channel named
`sensor/channel (unit)`; the cell is the bucket's mean, empty where there is no data or a gap.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

from pi_dashboard.history.store import SeriesInfo
from pi_dashboard.history.tiers import Series

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw]?)$")
COLUMN = re.compile(
    r"^(?:(?P<node>[^:/]+):)?(?P<sensor>[^/]+)/(?P<channel>[^ ]+)(?: \((?P<unit>.*)\))?$"
)
TIME_COLUMNS = ("time", "epoch_s")


def duration_s(text: str) -> float:
    """'30d' -> 2592000.0; a bare number is seconds. ValueError says what is accepted."""
    m = DURATION.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a duration (e.g. 90s, 15m, 24h, 30d, 2w)")
    return float(m.group(1)) * UNITS[m.group(2) or "s"]


def column_name(info: SeriesInfo) -> str:
    name = f"{info.sensor}/{info.channel}"
    if info.node:
        name = f"{info.node}:{name}"
    return f"{name} ({info.unit})" if info.unit else name


def parse_column(name: str) -> SeriesInfo | None:
    m = COLUMN.match(name.strip())
    if not m:
        return None
    return SeriesInfo(
        node=m.group("node") or "",
        sensor=m.group("sensor"),
        channel=m.group("channel"),
        unit=m.group("unit") or None,
    )


def select(
    have: Sequence[SeriesInfo], sensors: Sequence[str], channels: Sequence[str]
) -> list[SeriesInfo]:
    """The channels `sensors` and `channels` pick (each empty: all); KeyError(parameter, value)
    for a name that has no history."""
    for s in sensors:
        if not any(i.sensor == s for i in have):
            raise KeyError("sensor", s)
    for c in channels:
        if not any(i.channel == c and (not sensors or i.sensor in sensors) for i in have):
            raise KeyError("channel", c)
    return [
        i
        for i in have
        if (not sensors or i.sensor in sensors) and (not channels or i.channel in channels)
    ]


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


SLICE_ROWS = 5000
"""Rows computed at a time: an export of any length holds one slice in memory, not all of it."""
RAW_SLICE_S = 3600.0


def slices(t_from: float, t_to: float, step: float) -> Iterator[tuple[float, float]]:
    """[t_from, t_to) cut on the export's own grid, so buckets continue across slices."""
    span = step * SLICE_ROWS if step else RAW_SLICE_S
    a = t_from
    while a < t_to:
        b = min(a + span, t_to)
        yield a, b
        a = b


def header(infos: Sequence[SeriesInfo]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([*TIME_COLUMNS, *(column_name(i) for i in infos)])
    return buf.getvalue()


def rows(infos: Sequence[SeriesInfo], columns: Sequence[Series]) -> str:
    """CSV rows (no header) in time order: the columns' points merged on time; a gap or no data
    leaves a cell empty."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cells: dict[float, list[str]] = {}
    for k, (info, s) in enumerate(zip(infos, columns, strict=True)):
        digits = max(info.precision, 0) + (0 if s.step == 0 else 1)
        for t, mean in zip(s.t, s.mean, strict=True):
            if mean is None:
                continue
            row = cells.get(t)
            if row is None:
                row = cells[t] = [""] * len(infos)
            row[k] = _number(mean, digits)
    for t in sorted(cells):
        w.writerow([iso(t), _number(t, 3), *cells[t]])
    return buf.getvalue()


def _number(x: float, digits: int) -> str:
    text = f"{x:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def read_csv(
    lines: Iterable[str],
) -> tuple[list[SeriesInfo], Iterator[tuple[float, list[float | None]]]]:
    """An exported CSV -> its channels, and (epoch s, value per channel or None) per row."""
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError("empty file") from None
    if [h.strip() for h in header[:2]] != list(TIME_COLUMNS):
        raise ValueError(
            f"not a pi-dashboard export: the first columns must be {', '.join(TIME_COLUMNS)}"
        )
    infos = []
    for name in header[2:]:
        info = parse_column(name)
        if info is None:
            raise ValueError(f"column {name!r} is not sensor/channel (unit)")
        infos.append(info)

    def values() -> Iterator[tuple[float, list[float | None]]]:
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            try:
                t = float(row[1])
                vals = [float(c) if c.strip() else None for c in row[2 : 2 + len(infos)]]
            except (ValueError, IndexError):
                raise ValueError(f"line {line}: not a number") from None
            if not math.isfinite(t):
                raise ValueError(f"line {line}: bad time")
            yield t, vals + [None] * (len(infos) - len(vals))

    return infos, values()
