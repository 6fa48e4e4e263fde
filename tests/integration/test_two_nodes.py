"""Two daemons on one broker: the second shows the first's sensors under its node (Socket.IO, as
the page gets them; tests/browser/test_nodes.py has the page itself), and marks them offline
within the broker's keepalive when the first is killed."""

from __future__ import annotations

import contextlib
import signal
import time
import urllib.error

import socketio
from waiting import until

KEEPALIVE_S = 5
SENSORS = """
[[sensors]]
id = "d"
type = "demo"
interval = 0.5

[[sensors]]
id = "door"
type = "contact"
pin = 17
"""


def two_nodes(broker, start_daemon):
    first = start_daemon(broker.toml(node="alpha", keepalive=KEEPALIVE_S) + SENSORS)
    second = start_daemon(
        broker.toml(node="beta", keepalive=KEEPALIVE_S, follow=["alpha"])
        + '[[sensors]]\nid = "d"\ntype = "demo"\ninterval = 0.5\n'
    )
    return first, second


async def test_the_second_node_shows_the_first_and_marks_it_offline_when_killed(
    broker, start_daemon
):
    first, second = two_nodes(broker, start_daemon)
    snaps: list[dict] = []
    readings: list[dict] = []
    nodes: list[dict] = []
    client = socketio.AsyncClient()
    client.on("snapshot", snaps.append)
    client.on("reading", readings.append)
    client.on("node", nodes.append)
    await client.connect(second.url, transports=["websocket"])
    try:
        # alpha's sensors arrive (retained, then live) and carry their node; ours stay ours
        def alpha_ok() -> bool:
            got = {
                r["sensor"] for r in readings if r.get("node") == "alpha" and r["status"] == "ok"
            }
            return {"d", "door"} <= got

        await until(alpha_ok, 10)
        await client.disconnect()
        snaps.clear()
        await client.connect(second.url, transports=["websocket"])
        await until(lambda: bool(snaps))
        snap = snaps[-1]
        by_key = {(s["node"], s["id"]): s for s in snap["sensors"]}
        assert {("", "d"), ("alpha", "d"), ("alpha", "door")} <= by_key.keys()
        assert by_key[("alpha", "d")]["status"] == "ok"
        assert [n["id"] for n in snap["nodes"]] == ["alpha"]
        assert snap["nodes"][0]["online"] is True
        # our own "d" and alpha's "d" are two sensors: their readings never mix
        await until(lambda: any(r["sensor"] == "d" and "node" not in r for r in readings))

        # history of alpha is kept here, as it arrives
        def kept() -> dict | None:  # (404 until the first flush registers the series)
            with contextlib.suppress(urllib.error.HTTPError):
                h = second.get_json("/api/history?node=alpha&sensor=d&channel=temperature")
                if isinstance(h, dict) and len(h["t"]) >= 1:
                    return h
            return None

        h = await until(kept)
        assert h["node"] == "alpha"
        readings.clear()
        assert first.proc is not None
        first.proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()

        def alpha_offline() -> bool:
            errs = {r["sensor"] for r in readings if r.get("node") == "alpha"
                    and r["status"] == "error"}  # fmt: skip
            return {"d", "door"} <= errs and any(n["online"] is False for n in nodes)

        await until(alpha_offline, 1.5 * KEEPALIVE_S + 2)
        assert time.monotonic() - killed < 1.5 * KEEPALIVE_S + 2
        err = next(r for r in readings if r.get("node") == "alpha" and r["status"] == "error")
        assert err["error"] == "node alpha is offline"
        # our own sensor never noticed
        n = len([r for r in readings if "node" not in r])
        await until(lambda: len([r for r in readings if "node" not in r]) > n + 2)
    finally:
        await client.disconnect()
