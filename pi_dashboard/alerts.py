"""Alerts: a channel past its thresholds, a sensor failing, or a sensor gone silent, once the
condition has held `[alerts] min_duration` (or `error_after`), and until it has been gone as long.

Levels come from the thresholds (`warn_above`, `alarm_below`, ... with hysteresis), evaluated once
on the server (thresholds.py): `run_alerts` subscribes `on_transition` to their level changes,
which calls `on_level(LevelChange)`; anything else that knows levels may call it too. Errors come
from State's readings; silence from a periodic `tick()`.

Each alert is an *episode*: it fires once and clears once. Subscribers (the notifiers) hear
`firing` and `cleared`; nothing is sent during the first `startup_s` after start (the first reads
settle, filters fill): an alert still active when that ends is sent then, once. `/api/alerts`
shows what is active and what cleared recently. Everything runs on the event loop; the clock is
injected so tests step through time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import StrEnum

from pi_dashboard.config import AlertsConfig
from pi_dashboard.model import Reading, Status, Value, sensor_key
from pi_dashboard.state import State
from pi_dashboard.thresholds import HIGH, Transition
from pi_dashboard.thresholds import Level as Threshold

log = logging.getLogger(__name__)

RECENT = 50
"""Cleared alerts kept for /api/alerts."""
SILENT_MIN_S = 60.0


class Level(StrEnum):
    """A channel's level against its thresholds."""

    OK = "ok"
    WARN = "warn"
    ALARM = "alarm"


_SEVERITY = {
    Threshold.OK: Level.OK,
    Threshold.WARN_ABOVE: Level.WARN,
    Threshold.WARN_BELOW: Level.WARN,
    Threshold.ALARM_ABOVE: Level.ALARM,
    Threshold.ALARM_BELOW: Level.ALARM,
}
"""A threshold's level (named after the config key it is past) as an alert's severity."""


class Kind(StrEnum):
    LEVEL = "level"
    ERROR = "error"
    SILENT = "silent"


@dataclass(frozen=True, slots=True, kw_only=True)
class LevelChange:
    """What the thresholds evaluator reports when a channel's level changes (and only then)."""

    sensor: str
    channel: str
    level: Level
    ts: float
    value: Value | None = None
    message: str = ""
    """Says which threshold, e.g. "above 30 °C"; optional."""
    node: str = ""


@dataclass(slots=True, kw_only=True)
class Alert:
    id: str
    node: str
    sensor: str
    channel: str | None
    kind: Kind
    severity: Level
    message: str
    since: float
    """When the condition started (not when it became an alert)."""
    value: Value | None = None
    until: float | None = None
    active: bool = False
    sent: bool = False
    """`firing` went to the subscribers (so `cleared` will too)."""

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "node": self.node,
            "sensor": self.sensor,
            "channel": self.channel,
            "kind": self.kind.value,
            "severity": self.severity.value,
            "message": self.message,
            "since": self.since,
            "until": self.until,
            "active": self.active,
            "value": self.value,
        }


Event = str
""""firing" or "cleared"."""
Listener = Callable[[Event, Alert], None]


@dataclass(slots=True)
class _Condition:
    severity: Level
    message: str
    since: float
    value: Value | None = None
    gone_since: float | None = None


class Alerts:
    def __init__(
        self, cfg: AlertsConfig, state: State, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.cfg = cfg
        self.state = state
        self.clock = clock
        self.started = clock()
        self._conditions: dict[str, _Condition] = {}
        self._alerts: dict[str, Alert] = {}
        self.recent: deque[Alert] = deque(maxlen=RECENT)
        self._listeners: list[Listener] = []
        self._held = True
        """Notifications held back until `startup_s` has passed."""
        self.sent = 0

    def subscribe(self, fn: Listener) -> Callable[[], None]:
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn)

    # --- inputs -------------------------------------------------------------------------------

    def on_level(self, change: LevelChange) -> None:
        """A channel's level changed (from the thresholds)."""
        aid = f"{sensor_key(change.node, change.sensor)}/{change.channel}"
        if change.level is Level.OK:
            self._gone(aid, change.ts)
            return
        what = change.message or f"{change.level.value}: {change.value}"
        self._present(aid, change.level, what, change.ts, change.value)
        self.tick()

    def on_transition(self, t: Transition) -> None:
        """Thresholds subscriber: a channel of State's sensor `t.sensor` changed level."""
        s = self.state.sensors.get(t.sensor)
        unit = ""
        if s is not None and (ch := s.channels.get(t.channel)) is not None and ch.meta.unit:
            unit = f" {ch.meta.unit}"
        message = ""
        if t.limit is not None:
            side = "above" if t.new in HIGH else "below"
            message = f"{t.value:g}{unit}, {side} {t.limit:g}{unit}"
        self.on_level(
            LevelChange(
                sensor=s.id if s is not None else t.sensor, channel=t.channel,
                level=_SEVERITY[t.new], ts=t.ts, value=t.value, message=message,
                node=s.node if s is not None else "",
            )
        )  # fmt: skip

    def on_reading(self, reading: Reading) -> None:
        """State subscriber: a sensor failing (and recovering) is a condition."""
        if reading.status is not Status.ERROR and not self._conditions:
            return  # every good read of every sensor comes here: nothing to end, so no keys built
        aid = f"{sensor_key(reading.node, reading.sensor)}/!error"
        if reading.status is Status.ERROR:
            if self.cfg.error_after > 0:
                self._present(aid, Level.WARN, reading.error or "error", reading.ts)
        else:
            self._gone(aid, reading.ts)
            self._gone(f"{sensor_key(reading.node, reading.sensor)}/!silent", reading.ts)

    def tick(self) -> None:
        """Every second or so: silent sensors, and conditions whose time has come."""
        now = self.clock()
        if self.cfg.silent_after > 0:
            for key, s in self.state.sensors.items():
                quiet_for = SILENT_MIN_S if s.interval <= 0 else s.interval * self.cfg.silent_after
                last = s.ts if s.ts is not None else self.started
                aid = f"{key}/!silent"
                if s.status is not Status.ERROR and now - last > max(quiet_for, SILENT_MIN_S):
                    self._present(aid, Level.WARN, f"no reading for {now - last:.0f} s", last)
                else:
                    self._gone(aid, now)
        for aid, c in list(self._conditions.items()):
            a = self._alerts.get(aid)
            hold = self.cfg.error_after if aid.endswith("/!error") else self.cfg.min_duration
            if c.gone_since is None:
                if a is None and now - c.since >= hold:
                    self._fire(aid, c, now)
                elif a is not None and (c.severity, c.message) != (a.severity, a.message):
                    rose = c.severity is Level.ALARM and a.severity is not Level.ALARM
                    a.severity, a.message, a.value = c.severity, c.message, c.value
                    if rose and a.sent:  # notifiers that wait for alarms hear of it now
                        self._send("firing", a)
            elif now - c.gone_since >= self.cfg.min_duration:
                del self._conditions[aid]
                if a is not None:
                    self._clear(a, c.gone_since)
        if self._held and now - self.started >= self.cfg.startup_s:
            self._held = False
            for a in self._alerts.values():
                if not a.sent:
                    self._send("firing", a)

    # --- episodes -----------------------------------------------------------------------------

    def _present(
        self, aid: str, severity: Level, message: str, ts: float, value: Value | None = None
    ) -> None:
        c = self._conditions.get(aid)
        if c is None:
            self._conditions[aid] = _Condition(severity, message, ts, value)
            return
        c.severity, c.message, c.value, c.gone_since = severity, message, value, None

    def _gone(self, aid: str, ts: float) -> None:
        c = self._conditions.get(aid)
        if c is None:
            return
        if aid not in self._alerts:  # never became an alert: forget it at once
            del self._conditions[aid]
        elif c.gone_since is None:
            c.gone_since = ts

    def _fire(self, aid: str, c: _Condition, now: float) -> None:
        key, _, tail = aid.rpartition("/")
        node, _, sensor = key.rpartition("/")
        kind = {"!error": Kind.ERROR, "!silent": Kind.SILENT}.get(tail, Kind.LEVEL)
        a = Alert(
            id=aid, node=node, sensor=sensor, channel=None if tail.startswith("!") else tail,
            kind=kind, severity=c.severity, message=c.message, since=c.since, value=c.value,
            active=True,
        )  # fmt: skip
        self._alerts[aid] = a
        log.warning("alert: %s %s: %s", sensor_key(node, sensor), a.channel or kind, a.message)
        if not self._held:
            self._send("firing", a)

    def _clear(self, a: Alert, ts: float) -> None:
        del self._alerts[a.id]
        a.active, a.until = False, ts
        self.recent.appendleft(a)
        log.info("alert cleared: %s %s", sensor_key(a.node, a.sensor), a.channel or a.kind)
        if a.sent:
            self._send("cleared", a)

    def _send(self, event: Event, a: Alert) -> None:
        if event == "firing":
            a.sent = True
        self.sent += 1
        for fn in self._listeners:
            try:
                fn(event, a)
            except Exception:
                log.exception("alert listener %r failed", fn)

    # --- outputs ------------------------------------------------------------------------------

    def active(self) -> list[Alert]:
        return list(self._alerts.values())

    def to_json(self) -> dict[str, object]:
        return {
            "active": [a.to_json() for a in self._alerts.values()],
            "recent": [a.to_json() for a in self.recent],
        }

    def counts(self) -> dict[str, int]:
        out = {"active": len(self._alerts), "warn": 0, "alarm": 0}
        for a in self._alerts.values():
            out[a.severity.value] += 1
        return out


TICK_S = 5.0
"""How often silence and durations are looked at: a few seconds late is fine for an alert."""


async def run_alerts(alerts: Alerts) -> AsyncIterator[None]:
    """The body of app.py's cleanup_ctx: State's readings and threshold levels in, a tick every
    TICK_S."""
    unsubscribe = alerts.state.subscribe(alerts.on_reading)
    unsubscribe_levels = alerts.state.thresholds.subscribe(alerts.on_transition)

    async def ticker() -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                alerts.tick()
            except Exception:
                log.exception("alerts: tick failed")

    task = asyncio.create_task(ticker(), name="alerts")
    yield
    unsubscribe()
    unsubscribe_levels()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
