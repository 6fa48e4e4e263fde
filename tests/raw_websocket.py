"""A websocket client made of bytes, for clients no library lets us write: one that stops
reading, or answers pings without reading. RFC 6455 framing, text frames only."""

from __future__ import annotations

import asyncio
import base64
import os


def upgrade_request(port: int) -> bytes:
    """The HTTP request that opens an Engine.IO websocket."""
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def frame(text: str) -> bytes:
    """One masked text frame, as a client must send it (section 5.2); short texts only."""
    data = text.encode()
    assert len(data) < 126
    mask = os.urandom(4)
    return (
        bytes([0x81, 0x80 | len(data)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    )


async def read_raw_frame(reader: asyncio.StreamReader) -> bytes:
    """The next frame from the server (unmasked), byte for byte: header and payload."""
    head = await reader.readexactly(2)
    n = head[1] & 0x7F
    if n >= 126:
        ext = await reader.readexactly(2 if n == 126 else 8)
        head, n = head + ext, int.from_bytes(ext, "big")
    return head + await reader.readexactly(n)


async def read_frame(reader: asyncio.StreamReader) -> str:
    """The next frame from the server (unmasked), as text."""
    raw = await read_raw_frame(reader)
    return raw[{126: 4, 127: 10}.get(raw[1] & 0x7F, 2) :].decode()
