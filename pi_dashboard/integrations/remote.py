"""Other nodes' sensors, from their messages on the broker, into this daemon's State (so the page,
/api/sensors, /metrics and alerts see them) and history (kept here as it arrives).

Everything a message says is checked before it is believed: ids must be ids, values numbers or
booleans, and the numbers of nodes (`[mqtt] max_nodes`), sensors per node and channels per sensor
are capped, so a misbehaving publisher on the broker cannot grow this daemon without bound.

A node is online while its `$status` says so; when it goes offline (its last will, sent by the
broker once the node is gone for 1.5 keepalives, or at once when its connection drops), each of its
sensors turns to `error` ("node ... is offline") with its last values kept, as a failing local
sensor does.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from pi_dashboard.config import ID_RE, NODE_RE
from pi_dashboard.integrations.topics import META, OFFLINE, ONLINE, STATUS, Topics
from pi_dashboard.model import ChannelMeta, DeviceClass, StateClass, Status, Value, sensor_key
from pi_dashboard.state import NodeState, State

log = logging.getLogger(__name__)

MAX_CHANNELS = 64
MAX_TEXT = 200
Record = Callable[[str, float, Mapping[str, Value] | None], None]
"""history.record: (sensor key, epoch s, values or None for a gap)."""

_KINDS = {k.value for k in DeviceClass}
_STATE_CLASSES = {k.value for k in StateClass}


class BadMessage(ValueError):
    """A message that does not say what a pi-dashboard node says: ignored, counted."""


def _text(v: object, default: str = "") -> str:
    return v[:MAX_TEXT] if isinstance(v, str) else default


def _number(v: object) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _json_object(payload: bytes, key: str, kind: type) -> dict[str, Any]:
    """A JSON object whose `key` holds a `kind`, or BadMessage."""
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError as e:
        raise BadMessage(f"not JSON: {e}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get(key), kind):
        raise BadMessage(f"no {key}")
    return obj


def parse_channel(raw: object) -> ChannelMeta:
    if not isinstance(raw, dict):
        raise BadMessage("a channel is not an object")
    cid = raw.get("id")
    if not isinstance(cid, str) or not ID_RE.match(cid.lower()) or "/" in cid:
        raise BadMessage(f"bad channel id {cid!r}")
    kind = raw.get("kind")
    state_class = raw.get("state_class")
    precision = raw.get("precision")
    return ChannelMeta(
        id=cid,
        name=_text(raw.get("name"), cid) or cid,
        unit=_text(raw.get("unit")) or None,
        device_class=DeviceClass(kind) if kind in _KINDS else DeviceClass.NONE,
        state_class=StateClass(state_class) if state_class in _STATE_CLASSES else None,
        precision=precision if isinstance(precision, int) and 0 <= precision <= 6 else 1,
        binary=raw.get("binary") is True,
    )


class RemoteNodes:
    """`handle(topic, payload, retained)` for every message of the followed nodes."""

    def __init__(
        self,
        state: State,
        topics: Topics,
        *,
        max_nodes: int,
        max_sensors: int,
        record: Record | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self.topics = topics
        self.max_nodes = max_nodes
        self.max_sensors = max_sensors
        self.record = record
        self.clock = clock
        self.sensors: dict[str, dict[str, Any]] = {}
        """node -> sensor id -> its latest state message (kept until its meta arrives)."""
        self.recorded: dict[str, float] = {}
        """sensor key -> ts of the last sample handed to history."""
        self.ignored = 0
        self._refused_nodes: set[str] = set()

    def handle(self, topic: str, payload: bytes, retained: bool) -> None:
        parsed = self.topics.parse(topic)
        if parsed is None:
            return
        node, leaf = parsed
        if node == self.topics.node or not NODE_RE.match(node):
            return
        try:
            if node not in self.state.nodes and not self._admit(node):
                return
            if leaf == STATUS:
                self._status(node, payload)
            elif leaf == META:
                self._meta(node, payload)
            elif not leaf.startswith("$"):
                self._sensor(node, leaf, payload)
        except BadMessage as e:
            self.ignored += 1
            log.debug("mqtt: ignored a message on %s: %s", topic, e)

    def _admit(self, node: str) -> bool:
        if len(self.state.nodes) < self.max_nodes:
            self.state.set_node(NodeState(id=node))
            return True
        if node not in self._refused_nodes and len(self._refused_nodes) < 1000:
            self._refused_nodes.add(node)
            log.warning(
                "mqtt: not showing node %s: already %d nodes ([mqtt] max_nodes)",
                node,
                self.max_nodes,
            )
        return False

    def _status(self, node: str, payload: bytes) -> None:
        text = payload.decode(errors="replace").strip()
        if text not in (ONLINE, OFFLINE):
            raise BadMessage(f"status {text[:20]!r}")
        n = self.state.nodes[node]
        online = text == ONLINE
        if n.online == online and n.since is not None:
            return
        log.info("node %s is %s", node, text)
        self.state.set_node(
            NodeState(
                id=n.id, name=n.name, online=online, since=self.clock(), url=n.url,
                version=n.version,
            )
        )  # fmt: skip
        for sid in list(self.sensors.get(node, {})):
            self._apply(node, sid)

    def _meta(self, node: str, payload: bytes) -> None:
        if not payload:  # cleared: the node is gone for good
            for key in [k for k, s in self.state.sensors.items() if s.node == node]:
                self.state.remove_sensor(key)
            return
        meta = _json_object(payload, "sensors", list)
        wanted: dict[str, tuple[str, str, float, list[ChannelMeta]]] = {}
        for raw in meta["sensors"][: self.max_sensors]:
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                raise BadMessage("a sensor is not an object with an id")
            sid = raw["id"]
            if not ID_RE.match(sid):
                raise BadMessage(f"bad sensor id {sid[:70]!r}")
            channels = raw.get("channels")
            if not isinstance(channels, list):
                raise BadMessage(f"sensor {sid} has no channels")
            interval = _number(raw.get("interval")) or 10.0
            wanted[sid] = (
                _text(raw.get("type"), "remote"),
                _text(raw.get("name"), sid) or sid,
                max(interval, 0.1),
                [parse_channel(c) for c in channels[:MAX_CHANNELS]],
            )
        n = self.state.nodes[node]
        self.state.set_node(
            NodeState(
                id=node, name=_text(meta.get("name"), node), online=n.online, since=n.since,
                url=_text(meta.get("url")) or None, version=_text(meta.get("version")) or None,
            )
        )  # fmt: skip
        have = {s.id: k for k, s in self.state.sensors.items() if s.node == node}
        for sid, key in have.items():
            if sid not in wanted:
                self.state.remove_sensor(key)
        for sid, (type_, name, interval, channels) in wanted.items():
            key = sensor_key(node, sid)
            s = self.state.sensors.get(key)
            if s is None or (s.type, s.name, s.interval) != (type_, name, interval):
                self.state.add_sensor(
                    id=sid, type=type_, name=name, interval=interval, channels=channels, node=node
                )
            elif [c.meta for c in s.channels.values()] != channels:
                self.state.set_channels(key, channels)
            self._apply(node, sid)

    def _sensor(self, node: str, sid: str, payload: bytes) -> None:
        if not ID_RE.match(sid):
            raise BadMessage(f"bad sensor id {sid[:70]!r}")
        known = self.sensors.setdefault(node, {})
        if not payload:  # cleared retained state: a removed sensor
            known.pop(sid, None)
            return
        msg = _json_object(payload, "values", dict)
        if sid not in known and len(known) >= self.max_sensors:
            raise BadMessage(f"more than {self.max_sensors} sensors")
        known[sid] = msg
        self._apply(node, sid)

    def _apply(self, node: str, sid: str) -> None:
        """The sensor's latest state message into State (and history), once its channels are
        known; a node that is offline shows its sensors' last values as failing."""
        key = sensor_key(node, sid)
        s = self.state.sensors.get(key)
        msg = self.sensors.get(node, {}).get(sid)
        if s is None or msg is None:
            return
        ts = _number(msg.get("ts"))
        now = self.clock()
        status = msg.get("status")
        values: dict[str, Value] = {}
        for cid, raw in msg["values"].items():
            ch = s.channels.get(cid)
            if ch is None or raw is None:
                continue
            if ch.meta.binary:
                if isinstance(raw, bool):
                    values[cid] = raw
            elif (v := _number(raw)) is not None:
                values[cid] = v
        if ts is not None and values:
            changed = {c: v for c, v in values.items() if s.channels[c].value != v}
            if s.status is not Status.OK:  # a recovery carries every channel (protocol.md)
                self.state.publish_values(key, ts, values)
            elif changed or ts != s.ts:
                self.state.publish_values(key, ts, changed)
            if self.record is not None and ts > self.recorded.get(key, 0.0):
                self.recorded[key] = ts
                self.record(key, ts, values)
        online = self.state.nodes[node].online
        if not online:
            self.state.publish_error(key, now, f"node {node} is offline")
        elif status == Status.ERROR.value:
            error = _text(msg.get("error"), "error") or "error"
            self.state.publish_error(key, ts or now, error)
            if self.record is not None and (ts or now) > self.recorded.get(key, 0.0):
                self.recorded[key] = ts or now
                self.record(key, ts or now, None)
