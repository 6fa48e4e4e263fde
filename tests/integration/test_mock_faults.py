"""`/api/mock/faults` over real HTTP: what the fault panel sends, every bad request answered 4xx in
JSON, the change reaching the chip (the sensor turns `error`), and no such route on real hardware.
"""

from __future__ import annotations

import logging

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from waiting import until

from pi_dashboard.app import create_app

CONFIG = """
[[sensors]]
id = "greenhouse"
type = "bme280"
interval = 1

[[sensors]]
id = "tank"
type = "ds18b20"
probes = ["28-0316a2795e1f"]

[sensors.mock]
noise = 0.2

[[sensors]]
id = "room"
type = "demo"
interval = 0.2
"""


async def test_list_set_and_clear(start_server):
    server = await start_server(CONFIG)
    async with ClientSession(server.make_url("/")) as http:
        async with http.get("/api/mock/faults") as resp:
            assert resp.status == 200
            listed = (await resp.json())["sensors"]
        assert [s["id"] for s in listed] == ["greenhouse", "tank"]  # demo has no device
        tank = listed[1]
        assert tank["faults"]["noise"] == 0.2  # from [sensors.mock]
        assert "power_on" in tank["supported"]
        assert "power_on" not in listed[0]["supported"]

        async with http.post("/api/mock/faults/greenhouse", json={"unplugged": True}) as resp:
            assert resp.status == 200
            entry = await resp.json()
        assert entry["faults"]["unplugged"] is True
        assert entry["unplugged_now"] is True

        async def greenhouse_status(wanted: str) -> bool:
            async with http.get("/api/sensors/greenhouse") as r:
                return (await r.json())["status"] == wanted

        await until(lambda: greenhouse_status("error"))
        async with http.delete("/api/mock/faults/greenhouse") as resp:
            assert resp.status == 200
            assert (await resp.json())["faults"]["unplugged"] is False
        await until(lambda: greenhouse_status("ok"))
        async with http.get("/api/mock/faults/tank") as resp:
            assert (await resp.json())["faults"]["noise"] == 0.2


async def test_bad_requests_are_4xx_json(start_server):
    server = await start_server(CONFIG)
    cases = [
        ("POST", "/api/mock/faults/nope", {"json": {"hang": True}}, 404, "no simulated faults"),
        ("POST", "/api/mock/faults/room", {"json": {"hang": True}}, 404, "for sensor 'room'"),
        ("POST", "/api/mock/faults/greenhouse", {"data": "hang=1"}, 415, "application/json"),
        (
            "POST",
            "/api/mock/faults/greenhouse",
            {"data": b"{", "headers": {"Content-Type": "application/json"}},
            400,
            "not JSON",
        ),
        ("POST", "/api/mock/faults/greenhouse", {"json": [1]}, 400, "JSON object"),
        ("POST", "/api/mock/faults/greenhouse", {"json": {"hang": 1}}, 400, "hang: must be true"),
        ("POST", "/api/mock/faults/greenhouse", {"json": {"x": 1}}, 400, "x: unknown key"),
        (
            "POST",
            "/api/mock/faults/greenhouse",
            {"json": {"crc_errors": 0.5}},
            400,
            "crc_errors: bme280 replies carry no CRC",
        ),
        (
            "POST",
            "/api/mock/faults/greenhouse",
            {"json": {"noise": 1, "pad": "x" * 5000}},
            413,
            "at most 4096 bytes",
        ),
        ("GET", "/api/mock/faults?x=1", {}, 400, "unknown query parameter: x"),
        ("PUT", "/api/mock/faults/greenhouse", {"json": {}}, 405, "not allowed"),
        ("DELETE", "/api/mock/faults/nope", {}, 404, "no simulated faults"),
    ]
    async with ClientSession(server.make_url("/")) as http:
        for method, path, kwargs, status, message in cases:
            async with http.request(method, path, **kwargs) as resp:
                assert resp.status == status, (method, path, await resp.text())
                assert resp.content_type == "application/json"
                assert message in (await resp.json())["error"], (method, path)
        async with http.get("/api/mock/faults/greenhouse") as resp:
            assert (await resp.json())["faults"]["hang"] is False  # nothing bad got through


async def test_no_fault_routes_on_real_hardware(aiohttp_server, make_config, caplog):
    config = make_config('[[sensors]]\nid = "room"\ntype = "demo"\n[sensors.mock]\nhang = true\n')
    with caplog.at_level(logging.WARNING, logger="pi_dashboard.app"):
        app = create_app(config, mock=False)
    assert caplog.messages == ["[sensors.mock] of room ignored: faults exist in mock mode only"]
    server: TestServer = await aiohttp_server(app)
    async with ClientSession(server.make_url("/")) as http, http.get("/api/mock/faults") as resp:
        assert resp.status == 404
        assert resp.content_type == "application/json"
