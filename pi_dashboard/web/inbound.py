"""Everything a browser sends, checked before python-socketio acts on it: size, rate and shape.

Clients only need to receive (docs/protocol.md, "What clients may send"). Accepted: Engine.IO
PONG, CLOSE and the websocket upgrade (PING "probe", UPGRADE); Socket.IO CONNECT (once per
namespace) and DISCONNECT, as text. Socket.IO events and acks are dropped unread, so a client
cannot fake `connect` or `disconnect`. Undecodable or binary packets, and clients over their
message rate, get the connection closed. Every check costs one log line at most.

python-engineio reads client packets in its aiohttp driver. We replace two entries of that
server's driver table (`eio._async`): `websocket`, so each message is checked before the library
decodes it, and `translate_request`, so a polling POST's body, read and checked here first, is
what the library sees. These are internals: pyproject.toml pins python-engineio's minor version
and tests/integration/test_inbound.py::test_engineio_seam fails if they move.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import engineio
from aiohttp import web
from engineio import packet as eio_packet
from engineio import payload as eio_payload
from engineio.async_drivers import aiohttp as eio_aiohttp
from socketio import packet as sio_packet

from pi_dashboard.config import ServerConfig
from pi_dashboard.web.limits import TokenBucket, burst_for
from pi_dashboard.web.routes import json_error
from pi_dashboard.web.wire import Outbox, text_frame

log = logging.getLogger(__name__)

POLLING_TYPES = frozenset({eio_packet.PONG, eio_packet.MESSAGE, eio_packet.CLOSE})
WEBSOCKET_TYPES = POLLING_TYPES | {eio_packet.PING, eio_packet.UPGRADE}
SOCKETIO_TYPES = frozenset({sio_packet.CONNECT, sio_packet.DISCONNECT})

_BODY: contextvars.ContextVar[bytes | None] = contextvars.ContextVar("eio_body", default=None)


def refusal(pkt: eio_packet.Packet, allowed: frozenset[int]) -> str | None:
    """Why a decoded Engine.IO packet from a client is refused, or None if it may pass."""
    if pkt.packet_type not in allowed:
        return f"Engine.IO packet type {pkt.packet_type} not accepted from clients"
    if pkt.packet_type == eio_packet.PING and pkt.data != "probe":
        return "Engine.IO PING from a client"
    if pkt.packet_type == eio_packet.MESSAGE and not isinstance(pkt.data, str):
        return "Engine.IO message that is not a Socket.IO packet"
    return None


def check_eio(data: str | bytes, allowed: frozenset[int]) -> str | None:
    """Why an encoded Engine.IO packet from a client is refused, or None if it may pass."""
    if not isinstance(data, str):
        return "binary message"
    try:
        pkt = eio_packet.Packet(encoded_packet=data)
    except Exception:
        return "malformed Engine.IO packet"
    return refusal(pkt, allowed)


class ClientGuard:
    """Inbound budgets (per client and for all clients together) and the way to drop a client."""

    def __init__(self, cfg: ServerConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes = cfg.max_message_bytes
        self.read_timeout = cfg.read_timeout
        self.max_sessions = cfg.max_connections
        self.client_rate = cfg.client_messages_per_s
        self.clock = clock
        self.total = TokenBucket(cfg.messages_per_s, burst_for(cfg.messages_per_s), clock)
        self.refused: Counter[str] = Counter()
        """Reason -> count, for tests and the reliability figures."""
        self.written_at_once = 0
        """Handshake writes made by `GuardedWebSocket.send_queued`, for tests and bench."""
        self._buckets: dict[str, TokenBucket] = {}
        self._websockets: dict[str, GuardedWebSocket] = {}
        self.eio: engineio.AsyncServer | None = None

    def admit(self, sid: str, count: int = 1) -> bool:
        """Take `count` messages from this client's budget and from the global one."""
        bucket = self._buckets.get(sid)
        if bucket is None:
            rate = self.client_rate
            bucket = self._buckets[sid] = TokenBucket(rate, burst_for(rate), self.clock)
        return all(bucket.take() and self.total.take() for _ in range(count))

    def websocket_opened(self, sid: str, ws: GuardedWebSocket) -> None:
        self._websockets[sid] = ws

    def websocket(self, sid: str) -> GuardedWebSocket | None:
        return self._websockets.get(sid)

    def forget(self, sid: str) -> None:
        self._buckets.pop(sid, None)
        self._websockets.pop(sid, None)

    def refuse(self, remote: str | None, reason: str) -> None:
        self.refused[reason] += 1
        log.warning("dropped a client at %s: %s", remote or "?", reason)

    async def drop(self, sid: str) -> None:
        """Close a client now, whatever it is doing. python-engineio's own `disconnect` waits
        for the client to read its queue, which a stalled client never does."""
        sock = self.eio.sockets.get(sid) if self.eio is not None else None
        if sock is not None:
            await sock.close(wait=False, abort=True)
            sock.queue.put_nowait(None)  # releases a long-poll GET or the websocket writer
        ws = self._websockets.pop(sid, None)
        if ws is not None and ws.request.transport is not None:
            ws.request.transport.abort()
        self.forget(sid)

    def install(self, eio: engineio.AsyncServer) -> None:
        """Put the guarded websocket and request translation in this server's driver table."""
        guard = self
        eio.max_http_buffer_size = self.max_bytes
        original = eio._async["translate_request"]

        def translate_request(request: web.Request) -> dict[str, Any]:
            environ: dict[str, Any] = original(request)
            body = _BODY.get()
            if body is not None:
                environ["wsgi.input"] = _Body(body)
            return environ

        class Websocket(GuardedWebSocket):
            pass

        Websocket.guard = guard
        eio._async = {**eio._async, "translate_request": translate_request, "websocket": Websocket}
        self.eio = eio

    async def check_request(
        self, request: web.Request
    ) -> tuple[web.Response | None, contextvars.Token[bytes | None] | None]:
        """A Socket.IO HTTP request: an error response, or None and the body's context token."""
        assert self.eio is not None
        sid = request.query.get("sid")
        if request.method == "GET" and sid is None:  # a new session
            if len(self.eio.sockets) >= self.max_sessions:
                self.refused["too many sessions"] += 1
                return json_error(503, "too many Socket.IO sessions: try again later"), None
            if not self.total.take():
                self.refused["too many new sessions"] += 1
                return json_error(503, "too many new Socket.IO sessions: try again"), None
            return None, None
        if request.method != "POST" or sid is None or sid not in self.eio.sockets:
            return None, None
        if self.eio.sockets[sid].closed:
            # python-engineio answers a POST to a session closed meanwhile (a logout, a drop)
            # with an uncaught KeyError, a 500; its answer to an unknown session is a 400
            del self.eio.sockets[sid]
            return json_error(400, "Socket.IO session closed"), None
        length = request.content_length
        if length is None or length > self.max_bytes:
            status, what = (411, "length required") if length is None else (413, "too large")
            await self._refuse_post(sid, request, f"message {what}")
            return json_error(status, f"message {what} (limit {self.max_bytes} bytes)"), None
        try:
            async with asyncio.timeout(self.read_timeout):
                body = await request.content.readexactly(length)
        except (TimeoutError, asyncio.IncompleteReadError):
            await self._refuse_post(sid, request, "message not received in time")
            return json_error(408, "message not received in time"), None
        reason = None
        try:
            packets = eio_payload.Payload(encoded_payload=body.decode()).packets
        except Exception:
            reason = "malformed Engine.IO payload"
        else:
            for p in packets:
                reason = reason or refusal(p, POLLING_TYPES)
            if reason is None and not self.admit(sid, len(packets)):
                reason = "message rate over the limit"
        if reason is not None:
            await self._refuse_post(sid, request, reason)
            return json_error(429 if "rate" in reason else 400, reason), None
        return None, _BODY.set(body)

    async def _refuse_post(self, sid: str, request: web.Request, reason: str) -> None:
        self.refuse(request.remote, reason)
        await self.drop(sid)


class _Body:
    """What python-engineio reads a POST body from (`environ['wsgi.input']`)."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    async def read(self, length: int = -1) -> bytes:
        return self._body if length < 0 else self._body[:length]


class GuardedWebSocket(eio_aiohttp.WebSocket):
    """python-engineio's aiohttp websocket, with each client message checked as it arrives.

    A refused message raises OSError, which the library treats as the connection ending."""

    guard: ClientGuard
    opened = False

    async def __call__(self, environ: dict[str, Any]) -> Any:
        owner = self.owner = getattr(self.handler, "__self__", None)
        self.sid: str | None = getattr(owner, "sid", None)
        self.request: web.Request = environ["aiohttp.request"]
        self.remote = self.request.remote
        if self.sid is not None:
            self.guard.websocket_opened(self.sid, self)
        try:
            # python-engineio's WebSocket.__call__, with compress=False: permessage-deflate is
            # declined (readings are ~100 bytes; compressing each one for each client costs the
            # Pi, and the phone, more CPU than it saves on a LAN; node's socket.io declines it too)
            self._sock = web.WebSocketResponse(
                max_msg_size=self.server.max_http_buffer_size, compress=False
            )
            await self._sock.prepare(environ["aiohttp.request"])
            self.environ = environ
            await self.handler(self)
            return self._sock
        finally:
            # The library closes its socket at the end of the handler; a handler cancelled on
            # the way out (aiohttp's handler_cancellation) would leave it open until the ping
            # timeout, still counted as a client.
            if owner is not None and not owner.closed:
                await owner.close(wait=False, abort=True)
            if self._sock is not None and not self._sock.closed:
                with contextlib.suppress(OSError, RuntimeError):
                    await self._sock.close()

    async def wait(self) -> Any:
        if self.sid is not None and not self.opened:  # the first wait: the websocket is open
            self.opened = True
            queue = getattr(self.owner, "queue", None)
            if isinstance(queue, Outbox):
                queue.attach(self.owner, self.request.transport, bool(self._sock.compress))
            # the library's writer task is created but has not run yet: the Engine.IO OPEN goes
            # out now, right behind the 101, not three loop passes later
            self.send_queued(writer_idle=True)
        data = await super().wait()
        reason = check_eio(data, WEBSOCKET_TYPES)
        if reason is None and self.sid is not None and not self.guard.admit(self.sid):
            reason = "message rate over the limit"
        if reason is not None:
            self.guard.refuse(self.remote, reason)
            raise OSError(reason)
        return data

    def send_queued(self, extra: bytes = b"", *, writer_idle: bool = False) -> bool:
        """Write what python-engineio has queued for this client, then `extra` (whole frames), in
        one write, now. The library's writer task would write each packet in turns of its own:
        three loop passes after it is queued (the task's `wait_for` on the queue), each a syscall
        of its own; during a burst of connections a loop pass is milliseconds, on the critical
        path of every handshake (Engine.IO OPEN; Socket.IO CONNECT answer and our snapshot).

        Only when nothing can be reordered or overtaken: the writer is idle (`writer_idle`: not
        run yet; or it waits in `Outbox.get()`), the socket buffer is empty (else the writer's
        backpressure applies), the socket is open on this websocket, uncompressed, and nothing
        queued is the writer's stop (None) or binary. Else False, and the library sends it all."""
        owner, t = self.owner, self.request.transport
        q = getattr(owner, "queue", None)
        if (
            owner is None
            or q is None
            or t is None
            or t.is_closing()
            or t.get_write_buffer_size()
            or self._sock is None
            or self._sock.compress
            or not (writer_idle or (isinstance(q, Outbox) and q.waiting))
            or not owner.upgraded
            or owner.upgrading
            or owner.closing
            or owner.closed
            or any(p is None or p.binary for p in q._queue)
        ):
            return False
        frames = []
        while not q.empty():
            frames.append(text_frame(q.get_nowait().encode()))
            q.task_done()
        t.write(b"".join(frames) + extra)
        self.guard.written_at_once += 1
        return True
