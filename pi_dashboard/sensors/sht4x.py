"""`sht4x`: Sensirion SHT40 / SHT41 / SHT45 temperature and humidity, e.g. the Adafruit 4885
(SHT40), 5665 (SHT45) or Seeed Grove SHT40. I2C 0x44 for SHT4x-A parts (nearly every breakout),
0x45 for -B, 0x46 for -C.

Setup soft-resets the chip and reads its serial number (CRC-checked) to prove an SHT4x answered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from pi_dashboard.config import SensorConfig
from pi_dashboard.drivers.sht4x import ADDRESSES, SHT4x
from pi_dashboard.errors import ChipError
from pi_dashboard.hw import Hardware
from pi_dashboard.hw.i2c import I2CBus
from pi_dashboard.model import ChannelMeta, DeviceClass, Value
from pi_dashboard.sensors.base import Sensor, SensorType
from pi_dashboard.sensors.i2c import check_bus_address

TEMPERATURE = ChannelMeta(
    id="temperature", name="Temperature", unit="°C", device_class=DeviceClass.TEMPERATURE,
    precision=2, valid_range=(-40.0, 125.0),
)  # fmt: skip
HUMIDITY = ChannelMeta(
    id="humidity", name="Humidity", unit="%", device_class=DeviceClass.HUMIDITY,
    precision=1, valid_range=(0.0, 100.0),
)  # fmt: skip
CHANNELS = (TEMPERATURE, HUMIDITY)


@dataclass(frozen=True, slots=True, kw_only=True)
class SHT4xOptions:
    bus: int = 1
    address: int = 0x44
    precision: Literal["high", "medium", "low"] = "high"
    """Datasheet precision (repeatability): high (0.04 °C, up to 8.3 ms), medium, low (1.7 ms)."""

    def __post_init__(self) -> None:
        check_bus_address("sht4x", self.bus, self.address, ADDRESSES)


class SHT4xSensor(Sensor):
    def __init__(self, config: SensorConfig, hardware: Hardware) -> None:
        super().__init__(config, hardware)
        self.options: SHT4xOptions = config.options
        self.worker = f"i2c-{self.options.bus}"
        self.sleep: Callable[[float], None] = time.sleep
        """How the driver waits for a measurement; tests swap in a fake clock's sleep."""
        self.clock: Callable[[], float] = time.monotonic
        self.driver: SHT4x | None = None
        self.serial: int | None = None

    @property
    def channels(self) -> tuple[ChannelMeta, ...]:
        return CHANNELS

    def setup(self) -> None:
        self.driver = None
        driver = SHT4x(
            self.hardware.i2c(self.options.bus),
            self.options.address,
            precision=self.options.precision,
            sleep=lambda s: self.sleep(s),
            clock=lambda: self.clock(),
        )
        self.serial = driver.setup()
        self.driver = driver

    def read(self) -> Mapping[str, Value]:
        if self.driver is None:
            self.setup()
        assert self.driver is not None
        m = self.driver.measure()
        return {"temperature": m.temperature_c, "humidity": m.humidity_percent}


def identify(bus: I2CBus, address: int) -> bool:
    """An SHT4x answers the read-serial command with two words whose CRCs check out."""
    try:
        SHT4x(bus, address).read_serial()
    except ChipError:
        return False
    return True


TYPE = SensorType(
    name="sht4x",
    options=SHT4xOptions,
    create=SHT4xSensor,
    description="Sensirion SHT40/SHT41/SHT45 temperature and humidity (I2C 0x44/0x45/0x46).",
    default_interval=10.0,
    min_interval=1.0,
    channel_ids=lambda _o: tuple(c.id for c in CHANNELS),
    i2c_addresses=ADDRESSES,
    identify=identify,
)
