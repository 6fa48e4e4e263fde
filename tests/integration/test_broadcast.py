"""The broadcast fast path (web/wire.py) over real sockets: the frame it writes is byte for byte
the one python-socketio's own path sends, real clients decode it, it keeps its place among
Engine.IO's pings, and a client that stops reading never holds up the others."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import time
from pathlib import Path

import orjson
import pytest
import socketio
from engineio import packet as eio_packet
from raw_websocket import frame, read_frame, read_raw_frame, upgrade_request
from waiting import until

from pi_dashboard.web.keys import SIO, STATE
from pi_dashboard.web.live import Fanout, LiveServer
from pi_dashboard.web.server import GuardedSite
from pi_dashboard.web.wire import Outbox, text_frame

# One sensor that reads once at start, then stays quiet: each test sends its own readings.
QUIET = '[[sensors]]\nid = "d"\ntype = "demo"\ninterval = 3600\n'
ROOT = Path(__file__).resolve().parents[2]
JS_CLIENT = Path(__file__).with_name("js") / "live_client.mjs"


def reading(i: int, pad: int = 0) -> dict:
    return {
        "sensor": "d",
        "ts": 1_800_000_000.0 + i / 1000,
        "values": {"temperature": 20 + i / 100, "note": "°C ünïcödé ✓" + "x" * pad},
        "status": "ok",
    }


async def open_raw(
    port: int, rcvbuf: int | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A websocket client made of bytes, connected to the namespace, its snapshot read."""
    sock = socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=rcvbuf or 2**16)
    writer.write(upgrade_request(port) + frame("40"))
    async with asyncio.timeout(5):
        await reader.readuntil(b"\r\n\r\n")
        assert (await read_frame(reader)).startswith("0{")
        assert (await read_frame(reader)).startswith("40{")
        assert (await read_frame(reader)).startswith('42["snapshot"')
    return reader, writer


def live_server(site: GuardedSite) -> LiveServer:
    return site._runner.app[SIO]


def outbox(sio: LiveServer, eio_sid: str) -> Outbox:
    q = sio.eio.sockets[eio_sid].queue
    assert isinstance(q, Outbox)
    return q


async def sole_member(fanout: Fanout, until) -> str:
    await until(lambda: len(fanout.members) == 1)
    (eio_sid,) = fanout.members
    return eio_sid


def test_text_frame_lengths():
    """RFC 6455 section 5.2: 7-bit, 16-bit and 64-bit payload lengths, FIN + text opcode."""
    assert text_frame("42") == b"\x81\x0242"
    medium = text_frame("é" * 63)
    assert medium[:4] == b"\x81\x7e\x00\x7e"
    assert len(medium) == 4 + 126
    big = text_frame("x" * 65536)
    assert big[:10] == b"\x81\x7f" + (65536).to_bytes(8, "big")
    assert len(big) == 10 + 65536


@pytest.mark.parametrize("pad", [0, 200, 70_000], ids=["7-bit", "16-bit", "64-bit"])
async def test_fast_frames_are_byte_identical_to_python_socketio(listen, pad):
    server = await listen("", QUIET)
    sio = live_server(server)
    fanout = sio.fanout
    reader, writer = await open_raw(server.port)
    eio_sid = await sole_member(fanout, until)
    sid = sio.manager.sid_from_eio_sid(eio_sid, "/")
    q = outbox(sio, eio_sid)
    async with asyncio.timeout(10):
        for i in range(3):
            data = reading(i, pad)
            await sio.emit("reading", data, to=sid)  # python-socketio's own path
            library = await read_raw_frame(reader)
            await until(lambda: q.waiting and q.empty())  # its writer is idle again
            direct = fanout.direct
            fanout.reading(data)
            fast = await read_raw_frame(reader)
            assert fanout.direct == direct + 1, "the fast path was not taken"
            assert fast == library
            assert orjson.loads(fast[fast.index(b"[") :]) == ["reading", data]
    writer.close()


async def test_fast_frames_keep_their_place_among_pings(listen):
    """A ping queued by Engine.IO is sent before any reading that comes after it."""
    server = await listen("", QUIET)
    sio = live_server(server)
    fanout = sio.fanout
    reader, writer = await open_raw(server.port)
    eio_sid = await sole_member(fanout, until)
    q = outbox(sio, eio_sid)
    sock = sio.eio.sockets[eio_sid]
    await until(lambda: q.waiting)
    direct = fanout.direct

    fanout.reading(reading(1))  # straight to the socket
    await sock.send(eio_packet.Packet(eio_packet.PING))  # Engine.IO's queue and writer
    fanout.reading(reading(2))  # must wait behind the ping
    fanout.reading(reading(3))
    assert fanout.direct == direct + 1
    async with asyncio.timeout(5):
        got = [await read_frame(reader) for _ in range(4)]
    assert got[1] == "2"
    assert [orjson.loads(g[2:])[1]["ts"] for g in got[:1] + got[2:]] == [
        reading(i)["ts"] for i in (1, 2, 3)
    ]
    writer.write(frame("3"))

    await until(lambda: q.waiting and q.empty())  # caught up: the fast path again
    fanout.reading(reading(4))
    assert fanout.direct == direct + 2
    async with asyncio.timeout(5):
        assert orjson.loads((await read_frame(reader))[2:])[1] == reading(4)
    writer.close()


async def test_a_slow_client_never_delays_the_fast_ones(listen):
    """One client stops reading; three others get every reading, in order, mostly straight
    from the fast path, while the slow one is behind and merged."""
    server = await listen("", QUIET)
    sio = live_server(server)
    fanout, state = sio.fanout, server._runner.app[STATE]
    _slow_reader, slow_writer = await open_raw(server.port, rcvbuf=4096)
    (slow,) = fanout.members
    fast = [await open_raw(server.port) for _ in range(3)]
    await until(lambda: len(fanout.members) == 4)
    n = 3000
    received: list[list[float]] = [[] for _ in fast]

    async def read_all(k: int) -> None:
        reader = fast[k][0]
        while len(received[k]) < n:
            text = await read_frame(reader)
            if text.startswith('42["reading"'):
                received[k].append(orjson.loads(text[2:])[1]["ts"])
            elif text == "2":
                fast[k][1].write(frame("3"))

    readers = [asyncio.create_task(read_all(k)) for k in range(len(fast))]
    t0 = time.time()
    for i in range(n):  # through State, the broadcaster and Fanout, as a sensor's reads go
        state.publish_values("d", t0 + i / 1000, {"temperature": 20 + i / 100, "pad": "x" * 500})
        if i % 20 == 0:
            await asyncio.sleep(0.001)  # the readers share this event loop
    async with asyncio.timeout(20):
        await asyncio.gather(*readers)
    assert slow in fanout.behind, "the slow client should still be behind"
    assert fanout.coalesced > 0
    assert fanout.dropped == 0
    expected = [t0 + i / 1000 for i in range(n)]
    assert all(r == expected for r in received)
    assert fanout.direct >= len(fast) * n // 2, "the fast clients should mostly go direct"
    for _, w in fast:
        w.close()
    slow_writer.close()


async def test_a_reading_goes_out_in_the_call_that_publishes_it(listen):
    """No task or queue between a sensor's read and the sockets: by the time State's publish
    returns, the frame is written to every client that keeps up (python-socketio's AsyncClient
    and a raw websocket), and they decode it; the rest of a burst goes through the inbox."""
    from pi_dashboard.web.live import BURST

    server = await listen("", QUIET)
    sio = live_server(server)
    fanout, state = sio.fanout, server._runner.app[STATE]
    url = f"http://127.0.0.1:{server.port}/"
    got: list[dict] = []
    client = socketio.AsyncClient(reconnection=False)
    client.on("reading", got.append)
    await client.connect(url, transports=["websocket"], wait_timeout=5)
    reader, writer = await open_raw(server.port)
    await until(lambda: len(fanout.members) == 2)
    queues = [outbox(sio, eio_sid) for eio_sid in fanout.members]
    t0 = time.time()
    for i in range(3):
        await until(lambda: all(q.waiting and q.empty() for q in queues))
        direct = fanout.direct
        state.publish_values("d", t0 + i, {"temperature": 20.0 + i})
        assert fanout.direct == direct + 2, "not written within the publish"
        raw = orjson.loads((await read_frame(reader))[2:])
        assert raw == ["reading", await until_got(got, i + 1)]
    assert [r["ts"] for r in got] == [t0 + i for i in range(3)]

    await until(lambda: all(q.waiting and q.empty() for q in queues))
    direct = fanout.direct
    n = BURST * 3
    for i in range(n):  # one go, no await: BURST at once, the rest from the inbox's task
        state.publish_values("d", t0 + 10 + i, {"temperature": float(i)})
    assert fanout.direct - direct <= 2 * BURST
    await until(lambda: len(got) == 3 + n)
    assert [r["values"]["temperature"] for r in got[3:]] == [float(i) for i in range(n)]
    await client.disconnect()
    writer.close()


async def until_got(got: list[dict], n: int) -> dict:
    await until(lambda: len(got) >= n)
    return got[n - 1]


async def test_python_socketio_clients_decode_both_paths_alike(listen):
    """python-socketio's AsyncClient over websocket (fast path) and over long-polling (the
    library's path) get the same readings, in the same order."""
    server = await listen("", QUIET)
    sio = live_server(server)
    url = f"http://127.0.0.1:{server.port}/"
    got: dict[str, list[dict]] = {"websocket": [], "polling": []}
    clients = []
    for transport, events in got.items():
        client = socketio.AsyncClient(reconnection=False)
        client.on("reading", events.append)
        await client.connect(url, transports=[transport], wait_timeout=5)
        clients.append(client)
    await until(lambda: len(sio.fanout.members) == 2)
    sent = [reading(i, pad=i * 40) for i in range(50)]
    for data in sent:
        sio.fanout.reading(data)
        await asyncio.sleep(0.002)
    await until(lambda: all(len(v) >= len(sent) for v in got.values()))
    for client in clients:
        await client.disconnect()
    assert got["websocket"] == got["polling"] == sent
    assert sio.fanout.direct > 0


needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules" / "socket.io-client").is_dir(),
    reason="needs node and `npm ci` (make test runs it)",
)


async def run_js(url: str, transports: str, readings: int) -> tuple[str, list[dict]]:
    """tests/integration/js/live_client.mjs, until `readings` readings came over the last of
    `transports` (it fails after 30 s): the transport it ended on, and all its readings."""
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(JS_CLIENT),
        url,
        transports,
        str(readings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    result = json.loads(out)
    return result["transport"], [data for kind, data in result["events"] if kind == "reading"]


@needs_node
async def test_js_clients_decode_both_paths_alike(listen):
    """The JavaScript socket.io-client, over websocket (fast path) and long-polling, with a
    sensor publishing every 50 ms: the readings both saw are the same, in the same order."""
    server = await listen("", QUIET.replace("3600", "0.05"))
    sio = live_server(server)
    url = f"http://127.0.0.1:{server.port}/"
    (_, ws), (_, polling) = await asyncio.gather(
        run_js(url, "websocket", 40), run_js(url, "polling", 40)
    )
    assert sio.fanout.direct > 0
    common = {r["ts"] for r in ws} & {r["ts"] for r in polling}
    assert len(common) >= 10
    assert [r for r in ws if r["ts"] in common] == [r for r in polling if r["ts"] in common]


@needs_node
async def test_a_browser_upgrading_from_polling_misses_nothing(listen):
    """What the page does (socket.io-client's default transports): long-polling first, then the
    upgrade to a websocket, after which the fast path takes over. Every reading published from
    its first one on arrives once, in order, across the switch."""
    fast = "".join(f'[[sensors]]\nid = "d{i}"\ntype = "demo"\ninterval = 0.01\n' for i in range(4))
    server = await listen("", fast)  # 400 readings a second: some land during the upgrade
    sio = live_server(server)
    published: list[tuple[str, float]] = []
    server._runner.app[STATE].subscribe(lambda r: published.append((r.sensor, r.ts)))
    transport, got = await run_js(f"http://127.0.0.1:{server.port}/", "polling,websocket", 100)
    assert transport == "websocket"
    assert sio.fanout.direct > 0, "no reading took the fast path after the upgrade"
    seen = [(r["sensor"], r["ts"]) for r in got]
    assert len(seen) >= 100
    start = published.index(seen[0])
    assert seen == published[start : start + len(seen)]
