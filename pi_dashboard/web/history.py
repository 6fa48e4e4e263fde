"""`/api/history`, `/api/history.csv` and `/api/history/backup` (docs/protocol.md).

Parameters are checked here, on the event loop; the database work runs on history's writer thread.
Every bad parameter is a 400 naming it; an unknown sensor or channel a 404; no history (off, or too
many queries waiting) a 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TypeVar

import orjson
from aiohttp import web

from pi_dashboard.history.service import History, HistoryBusy
from pi_dashboard.history.store import SeriesInfo, Store
from pi_dashboard.history.tiers import Series
from pi_dashboard.web.keys import HISTORY

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_POINTS = 10_000
MAX_CSV_ROWS = 1_000_000
TIER_NAMES = {0: "raw", 60: "minute", 3600: "hour"}


class BadParam(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _json(data: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def _only(request: web.Request, allowed: set[str]) -> None:
    unknown = sorted(set(request.query) - allowed)
    if unknown:
        raise BadParam(
            400, f"unknown query parameter: {unknown[0]} (known: {', '.join(sorted(allowed))})"
        )


def _time(request: web.Request, name: str, default: float, now: float) -> float:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        if raw.startswith("-"):  # the CSV export's module (and csv) load on first use
            from pi_dashboard.history.export import duration_s

            return now - duration_s(raw[1:])
        t = float(raw)
    except ValueError:
        raise BadParam(
            400, f"{name}: {raw!r} is neither epoch seconds nor a time ago such as -24h"
        ) from None
    if not math.isfinite(t) or t < 0:
        raise BadParam(400, f"{name}: {raw!r} is not a time")
    return t


def _range(request: web.Request) -> tuple[float, float]:
    now = time.time()
    t_to = _time(request, "to", now, now)
    t_from = _time(request, "from", t_to - 3600, now)
    if t_from >= t_to:
        raise BadParam(400, "from: must be before to")
    return t_from, t_to


def _int(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        n = int(raw)
    except ValueError:
        raise BadParam(400, f"{name}: {raw!r} is not a whole number") from None
    if not lo <= n <= hi:
        raise BadParam(400, f"{name}: must be {lo} to {hi}, got {n}")
    return n


def _history(request: web.Request) -> History:
    h = request.app.get(HISTORY)
    if h is None:
        raise BadParam(503, "history is off (no data directory, or [history] enabled = false)")
    return h


async def _call(history: History, fn: Callable[[Store], T]) -> T:
    try:
        return await history.call(fn)
    except HistoryBusy as e:
        raise BadParam(503, str(e)) from None


async def _run(work: Awaitable[T], names: dict[str, str]) -> T:
    """History's answer, or the HTTP error its failure means (404 names the parameter)."""
    try:
        return await work
    except HistoryBusy as e:
        raise BadParam(503, str(e)) from None
    except KeyError as e:
        param = str(e.args[0])
        raise BadParam(404, f"{param}: no history for {names.get(param, '')!r}") from None


def series_json(info: SeriesInfo, s: Series, t_from: float, t_to: float) -> dict[str, object]:
    return {
        "sensor": info.sensor,
        "channel": info.channel,
        "node": info.node,
        "name": info.name,
        "unit": info.unit,
        "precision": info.precision,
        "from": t_from,
        "to": t_to,
        "step": s.step,
        "tier": TIER_NAMES.get(s.tier, str(s.tier)),
        "t": s.t,
        "min": s.lo,
        "mean": s.mean,
        "max": s.hi,
        "count": s.count,
    }


async def api_history(request: web.Request) -> web.Response:
    try:
        _only(request, {"sensor", "channel", "node", "from", "to", "points"})
        sensor = request.query.get("sensor")
        channel = request.query.get("channel")
        if not sensor:
            raise BadParam(400, "sensor: required")
        if not channel:
            raise BadParam(400, "channel: required")
        node = request.query.get("node", "")
        t_from, t_to = _range(request)
        points = _int(request, "points", 500, 1, MAX_POINTS)
        history = _history(request)
        info, s = await _run(
            history.query(sensor, channel, t_from, t_to, points, node),
            {"sensor": sensor, "channel": channel},
        )
    except BadParam as e:
        return _json({"error": str(e)}, e.status)
    start = t_from if s.step == 0 or s.tier == 0 else math.floor(t_from / s.tier) * s.tier
    return _json(series_json(info, s, start, t_to))


def _csv_selection(request: web.Request, have: list[SeriesInfo]) -> list[SeriesInfo]:
    """`sensor=a,b` and `channel=x,y` (each optional) -> the channels to export."""
    sensors = [x for x in request.query.get("sensor", "").split(",") if x]
    channels = [x for x in request.query.get("channel", "").split(",") if x]
    from pi_dashboard.history.export import select

    try:
        return select(have, sensors, channels)
    except KeyError as e:
        raise BadParam(404, f"{e.args[0]}: no history for {e.args[1]!r}") from None


async def api_history_csv(request: web.Request) -> web.StreamResponse:
    from pi_dashboard.history.export import duration_s, header, rows, slices

    try:
        _only(request, {"sensor", "channel", "node", "from", "to", "points", "step"})
        t_from, t_to = _range(request)
        if "points" in request.query and "step" in request.query:
            raise BadParam(400, "step: give either points or step, not both")
        if "step" in request.query:
            try:
                step = duration_s(request.query["step"])
            except ValueError as e:
                raise BadParam(400, f"step: {e}") from None
        else:
            step = (t_to - t_from) / _int(request, "points", 1000, 1, MAX_CSV_ROWS)
        if step and (t_to - t_from) / step > MAX_CSV_ROWS:
            raise BadParam(400, f"step: too small for this range (at most {MAX_CSV_ROWS} rows)")
        history = _history(request)
        node = request.query.get("node", "")
        infos = _csv_selection(request, await _run(history.channels(node), {}))
        chosen = [(i.sensor, i.channel) for i in infos]
    except BadParam as e:
        return _json({"error": str(e)}, e.status)
    stamp = datetime.fromtimestamp(t_to, UTC).strftime("%Y%m%d-%H%M")
    resp = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="history-{stamp}.csv"',
        }
    )
    await resp.prepare(request)
    await resp.write(header(infos).encode())
    for a, b in slices(t_from, t_to, step):  # a slice at a time: bounded memory on a Pi Zero
        try:
            found = await history.grid(chosen, a, b, step, node)
        except (HistoryBusy, KeyError) as e:
            log.warning("history CSV cut short: %s", e)
            break
        if text := rows(infos, [s for _, s in found]):
            await resp.write(text.encode())
    await resp.write_eof()
    return resp


async def api_history_backup(request: web.Request) -> web.StreamResponse:
    """A consistent copy of the database, made with SQLite's backup API while readings go on."""
    try:
        _only(request, set())
        history = _history(request)
        path = str(history.options.path)
        where = tempfile.gettempdir() if path == ":memory:" else str(Path(path).parent)

        def copy(store: Store) -> BinaryIO:
            fd, tmp = tempfile.mkstemp(prefix=".backup-", suffix=".sqlite3", dir=where)
            os.close(fd)
            try:
                store.backup(tmp)
                return open(tmp, "rb")  # closed after streaming
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)  # the open file stays readable; nothing is left behind

        f = await _call(history, copy)
    except BadParam as e:
        return _json({"error": str(e)}, e.status)
    except OSError as e:
        return _json({"error": f"backup failed: {e}"}, 500)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    resp = web.StreamResponse(
        headers={
            "Content-Type": "application/vnd.sqlite3",
            "Content-Disposition": f'attachment; filename="history-{stamp}.sqlite3"',
        }
    )
    try:
        await resp.prepare(request)
        while chunk := await asyncio.to_thread(f.read, 1 << 16):
            await resp.write(chunk)
        await resp.write_eof()
    finally:
        await asyncio.to_thread(f.close)
    return resp


def setup_history_routes(app: web.Application) -> None:
    app.router.add_get("/api/history", api_history)
    app.router.add_get("/api/history.csv", api_history_csv)
    app.router.add_get("/api/history/backup", api_history_backup)
