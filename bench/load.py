"""A Socket.IO load client made of asyncio protocols: K websocket connections, latencies.

Any Socket.IO v4 server works (the project, the node and Python references of ../shared/bench).
Each connection is an asyncio Protocol that frames and parses RFC 6455 by hand: a library
client (python-socketio, aiohttp) costs several times more CPU per message, and on a 2-core
machine the client must stay far below the server it measures. Like a browser it offers
permessage-deflate (RFC 7692), and inflates if the server takes it. Latency = arrival - `ts` in
the reading (both clocks are this machine's).
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
import zlib
from dataclasses import dataclass, field

CONNECT_TIMEOUT_S = 30.0
MASK = b"\x00\x00\x00\x00"
"""Client frames must be masked (RFC 6455 5.3); a zero key leaves the payload as it is."""


def client_frame(text: bytes) -> bytes:
    """A masked text frame for the few short messages a client sends ("40", "3")."""
    return bytes((0x81, 0x80 | len(text))) + MASK + text


@dataclass
class Stats:
    measuring: bool = False
    latencies: list[float] = field(default_factory=list)
    messages: int = 0
    snapshots: int = 0
    disconnects: int = 0
    errors: int = 0


class Connection(asyncio.Protocol):
    def __init__(self, host: str, port: int, stats: Stats) -> None:
        self.host, self.port, self.stats = host, port, stats
        self.buf = bytearray()
        self.upgraded = False
        self.inflate: zlib._Decompress | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: {self.host}:{self.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n".encode()
        )

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed before the snapshot"))
        elif self.stats.measuring:
            self.stats.disconnects += 1

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.stats.errors += 1
                if not self.ready.done():
                    self.ready.set_exception(
                        ConnectionError(bytes(buf[:40]).decode(errors="replace"))
                    )
                return
            if b"permessage-deflate" in buf[:end].lower():
                self.inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            del buf[: end + 4]
            self.upgraded = True
        while len(buf) >= 2:
            n = buf[1] & 0x7F
            head = 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, head = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, head = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < head + n:
                return
            payload = bytes(buf[head : head + n])
            if buf[0] & 0x40 and self.inflate is not None:  # RSV1: a compressed message
                payload = self.inflate.decompress(payload + b"\x00\x00\xff\xff")
            del buf[: head + n]
            self.message(payload)

    def message(self, p: bytes) -> None:
        if p.startswith(b'42["reading"'):
            now = time.time()
            stats = self.stats
            stats.messages += 1
            if stats.measuring:
                i = p.find(b'"ts":') + 5
                j = i
                while p[j] in b"0123456789.eE+-":
                    j += 1
                stats.latencies.append(now - float(p[i:j]))
        elif p == b"2":
            self.send(b"3")
        elif p.startswith(b"0{"):
            self.send(b"40")
        elif p.startswith(b'42["snapshot"'):
            self.stats.snapshots += 1
            if not self.ready.done():
                self.ready.set_result(None)

    def send(self, text: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(text))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def connect_all(
    host: str, port: int, count: int, stats: Stats, *, concurrency: int = 100
) -> list[Connection]:
    """`count` connections, each with its snapshot, at most `concurrency` handshakes at once;
    all within CONNECT_TIMEOUT_S."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)
    conns: list[Connection] = []

    async def one() -> None:
        async with gate:
            _, conn = await loop.create_connection(
                lambda: Connection(host, port, stats), host, port
            )
            conns.append(conn)
            await conn.ready

    async with asyncio.timeout(CONNECT_TIMEOUT_S):
        await asyncio.gather(*(one() for _ in range(count)))
    return conns


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]
