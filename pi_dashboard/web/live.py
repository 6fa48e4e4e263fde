"""The Socket.IO live feed: a `snapshot` to each client after it connects, then every change.

Payloads and versioning are documented in docs/protocol.md. The snapshot is sent once
python-socketio has queued its CONNECT answer (`LiveServer._welcome`): an emit from inside the
connect handler would go out before it, and strict clients (socket.io-client v4) drop events that
arrive before it. It is encoded once per state change and shared by every client (`SnapshotCache`).

Each browser gets at most `[server] client_queue` packets waiting in its Engine.IO queue. Past
that it is behind: its readings are merged to the latest value per channel (a browser that is
behind needs the newest values, not every old one) and sent once it has caught up; a client
behind for `client_stall_timeout` is dropped. Nothing one client does slows the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import orjson
import socketio
from aiohttp import web
from engineio import packet as eio_packet
from engineio.async_socket import AsyncSocket
from socketio import packet

from pi_dashboard import PROTOCOL_VERSION
from pi_dashboard.config import ServerConfig
from pi_dashboard.model import Reading, Status, sensor_key
from pi_dashboard.state import NodeState, State
from pi_dashboard.web.hosts import HostAllowList
from pi_dashboard.web.inbound import SOCKETIO_TYPES, ClientGuard
from pi_dashboard.web.keys import SIO, STATE
from pi_dashboard.web.wire import Outbox, event_frame, frame_of

log = logging.getLogger(__name__)

SNAPSHOT_MAX_AGE_S = 1.0
"""A cached snapshot is rebuilt after this long even without a change: it carries server_time."""
TICK_S = 0.5
"""How often clients that are behind are looked at (flushed when caught up, or dropped)."""
INBOX = 4096
"""Readings waiting for the broadcaster; past that they are merged like a slow client's."""
BURST, BURST_S = 64, 0.01
"""At most BURST changes within BURST_S go out in the call that publishes them; the rest of a
burst (10,000 published in one go) go through the inbox, whose task lets the loop breathe."""
ALIVE_S = 1.0
"""How often clients hear which sensors were read without a change (the `alive` event)."""

CLIENT_LOG_S = 10.0
"""At most one INFO line about clients coming and going this often (the rest are counted)."""

Packets = list[eio_packet.Packet]


class OrjsonCodec:
    """python-socketio's `json=` hook: orjson encodes several times faster than the stdlib."""

    @staticmethod
    def dumps(obj: Any, *args: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(s: str | bytes, *args: Any, **kwargs: Any) -> Any:
        return orjson.loads(s)


def encode_event(sio: socketio.AsyncServer, event: str, data: object) -> Packets:
    """One Socket.IO event as Engine.IO packets, encoded once for any number of clients."""
    pkt = sio.packet_class(packet.EVENT, namespace="/", data=[event, data])
    encoded = pkt.encode()
    return [
        eio_packet.Packet(eio_packet.MESSAGE, p)
        for p in (encoded if isinstance(encoded, list) else [encoded])
    ]


class Backlog:
    """Readings held back, merged per sensor: at most one `ok` and one `error` reading each.

    The `ok` one carries the latest value of every channel that changed, so a client that gets
    it (then the error, if the sensor failed since) ends in the same state as one that got all.
    """

    __slots__ = ("_sensors", "nodes", "since")

    def __init__(self, since: float = 0.0) -> None:
        self._sensors: dict[tuple[str, str], list[dict[str, Any] | None]] = {}
        self.nodes: dict[str, dict[str, Any]] = {}
        """The latest `node` event per node (at most `[mqtt] max_nodes`), sent before readings."""
        self.since = since

    def __len__(self) -> int:
        return len(self._sensors) + len(self.nodes)

    def add(self, reading: dict[str, Any]) -> None:
        key = (reading.get("node", ""), reading["sensor"])
        slot = self._sensors.setdefault(key, [None, None])
        if reading["status"] == "error":
            slot[1] = reading
            return
        ok = slot[0]
        if ok is None:
            first = {**reading, "values": dict(reading["values"])}
            if "levels" in reading:
                first["levels"] = dict(reading["levels"])
            slot[0] = first
        else:
            ok["values"].update(reading["values"])
            ok["ts"], ok["status"] = reading["ts"], reading["status"]
            if "levels" in reading:
                ok.setdefault("levels", {}).update(reading["levels"])
        slot[1] = None

    def drain(self) -> list[dict[str, Any]]:
        out = [r for slot in self._sensors.values() for r in slot if r is not None]
        self._sensors.clear()
        return out

    def drain_events(self) -> list[tuple[str, dict[str, Any]]]:
        """Everything held back, as (event, payload): node changes first, then readings."""
        out = [("node", n) for n in self.nodes.values()]
        self.nodes.clear()
        return out + [("reading", r) for r in self.drain()]


class Fanout:
    """Sends to every connected client from one encoded packet, within each one's queue limit.

    A client is a member from its snapshot on, so it never gets a reading before the snapshot.
    Members that keep up get each reading as one shared websocket frame (web/wire.py)."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        guard: ClientGuard,
        *,
        limit: int,
        stall_timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sio, self.guard = sio, guard
        self.limit, self.stall_timeout, self.clock = limit, stall_timeout, clock
        self.members: dict[str, AsyncSocket] = {}
        """eio sid -> Engine.IO socket, of each client sent its snapshot."""
        self.behind: dict[str, Backlog] = {}
        """eio sid -> what it has not been sent yet; only clients that are behind are here."""
        self.wake_ticker: Callable[[], None] = lambda: None
        self.joined = asyncio.Event()
        """Set when a client joins; the `alive` task sleeps on it while nobody is connected."""
        self.dropped = 0
        self.coalesced = 0
        self.direct = 0
        """Readings written straight to a client's socket (web/wire.py), for tests and bench."""

    def _queue(self, eio_sid: str) -> asyncio.Queue[Any] | None:
        sock = self.sio.eio.sockets.get(eio_sid)
        return None if sock is None or sock.closed else sock.queue

    async def send(self, eio_sid: str, pkts: Packets) -> None:
        """Queue packets for one client whatever its backlog (the snapshot, say)."""
        if self._queue(eio_sid) is not None:
            for p in pkts:
                await self.sio.eio.send_packet(eio_sid, p)

    async def join(self, eio_sid: str, snapshot: Packets, frame: bytes | None = None) -> None:
        """Send a new client its snapshot; readings follow it from then on. With its websocket
        `frame`, the snapshot goes out now in one write with what is queued before it (the
        CONNECT answer) when the connection allows (`GuardedWebSocket.send_queued`)."""
        ws = self.guard.websocket(eio_sid) if frame is not None else None
        if ws is None or not ws.send_queued(frame or b""):
            await self.send(eio_sid, snapshot)
        sock = self.sio.eio.sockets.get(eio_sid)
        if sock is not None and not sock.closed:
            self.members[eio_sid] = sock
            self.joined.set()

    def leave(self, eio_sid: str) -> None:
        self.members.pop(eio_sid, None)
        self.behind.pop(eio_sid, None)

    def node(self, data: dict[str, Any]) -> None:
        """Another node came or went (rare): queued for each client, kept latest-per-node for
        one that is behind."""
        pkts = encode_event(self.sio, "node", data)
        for eio_sid, sock in list(self.members.items()):
            if eio_sid not in self.behind:
                if sock.closed:
                    continue
                if sock.queue.qsize() < self.limit:
                    for p in pkts:
                        sock.queue.put_nowait(p)
                    continue
                self.behind[eio_sid] = Backlog(self.clock())
                self.wake_ticker()
            self.behind[eio_sid].nodes[data["id"]] = data

    def reading(self, data: dict[str, Any]) -> None:
        frame = event_frame("reading", data)
        pkts: Packets | None = None
        """The library's packets, for a client that goes through its queue: built only then."""
        gone: list[str] = []
        for eio_sid, sock in self.members.items():
            q = sock.queue
            if eio_sid not in self.behind:
                t = q.direct() if isinstance(q, Outbox) else None
                if t is not None:
                    t.write(frame)
                    self.direct += 1
                    continue
                if sock.closed:
                    gone.append(eio_sid)
                    continue
                if q.qsize() < self.limit:
                    if pkts is None:
                        pkts = encode_event(self.sio, "reading", data)
                    for p in pkts:
                        q.put_nowait(p)
                    continue
                self.behind[eio_sid] = Backlog(self.clock())
                self.wake_ticker()
            self.behind[eio_sid].add(data)
            self.coalesced += 1
        for eio_sid in gone:
            self.leave(eio_sid)

    def notice(self, pkts: Packets) -> None:
        """A best-effort event (`alive`) to every member that keeps up. One that is behind skips
        it: the next one says the same, newer."""
        frame = frame_of(pkts)
        for eio_sid, sock in self.members.items():
            if eio_sid in self.behind or sock.closed:
                continue
            q = sock.queue
            t = q.direct() if frame is not None and isinstance(q, Outbox) else None
            if t is not None:
                t.write(frame)  # type: ignore[arg-type]
            elif q.qsize() < self.limit:
                for p in pkts:
                    q.put_nowait(p)

    async def tick(self) -> None:
        """Flush clients that caught up (queue at half the limit), drop those stalled too long."""
        now = self.clock()
        for eio_sid, backlog in list(self.behind.items()):
            q = self._queue(eio_sid)
            if q is None:
                self.leave(eio_sid)
            elif q.qsize() <= self.limit // 2:
                del self.behind[eio_sid]
                for event, data in backlog.drain_events():
                    await self.send(eio_sid, encode_event(self.sio, event, data))
            elif now - backlog.since > self.stall_timeout:
                self.leave(eio_sid)
                self.dropped += 1
                log.warning(
                    "dropped a client that read nothing for %.0f s (%d messages queued)",
                    now - backlog.since,
                    q.qsize(),
                )
                await self.guard.drop(eio_sid)


class SnapshotCache:
    """The `snapshot` event, encoded once per state change and shared by every client."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        state: State,
        recent: Recent | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sio, self.state, self.recent, self.clock = sio, state, recent, clock
        self._pkts: Packets = []
        self._frame: bytes | None = None
        self._version = -1
        self._built = 0.0
        self.builds = 0

    def packets(self) -> Packets:
        now = self.clock()
        if self._version != self.state.changes or now - self._built > SNAPSHOT_MAX_AGE_S:
            self._version, self._built = self.state.changes, now
            self._pkts = encode_event(
                self.sio, "snapshot", snapshot_payload(self.state, self.recent)
            )
            self._frame = None
            self.builds += 1
        return self._pkts

    def frame(self) -> bytes | None:
        """The websocket frame of the last `packets()`, built once for every client."""
        if self._frame is None:
            self._frame = frame_of(self._pkts)
        return self._frame


Recent = Callable[[], dict[str, dict[str, dict[str, object]]]]


class Gate(Protocol):
    """Who may open the live feed (web/auth.py, with `[server.auth]` on)."""

    def admit_socket(self, sid: str, environ: dict[str, Any], auth: object) -> str | None:
        """None to let the client in, else the reason its `connect_error` carries."""

    def socket_gone(self, sid: str) -> None: ...


"""Per sensor and channel, the last minutes of history for sparklines (docs/protocol.md)."""


def snapshot_payload(state: State, recent: Recent | None = None) -> dict[str, object]:
    out = {"protocol": PROTOCOL_VERSION, "sensors": state.snapshot(), "server_time": time.time()}
    if state.nodes:  # only when this daemon shows other nodes ([mqtt] follow)
        out["nodes"] = [n.to_json() for n in state.nodes.values()]
    if recent is not None:
        out["recent"] = recent()
    return out


class LiveServer(socketio.AsyncServer):
    """python-socketio's server, acting only on the Socket.IO packets clients may send
    (web/inbound.py has the rest of the checks), and sending through a `Fanout`."""

    def __init__(self, cfg: ServerConfig, hosts: HostAllowList, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hosts = hosts
        self.guard = ClientGuard(cfg)
        self.guard.install(self.eio)
        self.eio.create_queue = Outbox  # each socket's queue
        self.fanout = Fanout(
            self, self.guard, limit=cfg.client_queue, stall_timeout=cfg.client_stall_timeout
        )

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        pkt = None
        if isinstance(data, str):
            with contextlib.suppress(Exception):
                pkt = self.packet_class(encoded_packet=data)
        if pkt is None:
            reason = "malformed Socket.IO packet"
        elif pkt.packet_type not in SOCKETIO_TYPES:  # events, acks: clients send none in v1
            self.guard.refused["client event ignored"] += 1
            return
        elif pkt.packet_type == packet.CONNECT and self.manager.sid_from_eio_sid(
            eio_sid, pkt.namespace or "/"
        ):
            reason = "second CONNECT on one connection"
        else:
            await super()._handle_eio_message(eio_sid, data)
            if pkt.packet_type == packet.CONNECT:
                await self._welcome(eio_sid, pkt.namespace or "/")
            return
        request = self.environ.get(eio_sid, {}).get("aiohttp.request")
        self.guard.refuse(request.remote if request else None, reason)
        await self.guard.drop(eio_sid)

    async def _welcome(self, eio_sid: str, namespace: str) -> None:
        """The snapshot, right behind python-socketio's CONNECT answer, which its handler has just
        queued (strict clients drop events that arrive before it), and in the same task: no task
        of our own per connection."""
        handler = self.namespace_handlers.get(namespace)
        if isinstance(handler, LiveNamespace) and self.manager.sid_from_eio_sid(eio_sid, namespace):
            snapshot = handler.snapshot()
            await self.fanout.join(eio_sid, snapshot, handler.snapshot_frame())
            slim_environ(self.environ.get(eio_sid))

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any = None) -> None:
        self.guard.forget(eio_sid)
        self.fanout.leave(eio_sid)
        await super()._handle_eio_disconnect(eio_sid, reason)
        sock = self.eio.sockets.get(eio_sid)
        if sock is not None and reason == self.reason.CLIENT_DISCONNECT:
            # Answer a pending long-poll GET now: the library leaves it hanging until the ping
            # timeout, holding a connection for 20 s after every polling client that leaves.
            sock.queue.put_nowait(None)


ENVIRON_KEPT = ("aiohttp.request",)
"""What a client's WSGI environ keeps once it is connected: the request (a connect check reads
it, and it has all the rest)."""


def slim_environ(environ: dict[str, Any] | None) -> None:
    """python-engineio builds a WSGI environ from every request header (1.5-2.5 KB a client, a
    browser sends more headers) and python-socketio keeps it for the connection's life, to pass
    to a namespace's connect handler. Once the client is connected nothing reads the rest; in
    place, as python-engineio's websocket driver holds the same dict."""
    if environ is not None and len(environ) > len(ENVIRON_KEPT):
        kept = {k: environ[k] for k in ENVIRON_KEPT if k in environ}
        environ.clear()
        environ.update(kept)


class ClientCount:
    """The client count in the log: one INFO line at once for a browser that comes or goes, and
    for a burst (1,000 clients connecting, or leaving when a Wi-Fi access point drops) one line
    per `interval` with the count, written at the end of the interval by one timer. A line per
    connection cost 5 % of a connect, and used up the log's line budget (pi_dashboard/logs.py)
    that a "sensor lost" line needs."""

    def __init__(
        self,
        clients: set[str],
        interval: float = CLIENT_LOG_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clients, self.interval, self.clock = clients, interval, clock
        self.joined = self.left = 0
        """Connections and disconnections since the last line."""
        self._logged = -interval
        self._timer: asyncio.TimerHandle | None = None

    def changed(self, *, joined: bool) -> None:
        if joined:
            self.joined += 1
        else:
            self.left += 1
        if self._timer is not None:
            return  # the line at the end of this interval will count it
        wait = self._logged + self.interval - self.clock()
        if wait <= 0:
            self._write()
        else:
            self._timer = asyncio.get_running_loop().call_later(wait, self._write)

    def _write(self) -> None:
        self._timer = None
        self._logged = self.clock()
        joined, left = self.joined, self.left
        self.joined = self.left = 0
        if joined + left == 1:
            what = "client connected" if joined else "client disconnected"
            log.info("%s (%d open)", what, len(self.clients))
        elif joined + left:
            log.info(
                "%d clients connected and %d disconnected in the last %.0f s (%d open)",
                joined, left, self.interval, len(self.clients),
            )  # fmt: skip

    def close(self) -> None:
        """Write what is counted now (the daemon is stopping): no timer outlives the loop."""
        if self._timer is not None:
            self._timer.cancel()
            self._write()


class LiveNamespace(socketio.AsyncNamespace):
    """The connect check (`gate`) and the client count; LiveServer sends each client its snapshot
    once python-socketio has answered its CONNECT."""

    def __init__(
        self,
        state: State,
        clients: set[str],
        recent: Recent | None = None,
        gate: Gate | None = None,
    ) -> None:
        super().__init__("/")
        self.gate = gate
        self.state = state
        self.clients = clients
        self.recent = recent
        self.count = ClientCount(clients)
        self.snapshots: SnapshotCache | None = None

    def snapshot(self) -> Packets:
        """The `snapshot` event, shared by every client that connects before the next change."""
        if self.snapshots is None:
            self.snapshots = SnapshotCache(self.server, self.state, self.recent)
        return self.snapshots.packets()

    def snapshot_frame(self) -> bytes | None:
        """The websocket frame of the last `snapshot()`."""
        return self.snapshots.frame() if self.snapshots is not None else None

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if self.gate is not None and (why := self.gate.admit_socket(sid, environ, auth)):
            raise socketio.exceptions.ConnectionRefusedError(why)
        self.clients.add(sid)
        self.count.changed(joined=True)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        eio_sid = self.server.manager.eio_sid_from_sid(sid, "/")
        if eio_sid is not None:
            self.server.fanout.leave(eio_sid)
        if self.gate is not None:
            self.gate.socket_gone(sid)
        if sid in self.clients:
            self.clients.discard(sid)
            self.count.changed(joined=False)


def create_sio(cfg: ServerConfig | None = None) -> LiveServer:
    """Same-origin only: the page is served from this very port (see web/hosts.py for Host)."""
    cfg = cfg or ServerConfig()
    hosts = HostAllowList(cfg.allowed_hosts)
    return LiveServer(
        cfg,
        hosts,
        async_mode="aiohttp",
        json=OrjsonCodec,
        # A client's messages are handled in its reader, not in a new task each: clients send
        # only CONNECT and DISCONNECT (web/inbound.py), and nothing we do for them waits.
        async_handlers=False,
        # Our own loggers, so the libraries add no handler of their own: their lines go through
        # the root handler's filters (one line, rate-limited; see pi_dashboard/logs.py).
        logger=logging.getLogger("socketio.server"),
        engineio_logger=logging.getLogger("engineio.server"),
        cors_allowed_origins=lambda origin, environ: hosts.same_origin(
            origin, environ.get("HTTP_HOST")
        ),
        cors_credentials=False,
        max_http_buffer_size=cfg.max_message_bytes,
        # A Pi that drops off Wi-Fi without closing the socket shows "offline" within ~20 s
        # rather than the default ~45 s; one ping per 10 s per browser costs nothing.
        ping_interval=10,
        ping_timeout=10,
    )


async def broadcaster(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: forward every change State publishes to all clients, in order."""
    fanout: Fanout = app[SIO].fanout
    inbox: deque[Reading | NodeState] = deque()
    overflow = Backlog()
    wake = asyncio.Event()

    def send(event: str, data: dict[str, Any]) -> None:
        if fanout.members:
            try:
                if event == "reading":
                    fanout.reading(data)
                else:
                    fanout.node(data)
            except Exception:
                log.exception("emitting a %s failed", event)

    burst = [0.0, 0]
    """[when the current burst began (monotonic s), readings sent at once in it]"""

    def receive(item: Reading | NodeState) -> None:
        if not inbox and not overflow:
            if not fanout.members:
                return  # nobody to send it to (a client that joins gets it in its snapshot)
            now = time.monotonic()
            if now - burst[0] > BURST_S:
                burst[0], burst[1] = now, 0
            burst[1] += 1
            if burst[1] <= BURST:
                # Nothing ahead of it: out now, in the pass of the loop that read it (Fanout
                # never waits), not a pass later from the task, which drains what a burst
                # piles up.
                send("reading" if isinstance(item, Reading) else "node", item.to_json())
                return
        if overflow or len(inbox) >= INBOX:  # once merging, merge until drained: keeps order
            if isinstance(item, Reading):
                overflow.add(item.to_json())
            else:
                overflow.nodes[item.id] = item.to_json()
        else:
            inbox.append(item)
        wake.set()

    unsubscribe = app[STATE].subscribe(receive)
    told: dict[str, float] = {}
    """Per sensor, the newest read clients were told of, by a `reading` or an `alive`."""
    unsubscribe_told = app[STATE].subscribe(lambda r: _told(told, r))
    unsubscribe_nodes = app[STATE].subscribe_nodes(receive)

    async def run() -> None:
        while True:
            await wake.wait()
            wake.clear()
            sent = 0
            while inbox or overflow:
                if inbox:
                    item = inbox.popleft()
                    event = "reading" if isinstance(item, Reading) else "node"
                    batch = [(event, item.to_json())]
                else:
                    batch = overflow.drain_events()
                for event, data in batch:
                    send(event, data)
                sent += 1
                if sent % 64 == 0:
                    await asyncio.sleep(0)  # queueing never waits: let the loop breathe

    behind = asyncio.Event()
    fanout.wake_ticker = behind.set

    async def ticker() -> None:
        """Runs only while some client is behind: an idle daemon has no timer to wake for."""
        while True:
            await behind.wait()
            await asyncio.sleep(TICK_S)
            if not fanout.behind:
                behind.clear()
                continue
            try:
                await fanout.tick()
            except Exception:
                log.exception("looking after slow clients failed")

    tasks = [
        asyncio.create_task(run(), name="broadcaster"),
        asyncio.create_task(ticker(), name="slow-clients"),
        asyncio.create_task(alive(app, told), name="alive"),
    ]
    yield
    unsubscribe()
    unsubscribe_told()
    unsubscribe_nodes()
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _told(told: dict[str, float], reading: Reading) -> None:
    key = sensor_key(reading.node, reading.sensor)
    if reading.status is Status.OK and reading.ts > told.get(key, 0.0):
        told[key] = reading.ts


def alive_payload(state: State, told: dict[str, float]) -> dict[str, object] | None:
    """The sensors read since clients last heard of them, without a change to send: their last
    read time, so a page tells a quiet sensor (inside its deadbands) from a dead one."""
    fresh = {
        sid: s.ts
        for sid, s in state.sensors.items()
        if s.ts is not None and s.status is Status.OK and s.ts > told.get(sid, 0.0)
    }
    if not fresh:
        return None
    told.update(fresh)
    return {"server_time": time.time(), "ts": fresh}


async def alive(app: web.Application, told: dict[str, float]) -> None:
    """Every ALIVE_S while a client is connected (an idle daemon with no browser never wakes)."""
    sio: LiveServer = app[SIO]
    fanout, state = sio.fanout, app[STATE]
    while True:
        await fanout.joined.wait()
        await asyncio.sleep(ALIVE_S)
        if not fanout.members:
            fanout.joined.clear()
            continue
        data = alive_payload(state, told)
        if data is not None:
            try:
                fanout.notice(encode_event(sio, "alive", data))
            except Exception:
                log.exception("sending alive failed")


async def shutdown(app: web.Application) -> None:
    """on_shutdown: tell clients we are going, so browsers show 'offline' at once."""
    sio = app[SIO]
    await sio.shutdown()
    live = sio.namespace_handlers.get("/")
    if isinstance(live, LiveNamespace):
        live.count.close()
