"""The abuse suite: what a hostile or broken client on the LAN can send, against a real daemon.

Each attack is bounded in count and time and stops by itself; each prints the daemon's RSS before
and after (the figures in docs/reliability.md, "Clients and the network").
"""

from __future__ import annotations

import asyncio
import resource
import socket
import time
from collections.abc import Iterator

import aiohttp
import orjson
import pytest
from aiohttp import WSMsgType
from raw_websocket import frame, upgrade_request
from waiting import until

ONE_SENSOR = """
[[sensors]]
id = "d"
type = "demo"
interval = 0.1
"""
THOUSAND_PER_S = "[server]\nclient_stall_timeout = 3\n" + "".join(
    f'[[sensors]]\nid = "d{i}"\ntype = "demo"\ninterval = 0.01\nseed = {i}\n' for i in range(10)
)
"""Ten demo sensors every 10 ms: 1,000 readings per second, each a change."""
MIB = 1024


def ws_url(d) -> str:
    return f"ws://127.0.0.1:{d.port}/socket.io/?EIO=4&transport=websocket"


async def connect(http: aiohttp.ClientSession, d) -> aiohttp.ClientWebSocketResponse:
    """An Engine.IO websocket connected to the namespace, its snapshot received."""
    ws = await http.ws_connect(ws_url(d))
    assert (await ws.receive_str(timeout=5)).startswith("0{")
    await ws.send_str("40")
    assert (await ws.receive_str(timeout=5)).startswith("40{")
    assert (await ws.receive_str(timeout=5)).startswith('42["snapshot"')
    return ws


async def until_closed(ws: aiohttp.ClientWebSocketResponse, limit: float = 5.0) -> list[str]:
    """Read (answering pings) until the server closes; what it sent meanwhile."""
    got: list[str] = []
    async with asyncio.timeout(limit):
        while True:
            msg = await ws.receive()
            if msg.type != WSMsgType.TEXT:
                return got
            if msg.data == "2":
                await ws.send_str("3")
            got.append(msg.data)


async def until_message(ws: aiohttp.ClientWebSocketResponse, prefix: str) -> list[str]:
    """Read until a message starting with `prefix` arrives; everything before it."""
    got: list[str] = []
    async with asyncio.timeout(5):
        while not (msg := await ws.receive_str()).startswith(prefix):
            got.append(msg)
    return got


@pytest.fixture
def many_files() -> Iterator[None]:
    """This test process opens over a thousand sockets: lift its own soft limit meanwhile."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_fake_reserved_events(daemon, measure):
    """`42["connect",{}]` never reaches the connect handler; `42["disconnect"]` changes nothing."""
    d = daemon(ONE_SENSOR)
    with measure(d, "20,000 fake `connect` events in one burst", limit_mib=5):
        async with aiohttp.ClientSession() as http:
            ws = await connect(http, d)
            for _ in range(20_000):
                if ws.closed:
                    break
                await ws.send_str('42["connect",{}]')
            got = await until_closed(ws)  # over its message rate: the server closes it
            assert not [m for m in got if m.startswith('42["snapshot"')]

            ws = await connect(http, d)  # under the rate: the fakes are ignored
            for _ in range(5):
                await ws.send_str('42["connect",{}]')
            await ws.send_str('42["disconnect"]')
            await ws.send_str("40/nowhere,")  # answered in order: all above was handled
            got = await until_message(ws, "44/nowhere,")
            assert not [m for m in got if m.startswith('42["snapshot"')]
            assert d.health()["clients"] == 1
            await ws.close()


BAD_WS = ["", "x", "9", "0", "2", "6", "4x", '42["a"', "4{}", "40", "bAAAA", "2ping"]
BAD_POLL = [
    b"\xff\xfe",
    b"0",
    b"9",
    b"3\x1e" * 20,
    b"bAAAA",
    b"2",
    b"6",
    b"4{}",
    b"4x",
    b"40\x1e40",
]


async def test_200_malformed_packets(daemon, measure):
    """100 on websockets, 100 in polling POSTs: each closes its client, with one log line at most,
    no traceback (the fixture checks the whole log), and the daemon serves on."""
    d = daemon(ONE_SENSOR)
    log_before = len(d.log)
    with measure(d, "200 malformed Engine.IO/Socket.IO packets"):
        async with aiohttp.ClientSession() as http:
            for i in range(100):
                ws = await connect(http, d)
                await ws.send_str(BAD_WS[i % len(BAD_WS)])
                await until_closed(ws)
            for i in range(100):
                base = f"http://127.0.0.1:{d.port}/socket.io/?EIO=4&transport=polling"
                async with http.get(base) as r:
                    sid = orjson.loads((await r.text())[1:])["sid"]
                url = f"{base}&sid={sid}"
                async with asyncio.timeout(5), http.post(url, data=BAD_POLL[i % len(BAD_POLL)]):
                    pass
                async with http.get(url) as r:  # the session is gone
                    assert r.status == 400
                    assert "error" in await r.json()
            await connect(http, d)  # a normal client is still served
    assert len(d.log) - log_before <= 200


async def test_oversize_messages(daemon, measure):
    """Over `max_message_bytes` on either transport: answered at once, never hung."""
    d = daemon(ONE_SENSOR)
    with measure(d, "1 MiB websocket message, 2 MB polling POST"):
        async with aiohttp.ClientSession() as http:
            ws = await connect(http, d)
            await ws.send_str('42["x","' + "a" * (1 << 20) + '"]')
            await until_closed(ws)
            assert ws.close_code == 1009  # message too big

            base = f"http://127.0.0.1:{d.port}/socket.io/?EIO=4&transport=polling"
            async with http.get(base) as r:
                sid = orjson.loads((await r.text())[1:])["sid"]
            async with http.post(f"{base}&sid={sid}", data=b"4" + b"a" * 20_000) as r:
                assert r.status == 413

            async with http.get(base) as r:
                sid = orjson.loads((await r.text())[1:])["sid"]
        reader, writer = await asyncio.open_connection("127.0.0.1", d.port)
        writer.write(
            f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nContent-Length: 2000000\r\n\r\n".encode()
            + b"4" * 65536
        )  # and never the rest
        async with asyncio.timeout(5):
            head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413")
        writer.close()


async def test_500_connect_disconnect_cycles(daemon, measure):
    d = daemon(ONE_SENSOR)
    fds = d.fds()
    with measure(d, "500 connect/disconnect cycles"):
        async with aiohttp.ClientSession() as http:
            for _ in range(500):
                ws = await connect(http, d)
                await ws.close()
        await until(lambda: d.health()["clients"] == 0)
        await until(lambda: d.fds() <= fds + 2)


@pytest.mark.slow
async def test_pong_only_non_reader_at_1000_readings_per_s(daemon, measure):
    """A client that answers pings but never reads: merged, then dropped, while a normal
    client next to it keeps receiving every reading."""
    d = daemon(THOUSAND_PER_S)
    async with aiohttp.ClientSession() as http:
        normal = await connect(http, d)
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(("127.0.0.1", d.port))
        with measure(d, "pong-only non-reader, 1,000 readings/s", limit_mib=5):
            stuck.sendall(upgrade_request(d.port))
            stuck.sendall(frame("40"))
            await until(lambda: d.health()["clients"] == 2)
            readings = 0
            start = time.monotonic()
            deadline = start + 20
            while d.health()["clients"] == 2:  # until the daemon drops it
                assert time.monotonic() < deadline, "the non-reader was never dropped"
                stuck.sendall(frame("3"))  # a pong, unasked: it reads nothing
                async with asyncio.timeout(1):
                    t = time.monotonic()
                    while time.monotonic() - t < 0.5:
                        msg = await normal.receive_str()
                        readings += msg.startswith('42["reading"')
                        if msg == "2":
                            await normal.send_str("3")
            rate = readings / (time.monotonic() - start)
            print(f"normal client during the attack: {rate:.0f} readings/s")
        stuck.close()
        assert rate > 500  # not slowed to a crawl by its stuck neighbour
        assert any("dropped a client that read nothing" in line for line in d.log)
        await normal.close()


@pytest.mark.slow
async def test_slowloris_1100_connections(daemon, measure, many_files):
    """1,100 half-open requests: a normal client is still served at once, the log stays quiet,
    and every descriptor comes back."""
    d = daemon(ONE_SENSOR)
    fds, log_bytes = d.fds(), d.log_bytes()
    writers: list[asyncio.StreamWriter] = []

    async def loris(i: int) -> None:
        _, w = await asyncio.open_connection("127.0.0.1", d.port)
        w.write(f"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-{i}: ".encode())
        writers.append(w)

    with measure(d, "slowloris, 1,100 half-open requests"):
        async with asyncio.timeout(30):
            await asyncio.gather(*(loris(i) for i in range(1100)))
        peak = d.fds()
        t = time.monotonic()
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{d.port}/api/health") as r,
        ):
            assert r.status == 200
        served = time.monotonic() - t
        print(f"normal request served in {served * 1000:.0f} ms; daemon fds {fds} -> {peak}")
        assert served < 1.0
        for w in writers:
            w.close()
        await until(lambda: d.fds() <= fds + 2)
    assert d.log_bytes() - log_bytes < 2048
    assert not any("accept" in line for line in d.log)


async def test_rebinding_host_is_refused(daemon, measure):
    d = daemon(ONE_SENSOR)
    with measure(d, "DNS-rebinding Host header"):
        async with aiohttp.ClientSession() as http:
            evil = {"Host": f"rebind.evil.example:{d.port}"}
            for path in ("/api/health", "/", "/socket.io/?EIO=4&transport=polling"):
                async with http.get(f"http://127.0.0.1:{d.port}{path}", headers=evil) as r:
                    assert r.status == 421
                    assert "rebind.evil.example" in (await r.json())["error"]
            with pytest.raises(aiohttp.WSServerHandshakeError) as e:
                await http.ws_connect(ws_url(d), headers=evil)
            assert e.value.status == 421


async def test_256_character_static_name(daemon, measure):
    d = daemon(ONE_SENSOR)
    with measure(d, "256-character /static/ name"):
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{d.port}/static/{'a' * 256}.js") as r,
        ):
            assert r.status == 404
            assert (await r.json())["error"].startswith("not found")
