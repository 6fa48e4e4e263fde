"""Unit-test fixtures for chip drivers and I2C sensors: a fake monotonic clock that drivers and
simulated chips share, so conversion times pass without anyone waiting."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pi_dashboard.sensors.i2c import I2CSensor
from pi_dashboard.sim.world import SimWorld


class FakeClock:
    """Monotonic time that only moves when someone sleeps: drivers and chips share it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_time(world: SimWorld, clock: FakeClock) -> Callable[[I2CSensor], I2CSensor]:
    """Puts an I2C sensor (built by `make_sensor`) and its simulated chip on `clock`."""

    def use_clock(sensor: I2CSensor) -> I2CSensor:
        options = sensor.config.options
        sensor.sleep = clock.sleep
        sensor.clock = clock
        world.bus(options.bus).chips[options.address].clock = clock
        return sensor

    return use_clock
