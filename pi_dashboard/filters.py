"""Per-channel processing, named and behaving as ESPHome's filters so their users feel at home.

A channel's pipeline: calibration (`scale`, `offset`) -> unit conversion -> value filters (moving
average, median, EMA: value in, value or nothing out) -> the publication gate (`deadband`,
`throttle`, `heartbeat`), which decides whether the value goes out to browsers. Everything takes
`now` from the caller (a monotonic clock), so tests drive time instead of sleeping.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pi_dashboard.config import from_table
from pi_dashboard.errors import ConfigError, FieldError
from pi_dashboard.model import Value

# --- value filters ---------------------------------------------------------------------------


class Filter:
    """Value in, value or None ("nothing this time") out."""

    def __call__(self, value: float) -> float | None:
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowOptions:
    window_size: int = 5
    send_every: int = 1
    send_first_at: int = 1

    def __post_init__(self) -> None:
        if self.window_size < 1:
            raise FieldError("window_size", f"must be >= 1, got {self.window_size}")
        if self.send_every < 1:
            raise FieldError("send_every", f"must be >= 1, got {self.send_every}")
        if not 1 <= self.send_first_at <= self.send_every:
            raise FieldError("send_first_at", "must be between 1 and send_every")


class _WindowFilter(Filter):
    def __init__(self, o: WindowOptions) -> None:
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


@dataclass(frozen=True, slots=True, kw_only=True)
class EmaOptions:
    alpha: float = 0.1
    send_every: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.alpha <= 1:
            raise FieldError("alpha", f"must be in (0, 1], got {self.alpha}")
        if self.send_every < 1:
            raise FieldError("send_every", f"must be >= 1, got {self.send_every}")


class ExponentialMovingAverage(Filter):
    def __init__(self, o: EmaOptions) -> None:
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


@dataclass(frozen=True, slots=True, kw_only=True)
class ClampOptions:
    min_value: float = -math.inf
    max_value: float = math.inf


class Clamp(Filter):
    def __init__(self, o: ClampOptions) -> None:
        self._lo, self._hi = o.min_value, o.max_value

    def __call__(self, value: float) -> float | None:
        return min(max(value, self._lo), self._hi)


@dataclass(frozen=True, slots=True)
class _FilterKind:
    options: type
    build: Callable[[Any], Filter]


FILTERS: dict[str, _FilterKind] = {
    "sliding_window_moving_average": _FilterKind(WindowOptions, SlidingWindowMovingAverage),
    "median": _FilterKind(WindowOptions, Median),
    "exponential_moving_average": _FilterKind(EmaOptions, ExponentialMovingAverage),
    "clamp": _FilterKind(ClampOptions, Clamp),
}


def build_filter(spec: Mapping[str, Any], path: str) -> Filter:
    """`{median = {window_size = 5}}` -> a Median filter; errors name `path`."""
    if len(spec) != 1:
        raise ConfigError(
            "each filter is a table with exactly one key, e.g. {median = {window_size = 5}}",
            field=path,
        )
    ((name, raw),) = spec.items()
    kind = FILTERS.get(name)
    if kind is None:
        raise ConfigError(f'unknown filter "{name}" (known: {", ".join(FILTERS)})', field=path)
    if not isinstance(raw, dict):
        raise ConfigError("filter options must be a table, e.g. {}", field=f"{path}.{name}")
    return kind.build(from_table(kind.options, raw, f"{path}.{name}"))


# --- unit conversion -------------------------------------------------------------------------

CONVERSIONS: dict[tuple[str, str], Callable[[float], float]] = {
    ("°C", "°F"): lambda c: c * 9 / 5 + 32,
    ("°C", "K"): lambda c: c + 273.15,
    ("hPa", "inHg"): lambda p: p * 0.029529983071445,
    ("hPa", "mmHg"): lambda p: p * 0.750061682704,
    ("hPa", "kPa"): lambda p: p / 10,
    ("hPa", "Pa"): lambda p: p * 100,
    ("m", "cm"): lambda m: m * 100,
    ("m", "mm"): lambda m: m * 1000,
    ("m", "in"): lambda m: m / 0.0254,
    ("V", "mV"): lambda v: v * 1000,
    ("B", "MB"): lambda b: b / 1e6,
    ("B", "GB"): lambda b: b / 1e9,
    ("B", "MiB"): lambda b: b / 1048576,
    ("B", "GiB"): lambda b: b / 1073741824,
}
UNIT_ALIASES = {"degC": "°C", "C": "°C", "degF": "°F", "F": "°F"}


def unit_converter(
    base: str | None, wanted: str | None, path: str
) -> Callable[[float], float] | None:
    """The conversion from a channel's base unit to the unit a user asked for, or a ConfigError."""
    if wanted is None:
        return None
    wanted = UNIT_ALIASES.get(wanted, wanted)
    if wanted == base:
        return None
    fn = CONVERSIONS.get((base or "", wanted))
    if fn is None:
        options = sorted(t for (f, t) in CONVERSIONS if f == base)
        hint = f" (choose from {', '.join(options)})" if options else ""
        raise ConfigError(
            f'cannot convert {base or "this channel"} to "{wanted}"{hint}', field=path
        )
    return fn


def canonical_unit(unit: str | None) -> str | None:
    return UNIT_ALIASES.get(unit, unit) if unit else unit


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
        v: float | None = raw * self._scale + self._offset
        if self._convert is not None:
            v = self._convert(v)
        for f in self._filters:
            v = f(v)
            if v is None:
                return None
        return round(v, self.digits)
