"""The broadcast fast path: a reading framed once and written to every websocket client's socket.

A server-to-client WebSocket frame is unmasked (RFC 6455, section 5.1), so the same bytes are valid
for every client. python-engineio instead hands each client's packets to that client's queue and
writer task, which frames and writes them one by one (several task switches, a timer and a new
task per message and client). Here a client whose writer is idle, with nothing queued and nothing
unsent in its socket buffer, gets the shared frame written straight to its transport. Anything
else takes the library's path, which keeps the order of everything a client is sent:

- Engine.IO's own packets (pings, the upgrade's NOOP, CLOSE) and the snapshot always go through
  the client's queue; a reading is written directly only while that queue is empty and its
  writer is waiting on it, so it can never overtake one of them;
- a client that is behind (bytes unsent in its socket buffer) gets its readings queued, where
  web/live.py's `client_queue` limit and merging apply as before;
- polling clients, and clients still upgrading from polling, have no websocket to write to.

python-engineio gives each socket a queue from its server's `create_queue()`; `Outbox` is that
queue, and learns its websocket's transport from web/inbound.py's websocket driver when the
connection opens. These are internals: pyproject.toml pins python-engineio's minor version and
tests/integration/test_inbound.py::test_engineio_seam checks them, and
tests/integration/test_broadcast.py checks the frames against the library's own.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import orjson
from engineio import packet as eio_packet

TEXT = 0x81
"""FIN + opcode 1 (text): every message we send is one whole text frame."""


def text_frame(text: str) -> bytes:
    """One unmasked text frame (RFC 6455, section 5.2), as aiohttp's writer frames `send_str`."""
    return utf8_frame(text.encode())


def utf8_frame(data: bytes) -> bytes:
    """`text_frame` of text already encoded as UTF-8."""
    n = len(data)
    if n < 126:
        return struct.pack("!BB", TEXT, n) + data
    if n < 65536:
        return struct.pack("!BBH", TEXT, 126, n) + data
    return struct.pack("!BBQ", TEXT, 127, n) + data


def event_frame(event: str, data: object) -> bytes:
    """The frame python-socketio and python-engineio send for `emit(event, data)` on namespace
    "/" with web/live.py's orjson codec: Engine.IO MESSAGE "4", Socket.IO EVENT "2", then the
    JSON array [event, data]. Built straight from orjson's bytes: going through their packet
    classes (a walk of the data for binary parts, str concatenations, a decode and an encode)
    cost 8 µs of the 8.5 here. For data without bytes (a reading), which never has attachments."""
    return utf8_frame(b"42" + orjson.dumps([event, data]))


def frame_of(pkts: list[eio_packet.Packet]) -> bytes | None:
    """The websocket frame of one Engine.IO text packet; None if it does not fit one frame."""
    if len(pkts) != 1 or pkts[0].binary:
        return None
    return text_frame(pkts[0].encode())


class Outbox(asyncio.Queue[Any]):
    """An Engine.IO socket's queue that knows whether its websocket writer is idle on it."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = 0
        """Coroutines blocked in get(): once upgraded, only the websocket writer gets from here."""
        self.sock: Any = None
        self.transport: asyncio.Transport | None = None

    def attach(self, sock: Any, transport: asyncio.Transport | None, compressed: bool) -> None:
        """The websocket is open. A compressed connection keeps the library's path."""
        if transport is not None and not compressed:
            self.sock, self.transport = sock, transport

    async def get(self) -> Any:
        self.waiting += 1
        try:
            return await super().get()
        finally:
            self.waiting -= 1

    def direct(self) -> asyncio.Transport | None:
        """The transport to write a shared frame to now without reordering anything, or None."""
        t = self.transport
        if (
            t is None
            or not self.waiting
            or not self.empty()
            or t.get_write_buffer_size()
            or t.is_closing()
        ):
            return None
        s = self.sock
        if not s.upgraded or s.upgrading or s.closing or s.closed:
            return None
        return t
