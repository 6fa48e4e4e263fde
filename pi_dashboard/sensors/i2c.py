"""What every I2C sensor type shares: options naming a bus and an address, one worker thread per
bus, injectable timing, and a driver made (again) by each `setup()`. Which addresses the chip can
have is the type's `i2c_addresses` (the driver's list), checked when the config loads.

`I2CSensor` is our I2C level of the hierarchy, as gpiozero's `GPIODevice` is its pin level: it adds
one capability (a chip at an address on a bus) and leaves each type to say which driver to make
from its options and how a measurement maps to channel values.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from pi_dashboard.config import SensorConfig
from pi_dashboard.errors import FieldError
from pi_dashboard.hw import Hardware
from pi_dashboard.hw.i2c import I2CBus
from pi_dashboard.model import Value
from pi_dashboard.sensors.base import Sensor


@dataclass(frozen=True, slots=True, kw_only=True)
class I2COptions:
    """The `bus` and `address` keys. A subclass sets the default `address` (the chip's usual
    one); one with checks of its own calls `I2COptions.__post_init__(self)` first (zero-arg
    `super()` breaks in slotted dataclasses)."""

    bus: int = 1
    address: int

    def __post_init__(self) -> None:
        if self.bus < 0:
            raise FieldError("bus", f"must be >= 0 (the N of /dev/i2c-N), got {self.bus}")


class Driver(Protocol):
    def setup(self) -> object:
        """The driver's first I/O: reset, identity check, configuration."""


DriverT = TypeVar("DriverT", bound=Driver)
OptionsT = TypeVar("OptionsT", bound=I2COptions)


class I2CSensor(Sensor[OptionsT], Generic[DriverT, OptionsT]):
    """One chip at `options.address` on /dev/i2c-`options.bus`, read in that bus's worker.

    `setup()` makes a fresh driver and sets the chip up (again after a failed read: a replugged
    chip has lost its configuration); `read()` runs `setup()` first if no driver is ready."""

    def __init__(self, config: SensorConfig[OptionsT], hardware: Hardware) -> None:
        super().__init__(config, hardware)
        self.worker = f"i2c-{self.options.bus}"
        self.sleep: Callable[[float], None] = time.sleep
        """How the driver waits for a measurement; tests swap in a fake clock's sleep."""
        self.clock: Callable[[], float] = time.monotonic
        self.driver: DriverT | None = None

    def wait(self, seconds: float) -> None:
        """The driver's `sleep`: looks `self.sleep` up on each call, so a swap reaches a driver
        already made."""
        self.sleep(seconds)

    def now(self) -> float:
        """The driver's `clock`, looked up on each call like `wait`."""
        return self.clock()

    @abstractmethod
    def make_driver(self, bus: I2CBus) -> DriverT:
        """The chip's driver on `bus` at `options.address`, timed by `self.wait` and `self.now`."""

    def start(self, driver: DriverT) -> None:
        """Set a new driver's chip up; a type that keeps what that returns (a serial) overrides."""
        driver.setup()

    @abstractmethod
    def measure(self, driver: DriverT) -> Mapping[str, Value]:
        """One measurement as channel id -> value in base units."""

    def setup(self) -> None:
        self.driver = None
        driver = self.make_driver(self.hardware.i2c(self.options.bus))
        self.start(driver)
        self.driver = driver

    def read(self) -> Mapping[str, Value]:
        if self.driver is None:
            self.setup()
        assert self.driver is not None
        return self.measure(self.driver)
