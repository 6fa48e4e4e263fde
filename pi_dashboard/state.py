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
from pi_dashboard.errors import ConfigError
from pi_dashboard.model import ChannelMeta, Reading, Status, Value
from pi_dashboard.thresholds import Thresholds, limits_json

log = logging.getLogger(__name__)

Subscriber = Callable[[Reading], None]


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
    error_since: float | None = None
    dropped: int = 0
    """Readings that came faster than the sensor may publish them, discarded since start."""
    thresholds: Thresholds | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "id": self.id,
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
        t = self.thresholds
        if t is not None and (level := t.level(self.id, c.meta.id)) is not None:
            out["limits"] = limits_json(t.limits[(self.id, c.meta.id)])
            out["level"] = level.value
        return out


class State:
    def __init__(self, config: Config | None = None) -> None:
        """`config` brings each sensor's room and each channel's thresholds."""
        self.sensors: dict[str, SensorState] = {}
        self._subscribers: list[Subscriber] = []
        self.started = time.time()
        self.changes = 0
        """Counts every change a snapshot shows, so the web layer can cache one per change."""
        self.thresholds = Thresholds.from_config(config) if config else Thresholds()
        self._config = config

    def add_sensor(
        self, *, id: str, type: str, name: str, interval: float, channels: Iterable[ChannelMeta]
    ) -> SensorState:
        s = SensorState(id=id, type=type, name=name, interval=interval)
        s.thresholds = self.thresholds
        if self._config is not None:
            s.room = next((c.room for c in self._config.sensors if c.id == id), None)
        self.sensors[id] = s
        self.set_channels(id, channels)
        return s

    def set_channels(self, sensor: str, channels: Iterable[ChannelMeta]) -> None:
        """Channels discovered at setup (1-Wire `auto`): keep values of channels that stay."""
        s = self.sensors[sensor]
        channels = list(channels)
        self._check_binary_limits(sensor, channels)
        self.changes += 1
        s.channels = {c.id: s.channels.get(c.id) or ChannelState(meta=c) for c in channels}
        for c in channels:
            s.channels[c.id].meta = c

    def _check_binary_limits(self, sensor: str, channels: list[ChannelMeta]) -> None:
        for c in channels:
            if c.binary and self.thresholds.level(sensor, c.id) is not None:
                index = next(
                    i for i, s in enumerate(self._config.sensors if self._config else ())
                    if s.id == sensor
                )  # fmt: skip
                raise ConfigError(
                    "an on/off channel has no thresholds",
                    field=f"sensors[{index}].channels.{c.id}",
                    file=self._config.source if self._config else "",
                )

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
            s.status, s.error, s.error_since = Status.OK, None, None
        if values or recovered:
            levels = self.thresholds.evaluate(sensor, ts, values)
            self._emit(
                Reading(sensor=sensor, ts=ts, values=values, status=Status.OK, levels=levels)
            )

    def publish_error(self, sensor: str, ts: float, message: str) -> None:
        """A failed read: one `reading` with status error when it starts or its message changes."""
        s = self.sensors[sensor]
        if s.status is Status.ERROR and s.error == message:
            return
        if s.status is not Status.ERROR:
            s.error_since = ts
        s.status, s.error = Status.ERROR, message
        self._emit(Reading(sensor=sensor, ts=ts, values={}, status=Status.ERROR, error=message))

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
        out = {st.value: 0 for st in Status}
        for s in self.sensors.values():
            out[s.status.value] += 1
        out["total"] = len(self.sensors)
        return out
