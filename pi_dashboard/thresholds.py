"""Per-channel thresholds with hysteresis, evaluated once on the server for every published value.

The level travels with the value (snapshot and `reading`, docs/protocol.md), so the page, and
any other client, shows it without re-deriving it. Alerts subscribe to level transitions
(`Thresholds.subscribe`) and add their own minimum duration and notifiers on top.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from pi_dashboard.config import LIMITS, ChannelConfig, Config
from pi_dashboard.model import Value

log = logging.getLogger(__name__)


class Level(StrEnum):
    """Named after the config key whose threshold the value is past."""

    OK = "ok"
    WARN_ABOVE = "warn_above"
    WARN_BELOW = "warn_below"
    ALARM_ABOVE = "alarm_above"
    ALARM_BELOW = "alarm_below"


HIGH = (Level.ALARM_ABOVE, Level.WARN_ABOVE)
LOW = (Level.ALARM_BELOW, Level.WARN_BELOW)


def has_limits(ch: ChannelConfig) -> bool:
    return any(getattr(ch, name) is not None for name in LIMITS)


def limits_json(ch: ChannelConfig) -> dict[str, float]:
    """The thresholds that are set, for the page's chart bands."""
    out = {name: v for name in LIMITS if (v := getattr(ch, name)) is not None}
    if out and ch.hysteresis:
        out["hysteresis"] = ch.hysteresis
    return out


def next_level(ch: ChannelConfig, value: float, current: Level) -> Level:
    """The level of `value`, given the level the channel is at now.

    A level is entered past its threshold and left only `hysteresis` back inside it, so a value
    hovering at a threshold does not flap. The more severe level wins."""
    h = ch.hysteresis
    for level in HIGH:
        limit = getattr(ch, level.value)
        held = current in HIGH[: HIGH.index(level) + 1]  # at this level or a more severe one
        if limit is not None and (value > limit or (held and value > limit - h)):
            return level
    for level in LOW:
        limit = getattr(ch, level.value)
        held = current in LOW[: LOW.index(level) + 1]
        if limit is not None and (value < limit or (held and value < limit + h)):
            return level
    return Level.OK


@dataclass(frozen=True, slots=True, kw_only=True)
class Transition:
    """A channel changed level: what alerts (minimum duration, notifiers) are built on."""

    sensor: str
    channel: str
    ts: float
    """When the value that moved it was read (epoch s)."""
    value: float
    old: Level
    new: Level
    limit: float | None = None
    """The threshold `new` is past (None when `new` is OK)."""


Listener = Callable[[Transition], None]


class Thresholds:
    """The configured limits and each channel's current level. Only the event loop calls it
    (through State), so it needs no lock."""

    def __init__(self, limits: Mapping[tuple[str, str], ChannelConfig] | None = None) -> None:
        self.limits = {key: ch for key, ch in (limits or {}).items() if has_limits(ch)}
        self.levels: dict[tuple[str, str], Level] = dict.fromkeys(self.limits, Level.OK)
        self._listeners: list[Listener] = []

    @classmethod
    def from_config(cls, config: Config) -> Thresholds:
        return cls({(s.id, cid): ch for s in config.sensors for cid, ch in s.channels.items()})

    def level(self, sensor: str, channel: str) -> Level | None:
        """None for a channel without thresholds."""
        return self.levels.get((sensor, channel))

    def subscribe(self, fn: Listener) -> Callable[[], None]:
        """`fn(transition)` on every level change, on the event loop; returns the unsubscriber."""
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn)

    def evaluate(self, sensor: str, ts: float, values: Mapping[str, Value]) -> dict[str, str]:
        """The level of each channel in `values` that has thresholds (binary values have none)."""
        out: dict[str, str] = {}
        if not self.limits:  # no thresholds configured: every read of every sensor comes here
            return out
        for cid, v in values.items():
            key = (sensor, cid)
            ch = self.limits.get(key)
            if ch is None or isinstance(v, bool):
                continue
            old = self.levels[key]
            new = next_level(ch, v, old)
            out[cid] = new.value
            if new is not old:
                self.levels[key] = new
                limit = None if new is Level.OK else getattr(ch, new.value)
                self._notify(
                    Transition(
                        sensor=sensor, channel=cid, ts=ts, value=v, old=old, new=new, limit=limit
                    )
                )
        return out

    def _notify(self, t: Transition) -> None:
        for fn in self._listeners:
            try:
                fn(t)
            except Exception:
                log.exception("threshold listener %r failed", fn)
