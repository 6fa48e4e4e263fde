"""This daemon on an MQTT broker (aiomqtt, paho-mqtt underneath): its readings out, retained, with
an availability topic and a last will; Home Assistant discovery; other nodes' messages in.

A broker that is down or slow never delays anything else: State's subscriber only appends to a
bounded queue (`[mqtt] max_queue` readings; past that the oldest are dropped and counted), and
while the link is down nothing is queued at all. What happened meanwhile is not replayed as if
it were live: on every (re)connect the *current* state of every sensor is published, retained,
and the queue starts from there. Reconnects back off from 1 s to `reconnect_max_s`.

Topics are in topics.py, payloads in docs/integrations.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import ssl
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from pi_dashboard import PROTOCOL_VERSION
from pi_dashboard.config import MqttConfig
from pi_dashboard.errors import ConfigError
from pi_dashboard.integrations import discovery
from pi_dashboard.integrations.topics import OFFLINE, ONLINE, Topics
from pi_dashboard.model import Reading, Status, Value
from pi_dashboard.state import SensorState, State

if TYPE_CHECKING:  # aiomqtt (and paho) load only when [mqtt] is configured
    import aiomqtt

log = logging.getLogger(__name__)

SYNC_TIMEOUT_S = 5.0
"""How long to wait for the broker's retained messages of this node at connect (cleanup)."""
STOP_TIMEOUT_S = 1.0
"""The clean goodbye ("offline", then DISCONNECT) gets this long; else the last will says it."""

Incoming = Callable[[str, bytes, bool], None]
"""(topic, payload, retained): another node's message, for remote.py."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeInfo:
    """What this daemon says about itself: in `$meta`, and as Home Assistant's device."""

    node: str
    name: str
    model: str
    version: str
    url: str | None


def format_value(value: Value, precision: int) -> str:
    """A channel topic's payload: ON/OFF (binary_sensor's defaults), or the number as shown."""
    if isinstance(value, bool):
        return discovery.ON if value else discovery.OFF
    return f"{value:.{max(precision, 0)}f}" if math.isfinite(value) else "nan"


def sensor_state(s: SensorState) -> dict[str, object]:
    """The JSON of `<prefix>/<node>/<sensor>`: enough for another node to show it."""
    out: dict[str, object] = {
        "status": s.status.value,
        "ts": s.ts,
        "values": {cid: ch.value for cid, ch in s.channels.items()},
    }
    if s.error is not None:
        out["error"] = s.error
    return out


def node_meta(info: NodeInfo, state: State) -> dict[str, object]:
    """The JSON of `<prefix>/<node>/$meta`: this node and its sensors' channels."""
    return {
        "protocol": PROTOCOL_VERSION,
        "node": info.node,
        "name": info.name,
        "model": info.model,
        "version": info.version,
        "url": info.url,
        "sensors": [
            {
                "id": s.id,
                "type": s.type,
                "name": s.name,
                "interval": s.interval,
                "channels": [c.meta.to_json() for c in s.channels.values()],
            }
            for s in state.sensors.values()
            if not s.node
        ],
    }


def read_password(cfg: MqttConfig) -> str | None:
    if cfg.password_file is None:
        return cfg.password
    try:
        return Path(cfg.password_file).read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read it: {e}", field="mqtt.password_file") from None


def tls_context(cfg: MqttConfig) -> ssl.SSLContext | None:
    """`[mqtt.tls]` as an SSLContext; its files are checked at start (a config error)."""
    if cfg.tls is None:
        return None
    try:
        ctx = ssl.create_default_context(cafile=cfg.tls.ca_file)
        if cfg.tls.cert_file and cfg.tls.key_file:
            ctx.load_cert_chain(cfg.tls.cert_file, cfg.tls.key_file)
    except (OSError, ssl.SSLError) as e:
        raise ConfigError(f"cannot load: {e}", field="mqtt.tls") from None
    if cfg.tls.insecure:
        ctx.check_hostname = False
    return ctx


class MqttLink:
    """One connection per daemon: `run()` as a task until cancelled; `receive` subscribes to
    State. Counters are read by /metrics and /api/health."""

    def __init__(
        self,
        cfg: MqttConfig,
        state: State,
        info: NodeInfo,
        *,
        incoming: Incoming | None = None,
        on_connect: Callable[[], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.state = state
        self.info = info
        self.topics = Topics(cfg.prefix, info.node)
        self.incoming = incoming
        self.on_connect = on_connect
        self.password = read_password(cfg)
        self.tls = tls_context(cfg)
        self.queue: deque[Reading] = deque()
        self.wake = asyncio.Event()
        self.connected = False
        self.published = 0
        self.dropped = 0
        self.connects = 0
        self.received = 0
        self._client: aiomqtt.Client | None = None
        self._sync: tuple[str, set[str], asyncio.Event] | None = None
        self._meta_channels: dict[str, frozenset[str]] = {}
        self._discovered: dict[str, bytes] = {}

    # --- State's side: never blocks, bounded -----------------------------------------------

    def receive(self, reading: Reading) -> None:
        if reading.node or not self.connected or not self.cfg.publish:
            return  # others' readings are theirs to publish; offline: the reconnect catches up
        if len(self.queue) >= self.cfg.max_queue:
            self.queue.popleft()
            if not self.dropped:
                log.warning(
                    "mqtt: the broker is not keeping up; dropping the oldest readings "
                    "(more than %d waiting)",
                    self.cfg.max_queue,
                )
            self.dropped += 1
        self.queue.append(reading)
        self.wake.set()

    # --- the connection ----------------------------------------------------------------------

    def _client_for(self) -> aiomqtt.Client:
        import aiomqtt

        port = self.cfg.port or (8883 if self.tls is not None else 1883)
        return aiomqtt.Client(
            self.cfg.host,
            port,
            username=self.cfg.username,
            password=self.password,
            identifier=self.cfg.client_id or f"pi-dashboard-{self.info.node}",
            will=aiomqtt.Will(self.topics.status(), OFFLINE, qos=1, retain=True),
            keepalive=self.cfg.keepalive,
            tls_context=self.tls,
            tls_insecure=bool(self.cfg.tls and self.cfg.tls.insecure) or None,
            timeout=10,
            max_queued_incoming_messages=10_000,
            logger=logging.getLogger("pi_dashboard.integrations.paho"),
        )

    async def run(self) -> None:
        """Connect, publish, reconnect with backoff: forever, until cancelled."""
        import aiomqtt

        backoff = 1.0
        failing = False
        where = f"{self.cfg.host}:{self.cfg.port or (8883 if self.tls else 1883)}"
        while True:
            try:
                async with self._client_for() as client:
                    self._client = client
                    backoff = 1.0
                    self.connects += 1
                    log.info("mqtt: connected to %s as node %s", where, self.info.node)
                    failing = False
                    receiver = asyncio.create_task(self._receive_loop(client), name="mqtt-in")
                    try:
                        await self._announce(client)
                        self.connected = True
                        if self.on_connect is not None:
                            self.on_connect()
                        await self._send_loop(client)
                    finally:
                        self.connected = False
                        self.queue.clear()
                        receiver.cancel()
                        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                            await receiver
            except aiomqtt.MqttError as e:
                if not failing:
                    log.warning("mqtt: no connection to %s (%s); retrying", where, e)
                    failing = True
            finally:
                self._client = None
                self.connected = False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.cfg.reconnect_max_s)

    async def goodbye(self) -> None:
        """A clean stop says "offline" itself (the broker sends the will only on a lost link)."""
        client = self._client
        if client is None or not self.connected:
            return
        self.connected = False
        with contextlib.suppress(Exception):
            await client.publish(self.topics.status(), OFFLINE, qos=1, retain=True, timeout=0.5)

    async def _announce(self, client: aiomqtt.Client) -> None:
        """Clear what this node published before and no longer has, then publish everything."""
        retained = await self._retained_of_this_node(client)
        wanted: dict[str, bytes | str] = {
            self.topics.status(): ONLINE,
            self.topics.meta(): orjson.dumps(node_meta(self.info, self.state)),
        }
        self._meta_channels = self._channels_now()
        self._discovered = self._discovery()
        wanted.update(self._discovered)
        if self.cfg.publish:
            for s in self.state.sensors.values():
                if not s.node:
                    wanted.update(self._sensor_messages(s, None))
        for topic in sorted(retained - set(wanted)):
            await client.publish(topic, b"", qos=1, retain=True)  # removed: cleared
        for topic, payload in wanted.items():
            await client.publish(topic, payload, qos=1 if "$" in topic else 0, retain=True)
            self.published += 1
        if self.incoming is not None and self.cfg.follow:
            for flt in self.topics.follow_filters(self.cfg.follow):
                await client.subscribe(flt, qos=1)

    async def _retained_of_this_node(self, client: aiomqtt.Client) -> set[str]:
        """Every retained topic this node has on the broker. The broker sends retained messages
        in answer to SUBSCRIBE, in order, so once our own marker comes back they are all in."""
        filters = [f"{self.topics.base()}/+", f"{self.topics.base()}/+/+"]
        if self.cfg.discovery:
            filters.append(discovery.cleanup_filter(self.cfg.discovery_prefix, self.info.node))
        marker = f"{self.topics.base()}/$sync"
        token = secrets.token_hex(8)
        found: set[str] = set()
        done = asyncio.Event()
        self._sync = (token, found, done)
        try:
            for flt in [*filters, marker]:
                await client.subscribe(flt, qos=1)
            await client.publish(marker, token, qos=1)
            try:
                async with asyncio.timeout(SYNC_TIMEOUT_S):
                    await done.wait()
            except TimeoutError:
                log.warning("mqtt: the broker did not echo our marker; no cleanup this time")
            for flt in [*filters, marker]:
                await client.unsubscribe(flt)
        finally:
            self._sync = None
        found.discard(self.topics.status())
        found.discard(marker)
        return found

    async def _receive_loop(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            topic = message.topic.value
            payload = message.payload if isinstance(message.payload, bytes) else b""
            sync = self._sync
            if sync is not None:
                token, found, done = sync
                if topic.endswith("/$sync") and payload == token.encode():
                    done.set()
                    continue
                if message.retain and payload and self._own(topic):
                    found.add(topic)
                    continue
            if self.incoming is None or len(payload) > self.cfg.max_message_bytes:
                continue
            self.received += 1
            try:
                self.incoming(topic, payload, bool(message.retain))
            except Exception:
                log.exception("mqtt: handling a message on %s failed", topic)

    def _own(self, topic: str) -> bool:
        base = self.topics.base() + "/"
        return topic.startswith(base) or (
            self.cfg.discovery and f"/pi-dashboard_{self.info.node}/" in topic
        )

    async def _send_loop(self, client: aiomqtt.Client) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.queue:
                reading = self.queue.popleft()
                s = self.state.sensors.get(reading.sensor)
                if s is None:
                    continue
                if reading.values.keys() - self._meta_channels.get(s.id, frozenset()):
                    await self._channels_changed(client)  # channels found at setup
                for topic, payload in self._sensor_messages(s, reading).items():
                    await client.publish(topic, payload, qos=0, retain=True)
                    self.published += 1

    def _discovery(self) -> dict[str, bytes]:
        if not self.cfg.discovery:
            return {}
        device = discovery.Device(
            node=self.info.node,
            name=self.info.name,
            model=self.info.model,
            sw_version=self.info.version,
            url=self.info.url,
        )
        found = discovery.configs(
            self.cfg.discovery_prefix, self.topics, device, self.state.sensors.values()
        )
        return {t: orjson.dumps(p) for t, p in found.items()}

    async def _channels_changed(self, client: aiomqtt.Client) -> None:
        """A sensor found its channels at setup (1-Wire `auto`): new meta and discovery."""
        self._meta_channels = self._channels_now()
        meta = orjson.dumps(node_meta(self.info, self.state))
        await client.publish(self.topics.meta(), meta, qos=1, retain=True)
        found = self._discovery()
        for topic in self._discovered.keys() - found.keys():
            await client.publish(topic, b"", qos=1, retain=True)
        for topic, payload in found.items():
            if self._discovered.get(topic) != payload:
                await client.publish(topic, payload, qos=1, retain=True)
        self._discovered = found

    def _channels_now(self) -> dict[str, frozenset[str]]:
        return {s.id: frozenset(s.channels) for s in self.state.sensors.values() if not s.node}

    def _sensor_messages(self, s: SensorState, reading: Reading | None) -> dict[str, bytes | str]:
        """The sensor's state topic, and the channels `reading` changed (all, at connect)."""
        out: dict[str, bytes | str] = {self.topics.sensor(s.id): orjson.dumps(sensor_state(s))}
        if not self.cfg.channel_topics:
            return out
        if reading is not None and reading.status is not Status.OK:
            return out
        values = reading.values if reading is not None else {
            cid: ch.value for cid, ch in s.channels.items() if ch.value is not None
        }  # fmt: skip
        for cid, v in values.items():
            ch = s.channels.get(cid)
            if ch is not None and v is not None:
                out[self.topics.channel(s.id, cid)] = format_value(v, ch.meta.precision)
        return out

    async def publish(self, topic: str, payload: bytes) -> None:
        """One message outside the readings (an alert notification); raises when offline."""
        client = self._client
        if client is None or not self.connected:
            raise ConnectionError("not connected to the broker")
        await client.publish(topic, payload, qos=1)

    def stats(self) -> dict[str, object]:
        return {
            "connected": self.connected,
            "node": self.info.node,
            "published": self.published,
            "received": self.received,
            "dropped": self.dropped,
            "connects": self.connects,
        }


async def run_link(link: MqttLink, state: State) -> AsyncIterator[None]:
    """The body of app.py's cleanup_ctx: subscribe, run, and on the way out say goodbye."""
    unsubscribe = state.subscribe(link.receive)
    task = asyncio.create_task(link.run(), name="mqtt")
    yield
    unsubscribe()
    with contextlib.suppress(Exception):
        async with asyncio.timeout(STOP_TIMEOUT_S):
            await link.goodbye()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait((task,), timeout=STOP_TIMEOUT_S)
