"""`demo`: synthetic temperature/humidity/pressure doing a random walk, for demos and benchmarks.

It needs no hardware at all, so its read runs on the event loop (`worker = ""`).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from pi_dashboard.config import SensorConfig
from pi_dashboard.errors import FieldError
from pi_dashboard.hw import Hardware
from pi_dashboard.model import ChannelMeta, Value
from pi_dashboard.sensors.base import Sensor, SensorType
from pi_dashboard.sensors.channels import humidity_channel, pressure_channel, temperature_channel

CHANNELS = (
    temperature_channel((-40.0, 85.0)),
    humidity_channel(),
    pressure_channel((300.0, 1100.0)),
)
"""Ranges as for a BME280, the chip the demo stands in for."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoOptions:
    temperature: float = 21.0
    humidity: float = 45.0
    pressure: float = 1013.0
    step: float = 0.5
    """Largest change per read; 0 makes a constant sensor (handy to test deadbands)."""
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.step < 0:
            raise FieldError("step", f"must be >= 0, got {self.step}")


class DemoSensor(Sensor[DemoOptions]):
    worker = ""

    def __init__(self, config: SensorConfig[DemoOptions], hardware: Hardware) -> None:
        super().__init__(config, hardware)
        o = self.options
        self._rng = random.Random(o.seed)
        self._step = o.step
        self._centers = {
            "temperature": o.temperature,
            "humidity": o.humidity,
            "pressure": o.pressure,
        }
        self._values = dict(self._centers)

    @classmethod
    def channels_for(cls, options: DemoOptions) -> tuple[ChannelMeta, ...]:
        return CHANNELS

    def read(self) -> Mapping[str, Value]:
        """A random walk pulled gently back to its configured centre, so it never wanders off.

        No clamping: a centre outside a channel's valid range (temperature = 200) is how tests
        and demos show an impossible reading becoming a sensor error."""
        rnd, step, v, c = self._rng.random, self._step, self._values, self._centers
        for key, k in (("temperature", 1.0), ("humidity", 2.0), ("pressure", 1.0)):
            v[key] += (rnd() - 0.5) * step * k + (c[key] - v[key]) * 0.02
        return dict(v)


TYPE = SensorType(
    name="demo",
    description="Synthetic temperature/humidity/pressure random walk (no hardware).",
    options=DemoOptions,
    sensor=DemoSensor,
    default_interval=1.0,
    min_interval=0.01,
)
