"""Per-channel processing, named and behaving as ESPHome's filters so their users feel at home.

A channel's pipeline: calibration (`scale`, `offset`) -> unit conversion -> value filters (moving
average, median, EMA: value in, value or nothing out) -> the publication gate (`deadband`,
`throttle`, `heartbeat`), which decides whether the value goes out to browsers. Everything takes
`now` from the caller (a monotonic clock), so tests drive time instead of sleeping.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import assert_never

from pi_dashboard.config import (
    ClampConfig,
    EmaConfig,
    FilterConfig,
    MedianConfig,
    SlidingWindowConfig,
    WindowConfig,
)
from pi_dashboard.model import Value

# --- value filters ---------------------------------------------------------------------------


class Filter:
    """Value in, value or None ("nothing this time") out."""

    def __call__(self, value: float) -> float | None:
        raise NotImplementedError


class _WindowFilter(Filter):
    def __init__(self, o: WindowConfig) -> None:
        self._window: deque[float] = deque(maxlen=o.window_size)
        self._send_every = o.send_every
        self._countdown = o.send_first_at

    def __call__(self, value: float) -> float | None:
        self._window.append(value)
        self._countdown -= 1
        if self._countdown > 0:
            return None
        self._countdown = self._send_every
        return self.combine(self._window)

    def combine(self, window: deque[float]) -> float:
        raise NotImplementedError


class SlidingWindowMovingAverage(_WindowFilter):
    def combine(self, window: deque[float]) -> float:
        return math.fsum(window) / len(window)


class Median(_WindowFilter):
    def combine(self, window: deque[float]) -> float:
        import statistics  # ~4 ms to import (fractions, decimal): only for configs that use it

        return statistics.median(window)


class ExponentialMovingAverage(Filter):
    def __init__(self, o: EmaConfig) -> None:
        self._alpha = o.alpha
        self._send_every = o.send_every
        self._countdown = 1
        self._value: float | None = None

    def __call__(self, value: float) -> float | None:
        self._value = (
            value
            if self._value is None
            else (self._alpha * value + (1 - self._alpha) * self._value)
        )
        self._countdown -= 1
        if self._countdown > 0:
            return None
        self._countdown = self._send_every
        return self._value


class Clamp(Filter):
    def __init__(self, o: ClampConfig) -> None:
        self._lo, self._hi = o.min_value, o.max_value

    def __call__(self, value: float) -> float | None:
        return min(max(value, self._lo), self._hi)


def build_filter(spec: FilterConfig) -> Filter:
    """A fresh filter (each channel keeps its own state) from its validated config; mypy checks
    that every kind of `FilterConfig` has a case here."""
    match spec:
        case SlidingWindowConfig():
            return SlidingWindowMovingAverage(spec)
        case MedianConfig():
            return Median(spec)
        case EmaConfig():
            return ExponentialMovingAverage(spec)
        case ClampConfig():
            return Clamp(spec)
    assert_never(spec)


# --- the publication gate --------------------------------------------------------------------


@dataclass(slots=True)
class Gate:
    """Decides whether a processed value is worth a push: deadband, throttle, heartbeat."""

    deadband: float = 0.0
    throttle: float = 0.0
    heartbeat: float = 0.0
    last_value: Value | None = None
    last_push: float = -math.inf

    def offer(self, value: Value, now: float) -> bool:
        since = now - self.last_push
        if (self.heartbeat and since >= self.heartbeat) or self.last_value is None:
            changed = True
        elif isinstance(value, bool) or isinstance(self.last_value, bool):
            changed = value != self.last_value
        elif self.deadband:
            changed = abs(value - self.last_value) > self.deadband
        else:
            changed = value != self.last_value
        if not changed or (self.throttle and since < self.throttle):
            return False
        self.last_value = value
        self.last_push = now
        return True

    def reset(self) -> None:
        """After an error the next good value always goes out, so browsers see the recovery."""
        self.last_value = None
        self.last_push = -math.inf


# --- one channel, end to end -----------------------------------------------------------------


class Pipeline:
    """Raw value in base unit -> the value to publish, or None when nothing should go out."""

    __slots__ = ("_convert", "_filters", "_offset", "_scale", "binary", "digits", "gate", "unit")

    def __init__(
        self,
        *,
        unit: str | None,
        precision: int,
        binary: bool,
        deadband: float,
        scale: float = 1.0,
        offset: float = 0.0,
        convert_to: Callable[[float], float] | None = None,
        filters: tuple[Filter, ...] = (),
        throttle: float = 0.0,
        heartbeat: float = 0.0,
    ) -> None:
        self.unit = unit
        self.binary = binary
        self.digits = (
            precision + 2
        )  # beyond the shown precision is noise, not a change worth a push
        self._scale, self._offset = scale, offset
        self._convert = convert_to
        self._filters = filters
        self.gate = Gate(deadband=deadband, throttle=throttle, heartbeat=heartbeat)

    def process(self, raw: Value, now: float) -> Value | None:
        value = self.sample(raw)
        return value if value is not None and self.gate.offer(value, now) else None

    def sample(self, raw: Value) -> Value | None:
        """The value before the gate: what history keeps (the gate decides only what is pushed).
        None when a filter holds it back (a moving average still filling its window)."""
        if self.binary or isinstance(raw, bool):
            return bool(raw)
        v = raw * self._scale + self._offset
        if self._convert is not None:
            v = self._convert(v)
        for f in self._filters:
            out = f(v)
            if out is None:
                return None
            v = out
        return round(v, self.digits)
