"""python-socketio's AsyncClient against the real server: snapshot first, then only real changes."""

from __future__ import annotations

from collections.abc import Callable

import socketio
from waiting import until

from pi_dashboard import PROTOCOL_VERSION
from pi_dashboard.model import Status
from pi_dashboard.web.keys import SIO, STATE

CONFIG = """
[[sensors]]
id = "moving"
type = "demo"
interval = 0.1
seed = 1

[[sensors]]
id = "quiet"
type = "demo"
interval = 0.1
deadband = 1000   # every change is inside the deadband
seed = 2
"""


async def collect(url: str, enough: Callable[[list[tuple[str, dict]]], bool]) -> list:
    """Every event a client gets, from its connection until `enough(events)` is true."""
    events: list[tuple[str, dict]] = []
    client = socketio.AsyncClient(reconnection=False)
    client.on("snapshot", lambda data: events.append(("snapshot", data)))
    client.on("reading", lambda data: events.append(("reading", data)))
    await client.connect(url, transports=["websocket"], wait_timeout=5)
    try:
        await until(lambda: enough(events))
    finally:
        await client.disconnect()
    return events


def readings_of(sensor: str, events: list[tuple[str, dict]]) -> list[dict]:
    return [d for kind, d in events if kind == "reading" and d["sensor"] == sensor]


async def test_snapshot_then_changed_readings_only(start_server):
    server = await start_server(CONFIG)
    state = server.app[STATE]
    await until(lambda: all(s.ts is not None for s in state.sensors.values()))  # first values
    quiet_reads: set[float | None] = set()

    def enough(events: list[tuple[str, dict]]) -> bool:
        """Six readings of "moving", and six reads of "quiet" (each sets its `ts`) meanwhile."""
        quiet_reads.add(state.sensors["quiet"].ts)
        return len(readings_of("moving", events)) >= 6 and len(quiet_reads) >= 6

    events = await collect(str(server.make_url("/")), enough)

    assert events, "no events at all"
    kind, snap = events[0]
    assert kind == "snapshot"
    assert snap["protocol"] == PROTOCOL_VERSION
    ids = {s["id"]: s for s in snap["sensors"]}
    assert set(ids) == {"moving", "quiet"}
    quiet_ch = {c["id"]: c for c in ids["quiet"]["channels"]}
    assert quiet_ch["temperature"]["value"] is not None  # the first value always goes out
    assert quiet_ch["temperature"]["unit"] == "°C"
    assert quiet_ch["temperature"]["kind"] == "temperature"

    readings = [data for kind, data in events[1:] if kind == "reading"]
    assert all(kind == "reading" for kind, _ in events[1:])
    moving = [r for r in readings if r["sensor"] == "moving"]
    assert not [r for r in readings if r["sensor"] == "quiet"], (
        "a change inside the deadband went out"
    )
    r = moving[0]
    assert r["status"] == "ok"
    assert set(r["values"]) <= {"temperature", "humidity", "pressure"}
    assert isinstance(r["ts"], float)
    assert abs(r["ts"] - snap["server_time"]) < 5
    timestamps = [r["ts"] for r in moving]
    assert timestamps == sorted(timestamps)


async def test_sensor_error_is_a_reading_with_message(start_server):
    """A physically impossible value is an error event, never a number on the screen."""
    server = await start_server(
        '[[sensors]]\nid = "hot"\ntype = "demo"\ninterval = 0.1\ntemperature = 200\nstep = 0\n'
    )
    hot = server.app[STATE].sensors["hot"]
    await until(lambda: hot.status is Status.ERROR)
    events = await collect(str(server.make_url("/")), bool)
    kind, snap = events[0]
    assert kind == "snapshot"
    (hot,) = snap["sensors"]
    assert hot["status"] == "error"
    assert "impossible temperature reading 200" in hot["error"]
    assert all(c["value"] is None for c in hot["channels"])


FAST = "".join(
    f'[[sensors]]\nid = "f{i}"\ntype = "demo"\ninterval = 0.01\nseed = {i}\n' for i in range(40)
)
"""40 demo sensors every 10 ms: a reading is in flight at almost any moment a client joins."""


async def test_snapshot_is_the_first_event_even_while_readings_stream(start_server):
    """A reading broadcast between a client's CONNECT and its snapshot would reach it first."""
    import aiohttp

    server = await start_server(FAST)
    url = str(server.make_url("/socket.io/?EIO=4&transport=websocket"))
    firsts = []
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            async with http.ws_connect(url) as ws:
                assert (await ws.receive_str(timeout=5)).startswith("0{")
                await ws.send_str("40")
                assert (await ws.receive_str(timeout=5)).startswith("40{")
                firsts.append((await ws.receive_str(timeout=5))[:14])
    assert set(firsts) == {'42["snapshot",'}, firsts


async def test_nothing_is_encoded_while_nobody_is_connected(start_server):
    """An idle daemon reads, keeps the latest values and history, and encodes no frame for
    nobody; the first client still gets every latest value in its snapshot, then readings."""
    server = await start_server(CONFIG)
    state = server.app[STATE]
    sio = server.app[SIO]
    encoded: list[object] = []

    class Counting(sio.packet_class):  # python-socketio's own hook for the packet encoder
        def encode(self):
            encoded.append(self.data)
            return super().encode()

    sio.packet_class = Counting
    seen: list[float] = []
    state.subscribe(lambda r: seen.append(r.ts) if r.sensor == "moving" else None)
    await until(lambda: len(seen) >= 5)
    assert encoded == [], f"{len(encoded)} packets encoded with no client connected"

    url = str(server.make_url("/"))
    events = await collect(url, lambda ev: len(readings_of("moving", ev)) >= 2)
    kind, snap = events[0]
    assert kind == "snapshot"
    (moving,) = [s for s in snap["sensors"] if s["id"] == "moving"]
    values = {c["id"]: c["value"] for c in moving["channels"]}
    assert all(v is not None for v in values.values()), values
    assert moving["ts"] >= seen[4]  # what was read while nobody watched, not a stale copy
    assert encoded, "the connected client's readings were never encoded"
