"""The contract every sensor type meets. Polling only ever sees `Sensor` and `SensorType`.

Like gpiozero's `Device`, a sensor receives its hardware backend (`Hardware`) instead of finding it;
like ESPHome's components, the type's config schema (`options`) lives apart from the driver.
docs/contributing.md walks through adding a type.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pi_dashboard.config import SensorConfig
from pi_dashboard.hw import Hardware
from pi_dashboard.hw.i2c import I2CBus
from pi_dashboard.model import ChannelMeta, Value

log = logging.getLogger(__name__)

Push = Callable[[Mapping[str, Value]], None]
"""Called by edge-driven sensors from any thread with the channels that just changed."""

OptionsT = TypeVar("OptionsT")


class Sensor(ABC, Generic[OptionsT]):
    """One configured sensor. `setup`/`read`/`close` are synchronous and run in the bus's worker."""

    worker: str = "io"
    """Executor key: sensors sharing a key share one thread (one per I2C bus serialises access).
    The empty string runs `read` on the event loop: only for reads that cannot block (`demo`)."""

    def __init__(self, config: SensorConfig[OptionsT], hardware: Hardware) -> None:
        """Must not touch hardware (tests build every type over hardware that raises if touched);
        `setup()` does that."""
        self.config = config
        self.options: OptionsT = config.options
        self.hardware = hardware

    @classmethod
    @abstractmethod
    def channels_for(cls, options: OptionsT) -> tuple[ChannelMeta, ...] | None:
        """Every channel a sensor with these options can have: the one declaration, which the
        config loader checks `[sensors.channels.X]` against. None: only `setup()` can know (1-Wire
        `probes = "auto"`)."""

    @property
    def channels(self) -> tuple[ChannelMeta, ...]:
        """The channels it has now; a sensor that finds its channels at `setup()` overrides this."""
        return self.channels_for(self.options) or ()

    def setup(self) -> None:
        """Find and configure the hardware; raise (SensorError, OSError) to be retried with backoff.

        Called again after any failed read (a replugged chip has lost its configuration), so it
        must be idempotent: reuse pins and handles it already holds."""

    @abstractmethod
    def read(self) -> Mapping[str, Value]:
        """Read every channel in base units; raise SensorError/OSError, never return a guess.

        A channel with no trustworthy value this time is left out (its last value ages on the
        dashboard) while the others go out; `PartialFailures` logs it."""

    def watch(self, push: Push) -> None:
        """Edge-driven sensors (button, motion) call `push` on every edge, between polls."""

    def close(self) -> None:
        """Release pins, buses, child processes. Called once, from the worker."""

    def interrupt(self) -> None:
        """The daemon is stopping and `read` or `close` has not returned: make it return now
        (kill the program it waits for). Called from the event loop thread: must not block."""

    @property
    def dropped(self) -> int:
        """Readings this sensor discarded because they came faster than its rate limit (stream
        lines over `max_rate`); shown per sensor in the REST API."""
        return 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorType(Generic[OptionsT]):
    """A registry entry: everything about one sensor type, in one object."""

    name: str
    description: str
    options: type[OptionsT]
    """Frozen kw_only dataclass of the type's own config keys (validated by config.from_table)."""
    sensor: type[Sensor[OptionsT]]
    """Builds the sensor (and through it the driver); declares its channels (`channels_for`)."""
    default_interval: float = 10.0
    min_interval: float = 0.0
    i2c_addresses: tuple[int, ...] = ()
    """Every address the chip can have (the driver's list): the loader checks `address` against
    it, and `pi-dashboard scan` names what answers there."""
    identify: Callable[[I2CBus, int], bool] | None = None
    """Harmless check that the chip at an address is this type (chip-id register, serial + CRC);
    without one, scan names the type by address alone."""
    simulated: str | None = None
    """Its simulated counterpart for mock mode, as `module:function` (the function puts the
    device in a `SimWorld`). A name, not an import: sensors never import sim, and only mock mode
    resolves it."""

    def create(self, config: SensorConfig[OptionsT], hardware: Hardware) -> Sensor[OptionsT]:
        return self.sensor(config, hardware)

    def channels(self, options: OptionsT) -> tuple[ChannelMeta, ...] | None:
        return self.sensor.channels_for(options)


Types = Mapping[str, SensorType[Any]]
"""The registry's shape. `Any`: one mapping holds every type, each with its own options class;
the config loader parsed each sensor's options with its own type's class, so `create` gets the
options it expects."""


class PartialFailures:
    """Parts (channels, probes) missing from an otherwise good read. The sensor stays `ok`, so
    polling logs nothing about them: this logs each once when it starts failing and once when it
    recovers, as polling does for a whole sensor."""

    def __init__(self, sensor_id: str, part: str) -> None:
        self.sensor_id = sensor_id
        self.part = part
        """What a key names in the log: "probe", "channel"."""
        self.failing: dict[str, str] = {}

    def update(self, failing: Mapping[str, str]) -> None:
        """`failing`: key -> message, for this read."""
        for key, message in failing.items():
            if key not in self.failing:
                log.warning("sensor %s: %s %s failed: %s", self.sensor_id, self.part, key, message)
        for key in self.failing.keys() - failing.keys():
            log.info("sensor %s: %s %s recovered", self.sensor_id, self.part, key)
        self.failing = dict(failing)
