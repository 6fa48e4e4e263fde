"""Protocol 3 over a real socket: `alive` tells a quiet sensor (inside its deadbands) from a dead
one without sending unchanged values; levels and rooms travel with snapshot and readings."""

from __future__ import annotations

import socketio
from waiting import until

CONFIG = """
[[sensors]]
id = "quiet"
type = "demo"
interval = 0.1
deadband = 1000   # every change is inside the deadband: no readings after the first
room = "Cellar"

[[sensors]]
id = "hot"
type = "demo"
interval = 0.1
step = 0
temperature = 40
[sensors.channels.temperature]
warn_above = 30
alarm_above = 35
"""


async def test_alive_carries_the_last_read_of_quiet_sensors_only(start_server):
    server = await start_server(CONFIG)
    events: list[tuple[str, dict]] = []
    client = socketio.AsyncClient(reconnection=False)
    for name in ("snapshot", "reading", "alive"):
        client.on(name, lambda data, name=name: events.append((name, data)))
    await client.connect(str(server.make_url("/")), transports=["websocket"], wait_timeout=5)
    try:
        await until(lambda: sum(1 for k, _ in events if k == "alive") >= 2, 5.0)
    finally:
        await client.disconnect()

    kind, snap = events[0]
    assert kind == "snapshot"
    assert snap["protocol"] == 3
    sensors = {s["id"]: s for s in snap["sensors"]}
    assert sensors["quiet"]["room"] == "Cellar"
    assert sensors["hot"]["room"] is None
    temp = {c["id"]: c for c in sensors["hot"]["channels"]}["temperature"]
    assert temp["limits"] == {"warn_above": 30.0, "alarm_above": 35.0}
    assert temp["level"] in ("alarm_above", "ok")  # "ok" only before its first read

    alive = [d for k, d in events if k == "alive"]
    readings = [d for k, d in events if k == "reading"]
    assert not [r for r in readings if r["sensor"] == "quiet"], "a change inside the deadband"
    quiet_ts = [a["ts"]["quiet"] for a in alive if "quiet" in a["ts"]]
    assert len(quiet_ts) >= 2, f"every alive names the quiet sensor read since the last: {alive}"
    assert quiet_ts == sorted(quiet_ts)
    assert quiet_ts[-1] > sensors["quiet"]["ts"], "a newer read than the snapshot's"
    assert all(abs(a["server_time"] - a["ts"]["quiet"]) < 2 for a in alive if "quiet" in a["ts"])
    # `hot` never changes either (step = 0): it is told by alive too, never by a repeated reading
    assert len([r for r in readings if r["sensor"] == "hot"]) <= 1
    hot_levels = [r["levels"] for r in readings if r["sensor"] == "hot"]
    assert all(lv == {"temperature": "alarm_above"} for lv in hot_levels)
