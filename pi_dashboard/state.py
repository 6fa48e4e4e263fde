"""Latest value per channel, with timestamps and status, and fan-out of changes to subscribers.

Only the event loop touches State: polling applies readings here, the web layer reads snapshots and
subscribes to changes. Nothing here blocks or awaits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pi_dashboard.config import Config
from pi_dashboard.model import ChannelMeta, Reading, Status, Value, sensor_key
from pi_dashboard.thresholds import Thresholds, limits_json

log = logging.getLogger(__name__)

Subscriber = Callable[[Reading], None]


@dataclass(slots=True, kw_only=True)
class NodeState:
    """Another daemon whose sensors this one shows (integrations/remote.py keeps it)."""

    id: str
    name: str = ""
    online: bool = False
    since: float | None = None
    """When `online` last changed (epoch s)."""
    url: str | None = None
    version: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name or self.id,
            "online": self.online,
            "since": self.since,
            "url": self.url,
            "version": self.version,
        }


NodeSubscriber = Callable[[NodeState], None]


@dataclass(slots=True, kw_only=True)
class ChannelState:
    meta: ChannelMeta
    value: Value | None = None
    ts: float | None = None


@dataclass(slots=True, kw_only=True)
class SensorState:
    id: str
    type: str
    name: str
    interval: float
    room: str | None = None
    channels: dict[str, ChannelState] = field(default_factory=dict)
    status: Status = Status.PENDING
    error: str | None = None
    ts: float | None = None
    """When the hardware was last read successfully (epoch s)."""
    node: str = ""
    """"" for this daemon's own sensors, else the node that reads it."""
    dropped: int = 0
    """Readings that came faster than the sensor may publish them, discarded since start."""
    thresholds: Thresholds | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "id": self.id,
            "node": self.node,
            "type": self.type,
            "name": self.name,
            "room": self.room,
            "interval": self.interval,
            "status": self.status.value,
            "ts": self.ts,
            "dropped": self.dropped,
            "channels": [self._channel_json(c) for c in self.channels.values()],
        }
        if self.error is not None:
            out["error"] = self.error
        return out

    def _channel_json(self, c: ChannelState) -> dict[str, object]:
        out = {**c.meta.to_json(), "value": c.value, "ts": c.ts, "status": self.status.value}
        t, key = self.thresholds, sensor_key(self.node, self.id)
        if t is not None and (level := t.level(key, c.meta.id)) is not None:
            out["limits"] = limits_json(t.limits[(key, c.meta.id)])
            out["level"] = level.value
        return out


class State:
    def __init__(self, config: Config | None = None) -> None:
        """`config` brings each sensor's room and each channel's thresholds."""
        self.sensors: dict[str, SensorState] = {}
        self._subscribers: list[Subscriber] = []
        self.nodes: dict[str, NodeState] = {}
        """Other nodes whose sensors are shown here, by id."""
        self._node_subscribers: list[NodeSubscriber] = []
        self.started = time.time()
        self.changes = 0
        """Counts every change a snapshot shows, so the web layer can cache one per change."""
        self.thresholds = Thresholds.from_config(config) if config else Thresholds()
        self._config = config

    def add_sensor(
        self,
        *,
        id: str,
        type: str,
        name: str,
        interval: float,
        channels: Iterable[ChannelMeta],
        node: str = "",
    ) -> SensorState:
        """Keyed `sensor_key(node, id)`: the key the publish methods take. Rooms and thresholds
        are this daemon's own sensors' (from its config)."""
        s = SensorState(id=id, type=type, name=name, interval=interval, node=node)
        s.thresholds = self.thresholds
        if self._config is not None and not node:
            s.room = next((c.room for c in self._config.sensors if c.id == id), None)
        s.channels = {c.id: ChannelState(meta=c) for c in channels}
        self.sensors[sensor_key(node, id)] = s
        self.changes += 1
        return s

    def remove_sensor(self, key: str) -> None:
        """Another node's sensor that is gone (its node no longer has it)."""
        if self.sensors.pop(key, None) is not None:
            self.changes += 1

    def set_node(self, node: NodeState) -> None:
        """Add or update another node; subscribers hear of every change."""
        self.nodes[node.id] = node
        self.changes += 1
        for fn in self._node_subscribers:
            try:
                fn(node)
            except Exception:
                log.exception("node subscriber %r failed", fn)

    def subscribe_nodes(self, fn: NodeSubscriber) -> Callable[[], None]:
        self._node_subscribers.append(fn)
        return lambda: self._node_subscribers.remove(fn)

    def set_channels(self, sensor: str, channels: Iterable[ChannelMeta]) -> None:
        """Channels discovered at setup (1-Wire `auto`): keep values of channels that stay."""
        s = self.sensors[sensor]
        channels = list(channels)
        self.changes += 1
        s.channels = {c.id: s.channels.get(c.id) or ChannelState(meta=c) for c in channels}
        for c in channels:
            s.channels[c.id].meta = c

    def set_dropped(self, sensor: str, count: int) -> None:
        """Diagnostics only: no `reading` is sent for it (it shows in snapshots and the API)."""
        self.sensors[sensor].dropped = count

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn)

    def publish_values(self, sensor: str, ts: float, values: dict[str, Value]) -> None:
        """A good read whose `values` passed their gates (possibly none of them)."""
        s = self.sensors[sensor]
        s.ts = ts
        recovered = s.status is not Status.OK
        for cid, v in values.items():
            ch = s.channels.get(cid)
            if ch is not None:
                ch.value, ch.ts = v, ts
        if recovered:
            if s.status is Status.ERROR:
                log.info("sensor %s recovered", sensor)
            s.status, s.error = Status.OK, None
        if values or recovered:
            levels = self.thresholds.evaluate(sensor, ts, values)
            self._emit(
                Reading(
                    sensor=s.id, ts=ts, values=values, status=Status.OK, levels=levels, node=s.node
                )
            )

    def publish_error(self, sensor: str, ts: float, message: str) -> None:
        """A failed read: one `reading` with status error when it starts or its message changes."""
        s = self.sensors[sensor]
        if s.status is Status.ERROR and s.error == message:
            return
        s.status, s.error = Status.ERROR, message
        self._emit(
            Reading(sensor=s.id, ts=ts, values={}, status=Status.ERROR, error=message, node=s.node)
        )

    def _emit(self, reading: Reading) -> None:
        self.changes += 1
        for fn in self._subscribers:
            try:
                fn(reading)
            except Exception:
                log.exception("subscriber %r failed", fn)

    def snapshot(self) -> list[dict[str, object]]:
        return [s.to_json() for s in self.sensors.values()]

    def counts(self) -> dict[str, int]:
        """This daemon's own sensors by status (other nodes' are theirs to count)."""
        out = {st.value: 0 for st in Status}
        own = [s for s in self.sensors.values() if not s.node]
        for s in own:
            out[s.status.value] += 1
        out["total"] = len(own)
        return out
