"""The REST API over a real socket: shapes, filters, and JSON 4xx errors."""

from __future__ import annotations

import aiohttp
from waiting import until

from pi_dashboard import PROTOCOL_VERSION
from pi_dashboard.model import Status
from pi_dashboard.web.keys import STATE

CONFIG = """
[server]
title = "Greenhouse"

[[sensors]]
id = "room"
type = "demo"
name = "Room"
interval = 0.1

[[sensors]]
id = "broken"
type = "demo"
interval = 0.1
temperature = -100
step = 0
"""


async def get(server, path: str) -> tuple[int, dict | list, aiohttp.ClientResponse]:
    async with aiohttp.ClientSession() as http, http.get(server.make_url(path)) as resp:
        return resp.status, await resp.json(), resp


async def polled(server) -> None:
    """Until every sensor has been read once (ok or error)."""
    sensors = server.app[STATE].sensors.values()
    await until(lambda: all(s.status is not Status.PENDING for s in sensors))


async def test_sensors_shape(start_server):
    server = await start_server(CONFIG)
    await polled(server)
    status, body, resp = await get(server, "/api/sensors")
    assert status == 200
    assert resp.content_type == "application/json"
    room = body[0]
    assert (room["id"], room["type"], room["name"]) == ("room", "demo", "Room")
    assert room["status"] == "ok"
    for ch in room["channels"]:
        assert set(ch) >= {"id", "unit", "value", "ts", "status", "kind", "precision"}
        assert isinstance(ch["value"], float)
    assert body[1]["status"] == "error"

    status, body, _ = await get(server, "/api/sensors?status=error")
    assert [s["id"] for s in body] == ["broken"]
    status, body, _ = await get(server, "/api/sensors/room")
    assert status == 200
    assert body["id"] == "room"


async def test_health(start_server):
    server = await start_server(CONFIG)
    await polled(server)
    status, body, _ = await get(server, "/api/health")
    assert status == 200
    assert body["title"] == "Greenhouse"
    assert body["sensors"] == {"ok": 1, "error": 1, "pending": 0, "total": 2}
    assert body["protocol"] == PROTOCOL_VERSION
    assert body["history"] is None  # this server was built without a data directory
    assert body["uptime_s"] >= 0


async def test_errors_are_json(start_server):
    server = await start_server(CONFIG)
    cases = {
        "/nope": 404,
        "/api/sensors/nope": 404,
        "/api/sensors?status=bogus": 400,
        "/api/sensors?colour=red": 400,
        "/api/health?x=1": 400,
    }
    for path, code in cases.items():
        status, body, resp = await get(server, path)
        assert status == code, path
        assert resp.content_type == "application/json", path
        assert isinstance(body["error"], str), path
        assert body["error"], path
    async with aiohttp.ClientSession() as http, http.post(server.make_url("/api/sensors")) as resp:
        assert resp.status == 405
        assert "error" in await resp.json()


async def test_page_has_strict_csp(start_server):
    server = await start_server(CONFIG)
    async with aiohttp.ClientSession() as http, http.get(server.make_url("/")) as resp:
        assert resp.status == 200
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "unsafe-inline" not in csp


async def test_websocket_declines_permessage_deflate(start_server):
    """Per-message compression of ~100-byte readings costs more CPU than it saves on a LAN."""
    server = await start_server(CONFIG)
    url = server.make_url("/socket.io/?EIO=4&transport=websocket")
    async with aiohttp.ClientSession() as http, http.ws_connect(url, compress=15) as ws:
        assert ws.compress == 0
        msg = await ws.receive_str(timeout=5)
        assert msg.startswith("0{")  # Engine.IO OPEN packet: the socket works without deflate
