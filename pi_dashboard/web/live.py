"""The Socket.IO live feed: a `snapshot` to each client after it connects, then every change.

Payloads and versioning are documented in docs/protocol.md. The snapshot is sent from a task the
connect handler starts: an emit from inside the handler would go out before python-socketio's
CONNECT packet, and strict clients (socket.io-client v4) drop events that arrive before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import socketio
from aiohttp import web
from engineio import packet as eio_packet
from socketio import packet

from pi_dashboard import PROTOCOL_VERSION
from pi_dashboard.model import Reading
from pi_dashboard.state import State
from pi_dashboard.web.keys import CLIENTS, SIO, STATE

log = logging.getLogger(__name__)


class OrjsonCodec:
    """python-socketio's `json=` hook: orjson encodes several times faster than the stdlib."""

    @staticmethod
    def dumps(obj: Any, *args: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(s: str | bytes, *args: Any, **kwargs: Any) -> Any:
        return orjson.loads(s)


Recent = Callable[[], dict[str, dict[str, dict[str, object]]]]
"""Per sensor and channel, the last minutes of history for sparklines (docs/protocol.md)."""


def snapshot_payload(state: State, recent: Recent | None = None) -> dict[str, object]:
    out = {"protocol": PROTOCOL_VERSION, "sensors": state.snapshot(), "server_time": time.time()}
    if recent is not None:
        out["recent"] = recent()
    return out


class LiveNamespace(socketio.AsyncNamespace):
    def __init__(self, state: State, clients: set[str], recent: Recent | None = None) -> None:
        super().__init__("/")
        self.state = state
        self.clients = clients
        self.recent = recent
        self._tasks: set[asyncio.Task[None]] = set()

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        self.clients.add(sid)
        log.info("client connected (%d open)", len(self.clients))
        task = asyncio.create_task(self._send_snapshot(sid))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_snapshot(self, sid: str) -> None:
        await self.emit("snapshot", snapshot_payload(self.state, self.recent), to=sid)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.clients.discard(sid)
        log.info("client disconnected (%d open)", len(self.clients))


class FanoutManager(socketio.AsyncManager):
    """Broadcasts without a task per client.

    python-socketio's manager encodes a broadcast once, then creates one asyncio task per client
    to queue it. Queueing on Engine.IO's unbounded per-client queue never waits, so awaiting the
    sends one after another delivers the same packets in the same order without creating 100
    tasks per reading when 100 browsers are open. Anything else (callbacks, skip_sid) goes
    through the library's own path.
    """

    async def emit(
        self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None, **kwargs
    ):  # type: ignore[no-untyped-def]
        if callback is not None or skip_sid is not None or namespace not in self.rooms:
            return await super().emit(
                event,
                data,
                namespace,
                room=room,
                skip_sid=skip_sid,
                callback=callback,
                to=to,
                **kwargs,
            )
        pkt = self.server.packet_class(packet.EVENT, namespace=namespace, data=[event, data])
        encoded = pkt.encode()
        eio_pkts = [
            eio_packet.Packet(eio_packet.MESSAGE, p)
            for p in (encoded if isinstance(encoded, list) else [encoded])
        ]
        send = self.server.eio.send_packet
        for _sid, eio_sid in list(self.get_participants(namespace, to or room)):
            for p in eio_pkts:
                await send(eio_sid, p)


def create_sio() -> socketio.AsyncServer:
    """Same-origin only (the default): the page is served from this very port."""
    return socketio.AsyncServer(
        async_mode="aiohttp",
        json=OrjsonCodec,
        logger=False,
        engineio_logger=False,
        client_manager=FanoutManager(),
        # A Pi that drops off Wi-Fi without closing the socket shows "offline" within ~20 s
        # rather than the default ~45 s; one ping per 10 s per browser costs nothing.
        ping_interval=10,
        ping_timeout=10,
    )


async def broadcaster(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: forward every change State publishes to all clients, in order."""
    sio = app[SIO]
    queue: asyncio.Queue[Reading] = asyncio.Queue()
    unsubscribe = app[STATE].subscribe(queue.put_nowait)

    async def run() -> None:
        while True:
            reading = await queue.get()
            if app[CLIENTS]:
                try:
                    await sio.emit("reading", reading.to_json())
                except Exception:
                    log.exception("emitting a reading failed")

    task = asyncio.create_task(run(), name="broadcaster")
    yield
    unsubscribe()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def shutdown(app: web.Application) -> None:
    """on_shutdown: tell clients we are going, so browsers show 'offline' at once."""
    await app[SIO].shutdown()
