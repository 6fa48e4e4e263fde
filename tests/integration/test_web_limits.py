"""The listener's limits over real sockets, in-process: the same `create_app` and `start_site` the
daemon uses, with small limits so that each one is hit in well under a second."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from dataclasses import replace

import aiohttp
import orjson
import pytest
from aiohttp import web
from raw_websocket import frame, read_frame, upgrade_request
from waiting import until

from pi_dashboard.app import create_app
from pi_dashboard.sensors.registry import TYPES
from pi_dashboard.sim.world import SimWorld
from pi_dashboard.web.keys import SIO
from pi_dashboard.web.server import start_site

SENSOR = '[[sensors]]\nid = "d"\ntype = "demo"\ninterval = 0.2\n'


async def raw(port: int, data: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    return reader, writer


async def answer(reader: asyncio.StreamReader, limit: float = 5.0) -> tuple[int, dict]:
    """Read one whole response (the server closes after an error) -> status, JSON body."""
    async with asyncio.timeout(limit):
        data = await reader.read()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), orjson.loads(body)


async def test_a_request_head_that_never_ends_gets_408(listen):
    site = await listen("header_timeout = 0.3")
    reader, writer = await raw(site.port, b"GET /api/health HTTP/1.1\r\nHost: localhost\r\nX-a: ")
    t0 = time.monotonic()
    status, body = await answer(reader)
    assert status == 408
    assert "no complete request within 0.3 s" in body["error"]
    assert 0.25 < time.monotonic() - t0 < 2
    writer.close()


async def test_an_idle_keepalive_connection_is_closed_after_the_header_timeout(listen):
    site = await listen("header_timeout = 0.3")
    reader, writer = await raw(site.port, b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
    async with asyncio.timeout(5):
        first = await reader.readuntil(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200")
    async with asyncio.timeout(5):
        rest = await reader.read()  # the body, the 408, then EOF
    assert b"408 Request Timeout" in rest
    writer.close()


async def test_a_huge_request_head_gets_431(listen):
    site = await listen("max_request_bytes = 4096\nmax_message_bytes = 1024")
    head = b"GET / HTTP/1.1\r\nHost: localhost\r\n" + b"X-a: b\r\n" * 1000
    reader, writer = await raw(site.port, head)
    status, body = await answer(reader)
    assert status == 431
    assert "limit 4096 bytes" in body["error"]
    writer.close()


async def test_a_body_over_the_limit_gets_413(listen):
    site = await listen("max_request_bytes = 4096\nmax_message_bytes = 1024")
    reader, writer = await raw(
        site.port,
        b"POST /api/health HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\nxx",
    )
    status, body = await answer(reader)
    assert status == 413
    assert "limit 4096 bytes" in body["error"]
    writer.close()


async def test_at_max_connections_the_longest_waiting_is_evicted(listen):
    site = await listen("max_connections = 3")
    idle = [await raw(site.port, b"GET / HTTP/1.1\r\n") for _ in range(3)]
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{site.port}/api/health") as resp,
    ):
        assert resp.status == 200
    assert site.guard is not None
    assert site.guard.evicted >= 1
    async with asyncio.timeout(5):
        assert await idle[0][0].read() == b""  # the oldest half-open request was closed
    for _, w in idle:
        w.close()


async def test_at_max_connections_with_every_one_busy_a_new_one_gets_503(listen):
    site = await listen("max_connections = 2")
    url = f"http://127.0.0.1:{site.port}/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as http:
        busy = [await http.ws_connect(url) for _ in range(2)]  # websockets are never idle
        reader, writer = await raw(site.port, b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        status, body = await answer(reader)
        assert status == 503
        assert "too many connections (limit 2)" in body["error"]
        writer.close()
        for ws in busy:
            await ws.close()


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n",  # TLS hello
        b"GET /\x00 HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: -1\r\n\r\n",
        b"GET / HTTP/9.9\r\nHost: localhost\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
async def test_a_malformed_request_gets_json_400_and_one_log_line(listen, caplog, request_bytes):
    site = await listen("")
    caplog.set_level(logging.INFO)
    reader, writer = await raw(site.port, request_bytes)
    status, body = await answer(reader)
    assert 400 <= status < 500
    assert "error" in body
    writer.close()
    ours = [r for r in caplog.records if "request" in r.getMessage()]
    assert len(ours) <= 1
    assert not any(r.exc_info for r in caplog.records)


async def test_the_site_keeps_the_cap_below_the_open_files_limit(listen):
    site = await listen("max_connections = 100")
    assert site.guard is not None
    assert site.guard.max_connections == 100


async def test_start_site_on_a_bound_socket(world: SimWorld, make_config):
    """The lifecycle can bind first (port in use fails before any sensor starts), then serve."""
    import socket

    config = make_config(SENSOR)
    world.populate(config, TYPES)
    app = create_app(config, world=world)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    try:
        await start_site(runner, replace(config.server, port=port), sock=sock)
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/api/health") as resp,
        ):
            assert resp.status == 200
    finally:
        await runner.cleanup()


async def test_a_polling_body_that_never_arrives_gets_408(listen):
    site = await listen("read_timeout = 0.3")
    async with aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{site.port}/socket.io/?EIO=4&transport=polling"
        async with http.get(base) as r:
            sid = orjson.loads((await r.text())[1:])["sid"]
    reader, writer = await raw(
        site.port,
        f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: localhost\r\n"
        "Content-Length: 100\r\n\r\n3".encode(),
    )
    status, body = await answer(reader)
    assert status == 408
    assert body["error"] == "message not received in time"
    writer.close()


async def test_a_slow_client_gets_merged_readings_once_it_catches_up(listen):
    """A client that stops reading falls behind (its queue at `client_queue`): its readings are
    merged, and when it reads again it gets the latest value of every channel, undropped."""
    site = await listen(
        "client_queue = 8\n"
        # 200 readings a second: far more than 8 queued, and few enough that this process (which
        # is the server too) catches up on a loaded machine
        + "".join(f'[[sensors]]\nid = "d{i}"\ntype = "demo"\ninterval = 0.05\n' for i in range(10))
    )
    fanout = site._runner.app[SIO].fanout
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", site.port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
    writer.write(upgrade_request(site.port) + frame("40"))
    await until(lambda: fanout.coalesced > 100, limit=15)  # it reads nothing meanwhile
    await reader.readuntil(b"\r\n\r\n")
    latest: dict[str, set[str]] = {}
    async with asyncio.timeout(15):
        while fanout.behind or len(latest) < 10:
            text = await read_frame(reader)
            if text == "2":
                writer.write(frame("3"))
            elif text.startswith('42["reading"'):
                r = orjson.loads(text[2:])[1]
                latest.setdefault(r["sensor"], set()).update(r["values"])
    assert all(v == {"temperature", "humidity", "pressure"} for v in latest.values())
    assert fanout.dropped == 0
    writer.close()
