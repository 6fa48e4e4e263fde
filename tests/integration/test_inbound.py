"""What browsers may send, over real sockets: reserved events, malformed and oversize packets,
rate limits, the Host allow-list and Origin, and the python-engineio seam we rely on."""

from __future__ import annotations

import asyncio
import collections
import inspect
import time

import aiohttp
import orjson
import pytest
import socketio
from aiohttp import WSMsgType
from engineio.async_drivers import aiohttp as eio_aiohttp
from engineio.async_socket import AsyncSocket
from engineio.base_socket import BaseSocket
from waiting import until

from pi_dashboard.web.inbound import GuardedWebSocket
from pi_dashboard.web.keys import CLIENTS, SIO, STATE

SENSOR = '[[sensors]]\nid = "d"\ntype = "demo"\ninterval = 0.2\nstep = 0\n'
LIMITS = "[server]\nclient_messages_per_s = 1\nmax_message_bytes = 2048\n"


def ws_url(server) -> str:
    return str(server.make_url("/socket.io/?EIO=4&transport=websocket"))


async def connect(http: aiohttp.ClientSession, server) -> aiohttp.ClientWebSocketResponse:
    """A raw Engine.IO websocket, connected to the namespace, its snapshot received."""
    ws = await http.ws_connect(ws_url(server))
    assert (await ws.receive_str(timeout=5)).startswith("0{")
    await ws.send_str("40")
    assert (await ws.receive_str(timeout=5)).startswith("40{")
    assert (await ws.receive_str(timeout=5)).startswith('42["snapshot"')
    return ws


async def messages(ws: aiohttp.ClientWebSocketResponse, seconds: float) -> list[str]:
    """Everything the server sends for `seconds` (or until it closes), answering its pings."""
    out: list[str] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = await ws.receive(timeout=left)
        except TimeoutError:
            break
        if msg.type != WSMsgType.TEXT:
            out.append(f"<{msg.type.name} {ws.close_code}>")
            break
        if msg.data == "2":
            await ws.send_str("3")
        out.append(msg.data)
    return out


def test_engineio_seam():
    """The python-engineio and python-socketio internals web/inbound.py and web/live.py use.

    If this fails after an upgrade, re-read those modules against the new library before
    widening the pins in pyproject.toml."""
    sio = socketio.AsyncServer(async_mode="aiohttp")
    assert {"translate_request", "websocket"} <= set(sio.eio._async)
    assert issubclass(GuardedWebSocket, sio.eio._async["websocket"])
    for name in ("_handle_eio_message", "_handle_eio_disconnect"):
        assert inspect.iscoroutinefunction(getattr(socketio.AsyncServer, name))
    assert list(inspect.signature(AsyncSocket.close).parameters) == [
        "self",
        "wait",
        "abort",
        "reason",
    ]
    sock = AsyncSocket(sio.eio, "x")
    assert isinstance(sock.queue, asyncio.Queue)
    src = inspect.getsource(AsyncSocket.handle_post_request)
    assert "environ['wsgi.input'].read(length)" in src
    assert "self.handler = handler" in inspect.getsource(eio_aiohttp.WebSocket.__init__)
    # GuardedWebSocket.__call__ does what the library's does, with compress=False
    call = inspect.getsource(eio_aiohttp.WebSocket.__call__)
    for step in ("WebSocketResponse(", "self._sock.prepare(request)", "self.handler(self)"):
        assert step in call
    assert "self._websocket_handler, self.server" in inspect.getsource(
        AsyncSocket._upgrade_websocket
    )
    # web/wire.py: each socket's queue comes from create_queue(); the websocket writer waits in
    # queue.get() when idle and writes what it gets in order; every packet goes through the queue.
    assert "self.queue = self.server.create_queue()" in inspect.getsource(BaseSocket.__init__)
    assert "self.queue.get()" in inspect.getsource(AsyncSocket.poll)
    handler = inspect.getsource(AsyncSocket._websocket_handler)
    assert "packets = await self.poll()" in handler
    assert "await ws.send(pkt.encode())" in handler
    assert "self.upgraded = True" in handler
    assert "await self.queue.put(pkt)" in inspect.getsource(AsyncSocket.send)
    # GuardedWebSocket.send_queued: OPEN is queued before the websocket opens, the writer task is
    # created before the first read, and a None in the queue stops the writer (put back, as here)
    connect = inspect.getsource(socketio.AsyncServer().eio._handle_connect)
    assert connect.index("await s.send(pkt)") < connect.index("s.handle_get_request(environ)")
    assert handler.index("ensure_future(writer())") < handler.index("websocket_wait())")
    poll = inspect.getsource(AsyncSocket.poll)
    assert "self.queue.task_done()" in poll
    assert "self.queue.put_nowait(None)" in poll
    assert isinstance(sock.queue._queue, collections.deque)


async def test_fake_reserved_events_are_never_dispatched(start_server):
    server = await start_server(LIMITS + SENSOR)
    app = server.app
    async with aiohttp.ClientSession() as http:
        ws = await connect(http, server)
        for _ in range(5):
            await ws.send_str('42["connect",{}]')
        await ws.send_str('42["disconnect"]')
        await ws.send_str("4")  # an empty Socket.IO packet decodes as an event: ignored too
        await ws.send_str("40/nowhere,")  # answered in order: everything above was handled
        got = []
        async with asyncio.timeout(5):
            while not (msg := await ws.receive_str()).startswith("44/nowhere,"):
                got.append(msg)
        assert not [m for m in got if m.startswith('42["snapshot"')], "a fake connect got one"
        assert len(app[CLIENTS]) == 1, "a fake disconnect changed the client count"
        assert app[SIO].guard.refused["client event ignored"] == 7
        await ws.close()


async def test_a_flood_of_events_closes_the_client(start_server):
    server = await start_server(LIMITS + SENSOR)
    async with aiohttp.ClientSession() as http:
        ws = await connect(http, server)
        for _ in range(200):
            await ws.send_str('42["connect",{}]')
        got = await messages(ws, 5)
        assert got[-1].startswith("<CLOS"), got[-3:]
    await until(lambda: not server.app[CLIENTS])
    assert server.app[SIO].guard.refused["message rate over the limit"] == 1


@pytest.mark.parametrize(
    "packet",
    [
        "",  # empty
        "x",  # not an Engine.IO type
        "9",  # unknown type
        "0",  # OPEN from a client
        "2",  # PING from a client
        "4x",
        '42["a"',  # truncated JSON
        "4{}",  # JSON object instead of a Socket.IO packet
        "40",  # a second CONNECT
        "b" + "AAAA",  # base64 binary
    ],
)
async def test_a_malformed_packet_closes_the_connection(start_server, packet):
    server = await start_server(LIMITS + SENSOR)
    async with aiohttp.ClientSession() as http:
        ws = await connect(http, server)
        await ws.send_str(packet)
        got = await messages(ws, 5)
        assert got, "nothing at all"
        assert got[-1].startswith("<CLOS"), got
    await until(lambda: not server.app[CLIENTS])


async def test_a_binary_frame_closes_the_connection(start_server):
    server = await start_server(LIMITS + SENSOR)
    async with aiohttp.ClientSession() as http:
        ws = await connect(http, server)
        await ws.send_bytes(b"\x00\x01")
        got = await messages(ws, 5)
        assert got[-1].startswith("<CLOS"), got


async def test_an_oversize_websocket_message_is_refused(start_server):
    server = await start_server(LIMITS + SENSOR)
    async with aiohttp.ClientSession() as http:
        ws = await connect(http, server)
        await ws.send_str('42["x","' + "a" * 5000 + '"]')
        got = await messages(ws, 5)
        assert got[-1] == "<CLOSE 1009>", got[-3:]


async def polling_session(http: aiohttp.ClientSession, server) -> str:
    async with http.get(server.make_url("/socket.io/?EIO=4&transport=polling")) as r:
        assert r.status == 200
        return orjson.loads((await r.text())[1:])["sid"]


async def test_an_oversize_polling_post_is_answered_413(start_server):
    server = await start_server(LIMITS + SENSOR)
    async with aiohttp.ClientSession() as http:
        sid = await polling_session(http, server)
        url = server.make_url(f"/socket.io/?EIO=4&transport=polling&sid={sid}")
        async with asyncio.timeout(5), http.post(url, data=b"4" + b"a" * 100_000) as r:
            assert r.status == 413
            assert "limit 2048 bytes" in (await r.json())["error"]
        assert sid not in server.app[SIO].eio.sockets or server.app[SIO].eio.sockets[sid].closed


async def test_a_post_to_a_session_closed_meanwhile_is_answered_400(start_server):
    """A logout or a drop closes a session while its polling client posts: 400, not a 500."""
    server = await start_server(SENSOR)
    sio = server.app[SIO]
    async with aiohttp.ClientSession() as http:
        sid = await polling_session(http, server)
        await sio.guard.drop(sid)
        assert sio.eio.sockets[sid].closed
        url = server.make_url(f"/socket.io/?EIO=4&transport=polling&sid={sid}")
        async with asyncio.timeout(5), http.post(url, data=b"3") as r:
            assert r.status == 400
            assert (await r.json())["error"] == "Socket.IO session closed"
        assert sid not in sio.eio.sockets


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"\xff\xfe", 400),  # not UTF-8
        (b"4x", 400),  # Engine.IO MESSAGE, Socket.IO garbage: the library drops the client
        (b"0", 400),
        (b"3\x1e" * 20, 400),  # more packets than the library decodes
        (b"3\x1e3\x1e3", 200),
    ],
)
async def test_polling_posts_are_checked(start_server, body, status):
    server = await start_server(SENSOR)
    async with aiohttp.ClientSession() as http:
        sid = await polling_session(http, server)
        url = server.make_url(f"/socket.io/?EIO=4&transport=polling&sid={sid}")
        async with asyncio.timeout(5), http.post(url, data=body) as r:
            assert r.content_type == "application/json" or r.status == 200
            if body != b"4x":
                assert r.status == status


async def test_a_polling_client_still_works(start_server):
    """python-socketio's client over long-polling only: the POST path through our seam."""
    server = await start_server(SENSOR)
    got: list[dict] = []
    client = socketio.AsyncClient(reconnection=False)
    client.on("snapshot", got.append)
    await client.connect(str(server.make_url("/")), transports=["polling"], wait_timeout=5)
    await until(lambda: bool(got))
    assert got[0]["sensors"][0]["id"] == "d"
    await client.disconnect()


@pytest.mark.parametrize("path", ["/", "/api/health", "/static/app.css", "/socket.io/?EIO=4"])
async def test_a_rebinding_host_is_refused_on_every_path(start_server, path):
    server = await start_server(SENSOR)
    async with aiohttp.ClientSession() as http:
        async with http.get(server.make_url(path), headers={"Host": "evil.example:8080"}) as r:
            assert r.status == 421
            assert "evil.example" in (await r.json())["error"]
        async with http.get(server.make_url(path), headers={"Host": "localhost:8080"}) as r:
            assert r.status != 421


async def test_allowed_hosts_adds_a_name(start_server):
    server = await start_server('[server]\nallowed_hosts = ["dash.home.lan"]\n' + SENSOR)
    async with aiohttp.ClientSession() as http:
        url = server.make_url("/api/health")
        async with http.get(url, headers={"Host": "dash.home.lan:8080"}) as r:
            assert r.status == 200


async def test_origin_check_ignores_a_forged_forwarded_host(start_server):
    server = await start_server(SENSOR)
    host = f"127.0.0.1:{server.port}"
    async with aiohttp.ClientSession() as http:
        headers = {"Origin": "http://evil.example", "X-Forwarded-Host": "evil.example"}
        url = server.make_url("/socket.io/?EIO=4&transport=polling")
        async with http.get(url, headers=headers) as r:
            assert r.status == 400
            assert "not an accepted origin" in (await r.json())["error"]
        async with http.get(url, headers={"Origin": f"http://{host}"}) as r:
            assert r.status == 200


async def test_the_snapshot_is_built_once_per_change(start_server):
    server = await start_server(SENSOR)
    state = server.app[STATE]
    await until(lambda: state.counts()["ok"] == 1)
    async with aiohttp.ClientSession() as http:
        sockets = [await connect(http, server) for _ in range(10)]
        namespace = server.app[SIO].namespace_handlers["/"]
        assert namespace.snapshots.builds <= 2  # the value is constant; at most one refresh
        for ws in sockets:
            await ws.close()


async def test_static_errors_are_json(start_server):
    server = await start_server(SENSOR)
    async with aiohttp.ClientSession() as http:
        for path in ("/static/" + "a" * 256, "/static/nope.js", "/static/" + "a" * 300 + "/b"):
            async with http.get(server.make_url(path)) as r:
                assert r.status == 404
                assert (await r.json())["error"].startswith("not found")


async def test_uptime_is_monotonic(start_server):
    server = await start_server(SENSOR)
    seen: list[float] = []
    async with aiohttp.ClientSession() as http:

        async def uptime() -> float:
            async with http.get(server.make_url("/api/health")) as r:
                seen.append((await r.json())["uptime_s"])
            return seen[-1]

        first = await uptime()
        deadline = time.monotonic() + 5
        while await uptime() <= first:
            assert time.monotonic() < deadline
    assert 0 <= first < seen[-1] < 10


async def new_session(http: aiohttp.ClientSession, server) -> int:
    async with http.get(server.make_url("/socket.io/?EIO=4&transport=polling")) as r:
        return r.status


async def test_socketio_sessions_are_capped(start_server):
    server = await start_server("[server]\nmax_connections = 2\n" + SENSOR)
    async with aiohttp.ClientSession() as http:
        assert [await new_session(http, server) for _ in range(3)] == [200, 200, 503]


async def test_new_sessions_count_against_the_global_rate(start_server):
    server = await start_server("[server]\nmessages_per_s = 0.5\n" + SENSOR)  # a burst of 10
    async with aiohttp.ClientSession() as http:
        statuses = [await new_session(http, server) for _ in range(11)]
    assert statuses == [200] * 10 + [503]
    assert server.app[SIO].guard.refused["too many new sessions"] == 1


async def test_the_broadcaster_merges_a_burst_beyond_its_inbox(start_server):
    """10,000 changes published in one go (no await between them): clients get the inbox's
    worth in order, then the rest merged, and end on the last value."""
    from pi_dashboard.web.live import INBOX

    server = await start_server(SENSOR.replace("interval = 0.2", "interval = 60"))
    state = server.app[STATE]
    async with aiohttp.ClientSession() as http:
        ws = await connect(http, server)
        for i in range(10_000):
            state.publish_values("d", 1000.0 + i, {"temperature": float(i)})
        temps = []
        async with asyncio.timeout(10):
            while not temps or temps[-1] != 9999.0:
                msg = await ws.receive_str()
                if msg.startswith('42["reading"'):
                    temps.append(orjson.loads(msg[2:])[1]["values"]["temperature"])
        assert temps == sorted(temps)
        assert INBOX <= len(temps) < 10_000
        await ws.close()
