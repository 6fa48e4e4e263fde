"""MQTT against a real Mosquitto broker (tests/mqtt_broker.py): topics, retained state, the last
will, reconnecting after a broker restart without the page noticing, removed sensors cleared."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aiomqtt
import orjson
import pytest
import socketio
from mqtt_broker import Broker
from waiting import until, wait_until

from pi_dashboard.web.keys import MQTT

SENSOR = '[[sensors]]\nid = "d"\ntype = "demo"\ninterval = 0.2\n'


@dataclass
class Seen:
    """Every message on the watched filter: the latest per topic, and all in order."""

    latest: dict[str, bytes] = field(default_factory=dict)
    retained: dict[str, bool] = field(default_factory=dict)
    """Whether each topic's *first* message came retained (what the broker held on subscribing);
    a live publish right behind it, with the flag off, does not change it."""
    log: list[tuple[str, bytes]] = field(default_factory=list)
    marked: Callable[[], Awaitable[None]] | None = None
    """Returns once every message the broker had queued for this watcher has arrived."""

    def json(self, topic: str) -> object:
        return orjson.loads(self.latest[topic])


@contextlib.asynccontextmanager
async def watching(b: Broker, *filters: str) -> AsyncIterator[Seen]:
    seen = Seen()
    async with aiomqtt.Client(b.host, b.port, identifier=f"watch-{time.monotonic_ns()}") as c:
        for f in filters:
            await c.subscribe(f, qos=1)

        async def collect() -> None:
            async for m in c.messages:
                payload = m.payload if isinstance(m.payload, bytes) else b""
                seen.latest[m.topic.value] = payload
                seen.retained.setdefault(m.topic.value, bool(m.retain))
                seen.log.append((m.topic.value, payload))

        async def marked() -> None:
            """A marker published now arrives after the retained messages the broker sent on
            subscribing: once it is in, they all are (needs a filter ending in "#")."""
            topic = f"{filters[0].removesuffix('#')}marker-{time.monotonic_ns()}"
            await c.publish(topic, b"x", qos=1)
            await until(lambda: topic in seen.latest)

        seen.marked = marked
        task = asyncio.create_task(collect())
        try:
            yield seen
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_readings_arrive_on_their_topics_retained(broker, start_server):
    server = await start_server(broker.toml(node="alpha") + SENSOR)
    async with watching(broker, "pi-dashboard/alpha/#") as seen:
        base = "pi-dashboard/alpha"
        await until(lambda: seen.latest.get(f"{base}/$status") == b"online", 10)
        await until(lambda: f"{base}/d/temperature" in seen.latest)
        async with watching(broker, f"{base}/#") as late:  # retained: a late subscriber
            await until(lambda: {f"{base}/$status", f"{base}/d"} <= late.latest.keys())
            assert late.retained[f"{base}/$status"]
            assert late.retained[f"{base}/d"]
        meta = seen.json(f"{base}/$meta")
        assert meta["node"] == "alpha"
        assert [s["id"] for s in meta["sensors"]] == ["d"]
        assert {c["id"] for c in meta["sensors"][0]["channels"]} == {
            "temperature", "humidity", "pressure",
        }  # fmt: skip
        # every changed reading goes out: the values keep coming, as the page sees them
        n = len([t for t, _ in seen.log if t == f"{base}/d/temperature"])
        await until(
            lambda: len([t for t, _ in seen.log if t == f"{base}/d/temperature"]) >= n + 3, 5
        )
        state = seen.json(f"{base}/d")
        assert state["status"] == "ok"
        assert set(state["values"]) == {"temperature", "humidity", "pressure"}
        value = float(seen.latest[f"{base}/d/temperature"])
        assert -40 <= value <= 85
    health = await (await server_get(server, "/api/health")).json()
    assert health["mqtt"]["connected"] is True
    assert health["mqtt"]["published"] > 0


async def server_get(server, path: str):
    from aiohttp import ClientSession

    async with ClientSession() as s:
        resp = await s.get(server.make_url(path))
        await resp.read()
        return resp


async def test_a_removed_sensor_is_cleared_from_the_broker(broker, start_server, world):
    two = SENSOR + '[[sensors]]\nid = "gone"\ntype = "demo"\ninterval = 0.2\n'
    server = await start_server(broker.toml(node="beta") + two)
    topic = "homeassistant/sensor/pi-dashboard_beta/gone_temperature/config"
    async with watching(broker, "homeassistant/#", "pi-dashboard/beta/#") as seen:
        await until(lambda: bool(seen.latest.get(topic)), 10)
        await until(lambda: bool(seen.latest.get("pi-dashboard/beta/gone")))
    await server.close()
    server = await start_server(broker.toml(node="beta") + SENSOR)  # "gone" removed
    async with watching(broker, "pi-dashboard/beta/$status") as seen:
        await until(lambda: seen.latest.get("pi-dashboard/beta/$status") == b"online", 10)
    # a new subscriber finds no retained trace of it, and still finds "d"
    async with watching(broker, "homeassistant/#", "pi-dashboard/beta/#") as seen:
        await until(lambda: "homeassistant/sensor/pi-dashboard_beta/d_temperature/config"
                    in seen.latest, 5)  # fmt: skip
        await seen.marked()  # every retained message is in
        assert not seen.latest.get(topic)
        assert not any("/gone" in t for t, p in seen.latest.items() if p)
    await server.close()


async def test_a_broker_restart_does_not_touch_the_page(broker, start_server):
    server = await start_server(broker.toml(node="gamma", keepalive=5) + SENSOR)
    link = server.app[MQTT]
    await until(lambda: link.connected, 10)
    readings: list[float] = []
    client = socketio.AsyncClient()
    client.on("reading", lambda data: readings.append(time.monotonic()))
    await client.connect(str(server.make_url("/")), transports=["websocket"])
    try:
        await until(lambda: len(readings) >= 3)
        broker.stop()
        await until(lambda: not link.connected)
        stopped = time.monotonic()
        n = len(readings)
        await until(lambda: len(readings) >= n + 5, 5)  # the page keeps getting readings
        broker.start()  # same port
        await until(lambda: link.connected and link.connects == 2, 15)
        restarted = time.monotonic()
        # never a gap in the page's readings longer than a few intervals, all the while
        during = [t for t in readings if stopped - 1 <= t <= restarted]
        gaps = [b - a for a, b in itertools.pairwise(during)]
        assert gaps
        assert max(gaps) < 1.0
        async with watching(broker, "pi-dashboard/gamma/#") as seen:
            await until(lambda: seen.latest.get("pi-dashboard/gamma/$status") == b"online")
            await until(lambda: "pi-dashboard/gamma/d" in seen.latest)
    finally:
        await client.disconnect()


def test_the_last_will_says_offline_when_the_daemon_is_killed(broker, start_daemon):
    import threading

    import paho.mqtt.client as paho

    got: list[bytes] = []
    ready = threading.Event()
    c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="will-watch")
    c.on_connect = lambda cl, *a: (cl.subscribe("pi-dashboard/delta/$status", qos=1), ready.set())
    c.on_message = lambda cl, u, m: got.append(m.payload)
    c.connect(broker.host, broker.port, keepalive=10)
    c.loop_start()
    try:
        assert ready.wait(5)
        d = start_daemon(broker.toml(node="delta", keepalive=5) + SENSOR)
        wait_until(lambda: got[-1:] == [b"online"], what=lambda: f"online; got {got}")
        assert d.proc is not None
        d.proc.send_signal(signal.SIGKILL)
        # the broker sends the last will 1.5 keepalives (5 s) after the last packet
        wait_until(lambda: got[-1:] == [b"offline"], 1.5 * 5 + 1, what=lambda: f"will; {got}")
    finally:
        c.loop_stop()
        c.disconnect()


async def test_a_clean_stop_says_offline_itself(broker, start_server):
    server = await start_server(broker.toml(node="eps") + SENSOR)
    async with watching(broker, "pi-dashboard/eps/$status") as seen:
        await until(lambda: seen.latest.get("pi-dashboard/eps/$status") == b"online", 10)
        await server.close()
        await until(lambda: seen.latest.get("pi-dashboard/eps/$status") == b"offline")


async def test_no_broker_delays_nothing(start_server):
    """A broker that is not there: readings, the page and the API carry on as before."""
    from mqtt_broker import free_port

    server = await start_server(f'[mqtt]\nhost = "127.0.0.1"\nport = {free_port()}\n' + SENSOR)
    readings: list[dict] = []
    client = socketio.AsyncClient()
    client.on("reading", readings.append)
    await client.connect(str(server.make_url("/")), transports=["websocket"])
    try:
        await until(lambda: len(readings) >= 5)
        health = await (await server_get(server, "/api/health")).json()
        assert health["mqtt"]["connected"] is False
    finally:
        await client.disconnect()


@pytest.mark.parametrize("limit", [10])
async def test_the_outgoing_queue_has_a_limit(limit, make_config):
    """Readings faster than the broker takes them: the oldest go, the newest stay."""
    from pi_dashboard.integrations.mqtt import MqttLink, NodeInfo
    from pi_dashboard.model import Reading
    from pi_dashboard.state import State

    cfg = make_config(f'[mqtt]\nhost = "127.0.0.1"\nmax_queue = {limit}\n').mqtt
    info = NodeInfo(node="n", name="n", model="m", version="v", url=None)
    link = MqttLink(cfg, State(), info)
    link.connected = True  # as while the sender waits on a slow broker
    for i in range(limit + 7):
        link.receive(Reading(sensor="d", ts=float(i), values={"t": float(i)}))
    assert len(link.queue) == limit
    assert link.dropped == 7
    assert link.queue[0].ts == 7.0
    assert link.queue[-1].ts == limit + 6
    link.connected = False  # offline: nothing is queued, the reconnect publishes current state
    link.receive(Reading(sensor="d", ts=99.0, values={"t": 1.0}))
    assert link.queue[-1].ts != 99.0


async def test_alerts_are_published_to_mqtt(broker, start_server):
    from pi_dashboard.web.keys import ALERTS

    server = await start_server(
        broker.toml(node="zeta")
        + "[alerts]\nerror_after = 0.1\nmin_duration = 0\nstartup_s = 0\n"
        + '[[alerts.notify]]\ntype = "mqtt"\n'
        + '[[sensors]]\nid = "hot"\ntype = "demo"\ninterval = 0.2\ntemperature = 200\n'
    )
    alerts, link = server.app[ALERTS], server.app[MQTT]
    async with watching(broker, "pi-dashboard/zeta/$alerts") as seen:
        await until(lambda: link.connected, 10)

        def sent() -> bool:
            alerts.tick()
            return "pi-dashboard/zeta/$alerts" in seen.latest

        await until(sent)
        notice = seen.json("pi-dashboard/zeta/$alerts")
        assert notice["event"] == "firing"
        assert notice["alert"]["sensor"] == "hot"
        assert notice["node"] == "zeta"
