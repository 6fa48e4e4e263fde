"""`dht22` / `dht11`: Aosong DHT22 (AM2302) and DHT11 temperature and humidity on one GPIO pin,
read through Linux's dht11 IIO driver. Add `dtoverlay=dht11,gpiopin=4` to
/boot/firmware/config.txt (the one overlay serves both models) and reboot; the data line needs a
4.7-10 kΩ pull-up to 3.3 V, which most breakout boards carry.

The device is found by `gpio` (the overlay names it `dht11@<pin in hex>`), by `device` (the N of
iio:deviceN, or its exact name), or, with neither, as the only DHT there is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pi_dashboard.config import SensorConfig
from pi_dashboard.drivers.dht import DHT, DHT11, DHT22, DRIVER_NAME, MAX_TRIES, RETRY_PAUSE_S, Model
from pi_dashboard.errors import FieldError, SensorError
from pi_dashboard.hw import Hardware
from pi_dashboard.hw.iio import IIODevice, iio_devices
from pi_dashboard.model import ChannelMeta, Value
from pi_dashboard.sensors.base import Sensor, SensorType
from pi_dashboard.sensors.channels import humidity_channel, temperature_channel

ATTEMPT_S = 1.0
"""Longest one measurement can take: the kernel waits up to a second for the sensor's edges."""


def overlay_name(gpio: int) -> str:
    return f"{DRIVER_NAME}@{gpio:x}"


def _channels(model: Model, precision: int) -> tuple[ChannelMeta, ...]:
    return (
        temperature_channel(model.temperature_c, precision=precision),
        humidity_channel(model.humidity_pct, precision=precision),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class DhtOptions:
    gpio: int | None = None
    """BCM pin given to the overlay (`gpiopin=`); the device is then `dht11@<pin in hex>`."""
    device: int | str | None = None
    """The N of /sys/bus/iio/devices/iio:deviceN, or the device's name there."""
    tries: int = 3
    """Measurements per read before giving up, 2 s apart (fewer if the read timeout is short)."""

    def __post_init__(self) -> None:
        if self.gpio is not None and not 0 <= self.gpio <= 53:
            raise FieldError("gpio", f"{self.gpio} is not a BCM GPIO number (0-53)")
        if self.gpio is not None and self.device is not None:
            raise FieldError("device", "give gpio or device, not both")
        if isinstance(self.device, int) and self.device < 0:
            raise FieldError("device", f"must be >= 0 (the N of iio:deviceN), got {self.device}")
        if isinstance(self.device, str) and not self.device.strip():
            raise FieldError("device", "must not be empty")
        if not 1 <= self.tries <= MAX_TRIES:
            raise FieldError("tries", f"must be 1 to {MAX_TRIES}, got {self.tries}")


class DhtSensor(Sensor[DhtOptions]):
    MODEL: Model = DHT22
    CHANNELS = _channels(DHT22, precision=1)

    def __init__(self, config: SensorConfig[DhtOptions], hardware: Hardware) -> None:
        super().__init__(config, hardware)
        self.worker = f"dht-{config.id}"
        """Its own thread: a read with retries takes seconds and must not hold up other sensors."""
        self.sleep: Callable[[float], None] = time.sleep
        """How the driver waits between tries; tests swap in a fake that counts."""
        self.driver: DHT | None = None

    @classmethod
    def channels_for(cls, options: DhtOptions) -> tuple[ChannelMeta, ...]:
        return cls.CHANNELS

    def tries(self) -> int:
        """The configured tries, or as many as fit in the read timeout (measurement + pause)."""
        fit = int((self.config.read_timeout + RETRY_PAUSE_S) // (ATTEMPT_S + RETRY_PAUSE_S))
        return max(1, min(self.options.tries, fit))

    def setup(self) -> None:
        self.driver = None
        device = self.find_device()
        self.driver = DHT(device, self.MODEL, tries=self.tries(), sleep=lambda s: self.sleep(s))

    def read(self) -> Mapping[str, Value]:
        if self.driver is None:
            self.setup()
        assert self.driver is not None
        t, h = self.driver.read()
        return {"temperature": t, "humidity": h}

    def find_device(self) -> IIODevice:
        o = self.options
        devices = iio_devices(self.hardware.root)
        names = {d.index: d.name() for d in devices}
        pin = o.gpio if o.gpio is not None else 4
        hint = f"is dtoverlay=dht11,gpiopin={pin} in /boot/firmware/config.txt?"
        seen = ", ".join(f"iio:device{i} {n or '(no name)'}" for i, n in names.items()) or "none"
        if isinstance(o.device, int):
            wanted = f"iio:device{o.device}"
            found = [d for d in devices if d.index == o.device]
        elif isinstance(o.device, str):
            wanted = f'a device named "{o.device}"'
            found = [d for d in devices if names[d.index] == o.device]
        elif o.gpio is not None:
            wanted = f"{overlay_name(o.gpio)} (GPIO {o.gpio})"
            found = [d for d in devices if names[d.index] == overlay_name(o.gpio)]
        else:
            wanted = "a dht11 device"
            found = [d for d in devices if names[d.index].startswith(DRIVER_NAME)]
            if len(found) > 1:
                listed = ", ".join(names[d.index] for d in found)
                raise SensorError(f"several DHT devices ({listed}): set gpio to pick one")
        if not found:
            raise SensorError(f"no {wanted} among IIO devices (found: {seen}); {hint}")
        return found[0]


class Dht11Sensor(DhtSensor):
    MODEL = DHT11
    CHANNELS = _channels(DHT11, precision=0)


DHT22_TYPE = SensorType(
    name="dht22",
    description="DHT22/AM2302 temperature and humidity via the kernel's dht11 IIO driver.",
    options=DhtOptions,
    sensor=DhtSensor,
    default_interval=10.0,
    min_interval=2.0,
    simulated="pi_dashboard.sim.iio:place",
)

DHT11_TYPE = SensorType(
    name="dht11",
    description="DHT11 temperature and humidity via the kernel's dht11 IIO driver.",
    options=DhtOptions,
    sensor=Dht11Sensor,
    default_interval=10.0,
    min_interval=2.0,
    simulated="pi_dashboard.sim.iio:place",
)
