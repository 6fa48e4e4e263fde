"""History over real sockets: /api/history, /api/history.csv, the backup, /api/health and the
snapshot's recent window, on a daemon built by the same create_app, its database in tmp."""

from __future__ import annotations

import csv
import io
import sqlite3

import aiohttp
import pytest
import socketio
from waiting import until

from pi_dashboard import PROTOCOL_VERSION
from pi_dashboard.app import create_app
from pi_dashboard.history.service import History, HistoryOptions
from pi_dashboard.history.store import Store
from pi_dashboard.sensors.registry import TYPES

CONFIG = """
[[sensors]]
id = "room"
type = "demo"
interval = 0.1
seed = 1

[[sensors]]
id = "quiet"
type = "demo"
interval = 0.1
deadband = 1000   # nothing after the first value is pushed to browsers
seed = 2

[[sensors]]
id = "impossible"
type = "demo"
interval = 0.1
temperature = 200 # outside the valid range: every read is an error
"""


@pytest.fixture
async def server(aiohttp_server, world, make_config, tmp_path):
    config = make_config(CONFIG)
    world.populate(config, TYPES)
    history = History(HistoryOptions(path=tmp_path / "h.sqlite3", flush_interval=0.2))
    app = create_app(config, world=world, history=history, max_backoff=0.5)
    return await aiohttp_server(app)


async def get(server, path: str):
    async with aiohttp.ClientSession() as http, http.get(server.make_url(path)) as resp:
        body = await resp.read()
        return resp.status, body, resp.headers


async def get_json(server, path: str):
    status, body, _ = await get(server, path)
    import json

    return status, json.loads(body)


async def test_history_keeps_every_sample_even_inside_the_deadband(server):
    async def enough():
        status, body = await get_json(server, "/api/history?sensor=quiet&channel=temperature")
        assert status == 200
        return body if sum(body["count"]) >= 15 else None

    body = await enough() or await until(enough)
    assert body["unit"] == "°C"
    assert body["tier"] == "raw"
    assert body["step"] == 0
    assert len(set(body["mean"])) > 3, "the quiet sensor's values change; only pushes stop"
    status, sensors = await get_json(server, "/api/sensors/quiet")
    assert status == 200
    pushed = {c["id"]: c for c in sensors["channels"]}["temperature"]
    assert pushed["ts"] < body["t"][-1], "the last pushed value is older than the last kept one"


async def test_bad_parameters_are_4xx_json_naming_the_parameter(server):
    cases = [
        ("/api/history?channel=temperature", 400, "sensor: required"),
        ("/api/history?sensor=room", 400, "channel: required"),
        ("/api/history?sensor=nope&channel=temperature", 404, "sensor: no history for 'nope'"),
        ("/api/history?sensor=room&channel=nope", 404, "channel: no history for 'nope'"),
        ("/api/history?sensor=room&channel=temperature&from=yesterday", 400, "from:"),
        ("/api/history?sensor=room&channel=temperature&from=10&to=5", 400, "from: must be before"),
        ("/api/history?sensor=room&channel=temperature&points=0", 400, "points: must be 1"),
        ("/api/history?sensor=room&channel=temperature&points=many", 400, "points:"),
        ("/api/history?sensor=room&channel=temperature&color=red", 400, "unknown query parameter"),
        ("/api/history.csv?sensor=nope", 404, "sensor: no history for 'nope'"),
        ("/api/history.csv?step=0.001&from=-30d", 400, "step: too small"),
        ("/api/history.csv?step=fast", 400, "step:"),
    ]
    for path, status, message in cases:
        got, body = await get_json(server, path)
        assert (got, message in body.get("error", "")) == (status, True), (path, body)


async def test_a_failing_sensor_leaves_gaps_not_values(server):
    async def answered():
        status, body = await get_json(
            server, "/api/history?sensor=impossible&channel=temperature&from=-1m"
        )
        return body if status == 200 else None

    body = await until(answered)
    assert all(v is None for v in body["mean"]), "an impossible reading is never a number"


async def test_csv_has_several_channels_on_one_grid(server):
    async def four_rows():
        """A header and four buckets of 0.5 s (the first and last may be partial)."""
        status, body, headers = await get(
            server, "/api/history.csv?sensor=room,quiet&from=-1m&step=0.5"
        )
        assert status == 200
        assert headers["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(body.decode())))
        return rows if len(rows) >= 5 else None

    rows = await until(four_rows)
    assert rows[0][:2] == ["time", "epoch_s"]
    units = (("temperature", "°C"), ("humidity", "%"), ("pressure", "hPa"))
    assert rows[0][2:] == [f"{s}/{c} ({u})" for s in ("room", "quiet") for c, u in units]
    assert len(rows) >= 3
    times = [float(r[1]) for r in rows[1:]]
    assert times == sorted(times)
    assert all(r[2] and r[5] for r in rows[2:-1]), "both sensors have a value in every bucket"


async def test_health_shows_size_writes_and_the_unflushed_window(server):
    async def measured():
        _, body = await get_json(server, "/api/health")
        h = body["history"]
        return h if h["db_bytes"] > 0 else None

    h = await until(measured)
    assert 0 <= h["unflushed_s"] <= 5
    assert h["flush_interval_s"] == 0.2
    assert h["dropped_readings"] == 0
    assert h["written_today_bytes"] is None or h["written_today_bytes"] >= 0


async def test_backup_is_a_consistent_copy_while_readings_go_on(server, tmp_path):
    copy = tmp_path / "copy.sqlite3"

    async def a_backup_with_samples() -> bool:
        """Backups taken while readings go on, until one holds flushed samples."""
        status, body, headers = await get(server, "/api/history/backup")
        assert status == 200
        assert headers["Content-Type"] == "application/vnd.sqlite3"
        copy.write_bytes(body)
        conn = sqlite3.connect(copy)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
        store = Store(copy)
        try:
            sid = store.find("room", "temperature")
            return sid is not None and len(store.raw(sid, 0, 2**40)) > 0
        finally:
            store.close()

    await until(a_backup_with_samples)
    assert not list(tmp_path.glob(".backup-*")), "the temporary copy is gone"


async def test_the_snapshot_carries_a_recent_window(server):
    async def recorded() -> bool:
        _, body = await get_json(server, "/api/history?sensor=room&channel=temperature&from=-1m")
        return sum(body["count"]) >= 2

    await until(recorded)
    got: list[dict] = []
    client = socketio.AsyncClient(reconnection=False)
    client.on("snapshot", got.append)
    await client.connect(str(server.make_url("/")), transports=["websocket"], wait_timeout=5)
    try:

        async def arrived():
            return got or None

        await until(arrived)
    finally:
        await client.disconnect()
    snap = got[0]
    assert snap["protocol"] == PROTOCOL_VERSION >= 2
    win = snap["recent"]["room"]["temperature"]
    assert len(win["t"]) == len(win["v"]) >= 2
    assert win["t"] == sorted(win["t"])
    assert abs(win["t0"] + win["t"][-1] - snap["server_time"]) < 2


async def test_after_a_restart_the_last_values_come_from_the_database(
    aiohttp_server, world, make_config, tmp_path
):
    """A sensor that fails from the first read after a restart still shows its last good value
    (with its age) instead of nothing: the value came from history."""
    path = tmp_path / "restart.sqlite3"
    config = make_config('[[sensors]]\nid = "cellar"\ntype = "demo"\ninterval = 0.1\nseed = 3\n')
    app = create_app(config, world=world, history=History(HistoryOptions(path=path)))
    server = await aiohttp_server(app)

    async def polled():
        _, body = await get_json(server, "/api/sensors/cellar")
        return body if body["status"] == "ok" else None

    await until(polled)
    await server.close()
    before = latest_stored(path)

    broken = make_config(
        '[[sensors]]\nid = "cellar"\ntype = "demo"\ninterval = 0.1\ntemperature = 200\n'
    )
    app = create_app(broken, world=world, history=History(HistoryOptions(path=path)))
    server = await aiohttp_server(app)
    status, body = await get_json(server, "/api/sensors/cellar")
    assert status == 200
    t = {c["id"]: c for c in body["channels"]}["temperature"]
    assert (t["value"], t["ts"]) == (before[1], pytest.approx(before[0], abs=0.001))
    await until(lambda: _errored(server))


async def _errored(server):
    _, body = await get_json(server, "/api/sensors/cellar")
    return body["status"] == "error"


def latest_stored(path):
    store = Store(path)
    try:
        return store.latest(store.find("cellar", "temperature"))
    finally:
        store.close()
