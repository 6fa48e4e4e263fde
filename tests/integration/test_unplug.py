"""A simulated BME280 unplugged mid-run, over the real server and a real Socket.IO client.

The unplugged sensor turns `error` in exactly one `reading` however often it is retried, every
other sensor keeps publishing meanwhile, and plugging the chip back recovers it (one "recovered"
log line, a `reading` with status ok).
"""

from __future__ import annotations

import logging
import time

import socketio
from waiting import until

CONFIG = """
[[sensors]]
id = "greenhouse"
type = "bme280"
interval = 1
bus = 1
address = 0x76

[[sensors]]
id = "room"
type = "demo"
interval = 0.1
"""


async def test_unplug_and_replug(start_server, world, caplog):
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="pi_dashboard.polling")  # "still failing (N)"
    world.env.set("temperature", 23.5)
    server = await start_server(CONFIG)
    events: list[tuple[float, dict]] = []
    client = socketio.AsyncClient(reconnection=False)
    client.on("reading", lambda d: events.append((time.monotonic(), d)))
    snapshots: list[dict] = []
    client.on("snapshot", snapshots.append)
    await client.connect(str(server.make_url("/")), transports=["websocket"], wait_timeout=5)

    def of(sensor):
        return [d for _, d in events if d["sensor"] == sensor]

    try:
        await until(lambda: snapshots)
        green = {s["id"]: s for s in snapshots[0]["sensors"]}["greenhouse"]
        first = {c["id"]: c["value"] for c in green["channels"]}["temperature"]
        if first is None:  # connected before the first poll: the value arrives as a reading
            await until(lambda: any("temperature" in d["values"] for d in of("greenhouse")))
            first = next(d for d in of("greenhouse") if "temperature" in d["values"])["values"][
                "temperature"
            ]
        assert abs(first - 23.5) < 0.01

        world.bus(1).unplug(0x76)
        t_unplug = time.monotonic()
        await until(lambda: any(d["status"] == "error" for d in of("greenhouse")))
        err = next(d for d in of("greenhouse") if d["status"] == "error")
        assert "errno 121" in err["error"]
        assert err["values"] == {}

        room_before = len(of("room"))
        await until(lambda: "sensor greenhouse still failing (3)" in caplog.text)  # 2 retries
        await until(lambda: len(of("room")) >= room_before + 5)  # the other sensor goes on
        errors = [d for d in of("greenhouse") if d["status"] == "error"]
        assert len(errors) == 1, "an ongoing failure must not repeat its error event"
        assert not [
            d
            for t, d in events
            if d["sensor"] == "greenhouse" and t > t_unplug and d["status"] == "ok"
        ], "no value may be shown while unplugged"

        world.env.set("temperature", 19.25)
        world.bus(1).plug(0x76)
        await until(lambda: of("greenhouse")[-1]["status"] == "ok")
        back = of("greenhouse")[-1]
        assert abs(back["values"]["temperature"] - 19.25) < 0.01
        assert set(back["values"]) == {"temperature", "humidity", "pressure"}
    finally:
        await client.disconnect()
    assert caplog.text.count("sensor greenhouse failed") == 1
    assert caplog.text.count("sensor greenhouse recovered") == 1
