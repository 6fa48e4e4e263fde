"""The listening socket and what every connection is allowed: the `[server]` limits of HTTP.

aiohttp has no request-head timeout and no connection cap, so a few hundred half-open requests
(slowloris) would hold every descriptor. Here each connection must send a complete request head
within `header_timeout` of opening (or of its previous response) and in `max_request_bytes`; at
`max_connections` a new connection evicts the one that has waited longest for a request head
(a slowloris or an idle keep-alive, which clients reopen at will), else it gets a 503 at once.

The request handler is aiohttp's own `RequestHandler`, subclassed at its documented hooks
(`connection_made`, `connection_lost`, `data_received`, `handle_error`); the web/admission.py
middleware tells it when a request head has arrived and when its response is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
import ssl
import sys
import weakref
from collections import OrderedDict
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import orjson
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from pi_dashboard.config import ServerConfig
from pi_dashboard.logs import set_repeat_interval
from pi_dashboard.web.limits import LISTEN_BACKLOG, fit_connections
from pi_dashboard.web.routes import json_error

log = logging.getLogger(__name__)

SEND_BUFFER = 64 * 1024
"""Kernel send buffer per connection (Linux doubles it). Autotuning grows it to 4 MiB for a
client that stops reading, kernel memory a Pi Zero cannot spare; 128 KiB still fills a LAN."""
REFUSAL_LINGER_S = 0.5
"""A refused connection is closed after its request arrives or this long: closing a socket with
unread input sends a reset, which can destroy the 503 before the client reads it."""


def raw_json_response(status: int, message: str) -> bytes:
    """A whole HTTP response, for connections that never reach aiohttp's request handling."""
    body = orjson.dumps({"error": message})
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


class GuardedHandler(RequestHandler):
    """aiohttp's request handler, on a clock: no request head within the timeout, no connection."""

    def __init__(self, guard: ConnectionGuard, manager: web.Server, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self.guard = guard
        self.head_bytes = 0
        self.head_seen = False
        self.tail = b""
        """The last bytes of the head so far: its end (a blank line) may straddle two reads."""
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        super().connection_made(transport)
        self.guard.waiting(self)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.guard.gone(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.timer is not None and not self.head_seen:  # counting a request head
            seen = self.tail + data
            end = seen.find(b"\r\n\r\n")
            self.head_bytes += len(data) if end < 0 else max(0, end + 4 - len(self.tail))
            if self.head_bytes > self.guard.max_head:
                self.refuse(431, f"request head too large (limit {self.guard.max_head} bytes)")
                return
            self.head_seen, self.tail = end >= 0, seen[-3:]
        super().data_received(data)

    def head_complete(self) -> None:
        """A request reached the application (middleware): its head is complete."""
        self.guard.busy(self)

    def response_done(self) -> None:
        """The application answered: the connection waits for its next request head."""
        if self.transport is not None:
            self.guard.waiting(self)

    def refuse(self, status: int, message: str) -> None:
        if self.transport is not None:
            self.transport.write(raw_json_response(status, message))
        self.force_close()

    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """aiohttp's answer to a request it could not parse, as JSON with one log line."""
        reason = message or (str(exc) if exc else "") or HTTPStatus(status).phrase
        reason = reason.splitlines()[0][:200] if reason.strip() else HTTPStatus(status).phrase
        log.info(
            "bad HTTP request from %s: %s",
            request.remote,
            reason,
            exc_info=exc if log.isEnabledFor(logging.DEBUG) else None,
        )
        if request.writer.output_size > 0:
            raise ConnectionError("response already started, cannot send the error")
        resp = json_error(status, HTTPStatus(status).phrase.lower())
        resp.force_close()
        return resp


class Refusal(asyncio.Protocol):
    """A connection over the cap, with nobody to evict: a 503 and goodbye."""

    def __init__(self, message: str) -> None:
        self.message = message
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(raw_json_response(503, self.message))
        self.timer = asyncio.get_running_loop().call_later(REFUSAL_LINGER_S, transport.close)

    def data_received(self, data: bytes) -> None:
        if b"\r\n\r\n" in data and self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()


class ConnectionGuard:
    """The protocol factory of the listening socket: counts, times and evicts connections."""

    def __init__(self, server: web.Server, cfg: ServerConfig) -> None:
        self.server = server
        self.loop = asyncio.get_running_loop()
        self.max_connections = fit_connections(cfg.max_connections)
        self.header_timeout = cfg.header_timeout
        self.max_head = cfg.max_request_bytes
        self.handler_kwargs: dict[str, Any] = {
            "loop": self.loop,
            "access_log": None,  # one line per request would wear out an SD card
            "keepalive_timeout": cfg.header_timeout + 5,  # a backstop: our timer answers 408
            "max_line_size": min(8190, cfg.max_request_bytes),
            "max_field_size": min(8190, cfg.max_request_bytes),
            "lingering_time": 1.0,
        }
        self.live: weakref.WeakSet[GuardedHandler] = weakref.WeakSet()
        self.heads: OrderedDict[GuardedHandler, None] = OrderedDict()
        """Connections waiting for a request head, longest-waiting first."""
        self.refused = self.evicted = self.timed_out = 0

    def __call__(self) -> asyncio.Protocol:
        if len(self.live) >= self.max_connections and not self._evict():
            self.refused += 1
            log.warning("connection refused: %d open (max_connections)", len(self.live))
            return Refusal(f"too many connections (limit {self.max_connections}): try again")
        handler = GuardedHandler(self, self.server, **self.handler_kwargs)
        self.live.add(handler)
        return handler

    def _evict(self) -> bool:
        if not self.heads:
            return False
        oldest, _ = self.heads.popitem(last=False)
        self._cancel(oldest)
        self.evicted += 1
        log.warning(
            "%d connections open (max_connections): closing the one idle longest",
            self.max_connections,
        )
        oldest.force_close()
        return True

    def waiting(self, h: GuardedHandler) -> None:
        self._cancel(h)
        h.head_bytes, h.head_seen, h.tail = 0, False, b""
        self.heads[h] = None
        h.timer = self.loop.call_later(self.header_timeout, self._expired, h)

    def busy(self, h: GuardedHandler) -> None:
        self._cancel(h)
        self.heads.pop(h, None)

    def gone(self, h: GuardedHandler) -> None:
        self.busy(h)
        self.live.discard(h)

    def _cancel(self, h: GuardedHandler) -> None:
        if h.timer is not None:
            h.timer.cancel()
            h.timer = None

    def _expired(self, h: GuardedHandler) -> None:
        h.timer = None
        self.heads.pop(h, None)
        self.timed_out += 1
        h.refuse(408, f"no complete request within {self.header_timeout:g} s")


class GuardedSite(web.BaseSite):
    """aiohttp's TCPSite, with `ConnectionGuard` as the protocol factory."""

    def __init__(
        self,
        runner: web.BaseRunner,
        cfg: ServerConfig,
        *,
        sock: socket.socket | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(runner, backlog=LISTEN_BACKLOG, ssl_context=ssl_context)
        self.cfg = cfg
        self.sock = sock
        self.guard: ConnectionGuard | None = None

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context is not None else "http"
        return f"{scheme}://{self.cfg.host}:{self.cfg.port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        self.guard = ConnectionGuard(server, self.cfg)
        loop = asyncio.get_running_loop()
        if self.sock is not None:
            self._server = await loop.create_server(
                self.guard, sock=self.sock, backlog=self._backlog, ssl=self._ssl_context
            )
        else:
            self._server = await loop.create_server(
                self.guard,
                self.cfg.host,
                self.cfg.port,
                backlog=self._backlog,
                reuse_address=True,
                ssl=self._ssl_context,
            )


GC_YOUNG = 2000
"""Net new objects between young collections (CPython's default: 700). Connecting 1,000 clients,
the collector took 0.31 s of the 0.85 s of CPU with the defaults, two full collections of 0.1 s
each among them; with `gc.freeze()` and this, 0.08-0.2 s and no full collection. Higher saves
little more and leaves more cyclic garbage waiting (RSS)."""


def settle_heap() -> bool:
    """Once the daemon serves: what exists now (modules, config, sensors) lives as long as the
    process, so move it out of the collector's scans, and collect young objects less often. Each
    connection keeps a few hundred objects (requests, tasks, queues) that the default thresholds
    scan over and over. Then the start's garbage goes back to the system (`trim_heap`, whose
    answer it returns). Process-wide: the daemon calls it, tests and libraries do not."""
    gc.freeze()
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])
    return trim_heap()


TRIM_EVERY_S = 3600.0
"""After the start, the daemon trims its heap this often (`trim_heaps`): what a day's history
queries and page loads freed goes back within the hour. A trim takes 0.1-0.3 ms."""


def trim_heap() -> bool:
    """Give the C heap's free pages back to the system (glibc's `malloc_trim(0)`); whether it ran.

    Blocks bigger than pymalloc's (bytes, SQLite's pages, a query's buffers) are freed into
    glibc's heap, where a free page below a live block stays resident until trimmed: 0.2-0.6 MB
    at idle after the start (1 MB when the start compiled bytecode) and 0.5 MB after history
    queries, measured (docs/performance.md, "Idle again"). Only where ctypes is loaded already
    (smbus2 loads it for every I2C sensor; mock mode does not): importing it for this would
    cost 0.35-0.6 MB, more than a trim gives back."""
    ctypes = sys.modules.get("ctypes")
    if ctypes is None:
        return False
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl, macOS): its own policy applies
        return False
    return True


def trim_heaps(
    loop: asyncio.AbstractEventLoop,
    every_s: float = TRIM_EVERY_S,
    trim: Callable[[], object] = trim_heap,
) -> None:
    """`trim` every `every_s` for the life of `loop` (a timer, no task: nothing to stop)."""

    def again() -> None:
        trim()
        loop.call_later(every_s, again)

    loop.call_later(every_s, again)


async def start_site(
    runner: web.BaseRunner,
    cfg: ServerConfig,
    *,
    sock: socket.socket | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> GuardedSite:
    """Listen on `cfg.host:cfg.port` (or on `sock`, already bound) with every `[server]` limit;
    HTTPS with `ssl_context` (web/tls.py).

    Raises OSError as `loop.create_server` does (port in use, no permission)."""
    set_repeat_interval(cfg.log_repeat_interval)
    site = GuardedSite(runner, cfg, sock=sock, ssl_context=ssl_context)
    await site.start()
    return site
