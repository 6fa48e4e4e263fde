"""The connect path: the handshake's packets written as soon as they are queued, one snapshot
encoding per state change shared by every client, the client count logged per burst rather than
per connection, and the daemon's heap settled once it serves."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import time

import aiohttp
import pytest
import socketio
from waiting import until

from pi_dashboard.web.keys import CLIENTS, SIO, STATE
from pi_dashboard.web.live import ClientCount, LiveNamespace, SnapshotCache

SLOW = """
[[sensors]]
id = "slow"
type = "demo"
interval = 600
"""


async def snapshot_of(url: str) -> tuple[socketio.AsyncClient, dict]:
    client = socketio.AsyncClient(reconnection=False)
    got: list[dict] = []
    client.on("snapshot", got.append)
    await client.connect(url, transports=["websocket"], wait_timeout=5)
    await until(lambda: got, what="a snapshot")
    return client, got[0]


async def test_clients_between_changes_share_one_snapshot_and_a_change_rebuilds_it(start_server):
    server = await start_server(SLOW)
    state = server.app[STATE]
    await until(lambda: state.sensors["slow"].ts is not None, what="the first read")
    live = server.app[SIO].namespace_handlers["/"]
    assert isinstance(live, LiveNamespace)
    cache = live.snapshots = SnapshotCache(live.server, state, live.recent, clock=lambda: 0.0)
    url = str(server.make_url("/"))

    a, first = await snapshot_of(url)
    b, second = await snapshot_of(url)
    assert first == second  # server_time too: the same encoding, not an equal rebuild
    assert cache.builds == 1

    state.publish_error("slow", time.time(), "unplugged by the test")
    c, third = await snapshot_of(url)
    assert cache.builds == 2
    assert third["server_time"] >= first["server_time"]
    (slow,) = third["sensors"]
    assert slow["status"] == "error"
    assert slow["error"] == "unplugged by the test"
    assert [s["status"] for s in first["sensors"]] == ["ok"]
    for client in (a, b, c):
        await client.disconnect()


async def test_the_handshake_goes_out_as_it_is_queued_and_in_the_librarys_order(start_server):
    """Engine.IO OPEN right behind the 101, and the CONNECT answer and the snapshot in one write,
    without python-engineio's writer task; what a client receives is what the library sends:
    the same frames in the same order (a raw websocket), and python-socketio's client gets
    `connect` before `snapshot` (strict clients drop events that come before it)."""
    server = await start_server(SLOW)
    sio = server.app[SIO]
    state = server.app[STATE]
    await until(lambda: state.sensors["slow"].ts is not None, what="the first read")
    live = server.app[SIO].namespace_handlers["/"]
    url = str(server.make_url("/"))
    ws_url = str(server.make_url("/socket.io/?EIO=4&transport=websocket"))

    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
        opened = await ws.receive_str(timeout=5)
        assert opened.startswith('0{"sid":')
        assert sio.guard.written_at_once == 1
        await ws.send_str("40")
        answer = await ws.receive_str(timeout=5)
        snapshot = await ws.receive_str(timeout=5)
        assert answer.startswith('40{"sid":')
        assert snapshot == live.snapshot()[0].encode()  # the shared encoding, byte for byte
        assert sio.guard.written_at_once == 2

    events: list[str] = []
    client = socketio.AsyncClient(reconnection=False)
    client.on("connect", lambda: events.append("connect"))
    client.on("snapshot", lambda data: events.append("snapshot"))
    await client.connect(url, transports=["websocket"], wait_timeout=5)
    await until(lambda: "snapshot" in events, what="a snapshot")
    assert events == ["connect", "snapshot"]
    assert sio.guard.written_at_once == 4
    await client.disconnect()


async def test_a_connected_client_keeps_only_its_request_of_the_environ(start_server):
    """The WSGI environ of every header is dropped once the client is connected (memory per
    client); what a connect check needs, the request, stays, and so does the connection."""
    server = await start_server(SLOW)
    sio = server.app[SIO]
    client, _ = await snapshot_of(str(server.make_url("/")))
    (sid,) = server.app[CLIENTS]
    environ = sio.get_environ(sid)
    assert list(environ) == ["aiohttp.request"]
    assert environ["aiohttp.request"].headers["Upgrade"] == "websocket"
    state = server.app[STATE]
    got: list[dict] = []
    client.on("reading", got.append)
    state.publish_error("slow", time.time(), "still delivered")
    await until(lambda: got, what="a reading after the environ was dropped")
    await client.disconnect()


async def test_a_polling_client_gets_its_handshake_through_the_library(start_server):
    """No websocket to write to: the library's path, unchanged."""
    server = await start_server(SLOW)
    sio = server.app[SIO]
    got: list[dict] = []
    client = socketio.AsyncClient(reconnection=False)
    client.on("snapshot", got.append)
    await client.connect(str(server.make_url("/")), transports=["polling"], wait_timeout=5)
    await until(lambda: got, what="a snapshot over long-polling")
    assert got[0]["sensors"][0]["id"] == "slow"
    assert sio.guard.written_at_once == 0
    await client.disconnect()


async def test_a_burst_of_connections_is_one_line_with_the_count(caplog):
    clients: set[str] = set()
    count = ClientCount(clients, interval=0.05)
    caplog.set_level(logging.INFO, logger="pi_dashboard.web.live")

    def lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "pi_dashboard.web.live"]

    clients.add("first")
    count.changed(joined=True)
    assert lines() == ["client connected (1 open)"]
    for i in range(999):
        clients.add(str(i))
        count.changed(joined=True)
    clients.discard("first")
    count.changed(joined=False)
    assert len(lines()) == 1  # the rest wait for the end of the interval
    await until(lambda: len(lines()) == 2, what="the line at the end of the interval")
    assert re.fullmatch(
        r"999 clients connected and 1 disconnected in the last \d+ s \(999 open\)", lines()[1]
    )

    await until(lambda: count.clock() - count._logged >= count.interval, what="a quiet interval")
    clients.discard("0")
    count.changed(joined=False)  # after a quiet interval: at once, one line
    assert lines()[2] == "client disconnected (998 open)"
    clients.discard("1")
    count.changed(joined=False)
    count.close()  # stopping: what is counted is written, no timer left
    assert lines()[3] == "client disconnected (997 open)"
    assert count._timer is None


@pytest.mark.parametrize("settle", [False, True])
def test_the_daemon_settles_its_heap_once_it_serves(settle):
    """In a fresh interpreter: the test process's own collector is left alone."""
    code = (
        "import gc\n"
        "from pi_dashboard.web.server import GC_YOUNG, settle_heap\n"
        f"if {settle}: settle_heap()\n"
        "print(gc.get_freeze_count() > 0, gc.get_threshold()[0] == GC_YOUNG)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    ).stdout.split()
    assert out == [str(settle), str(settle)]
