"""`sht3x`: Sensirion SHT30 / SHT31 / SHT35 temperature and humidity, e.g. the Adafruit 2857
(SHT31-D), Seeed Grove SHT31, or the unbranded GY-SHT30/31 boards. I2C 0x44 (ADDR low) or 0x45.

Single-shot measurements without clock stretching (the Pi's I2C controller mishandles stretching);
setup soft-resets the chip, turns the heater off and checks the status register's CRC and bits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from pi_dashboard.config import SensorConfig
from pi_dashboard.drivers.sht3x import ADDRESSES, SHT3x
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
class SHT3xOptions:
    bus: int = 1
    address: int = 0x44
    repeatability: Literal["high", "medium", "low"] = "high"
    """Datasheet repeatability: high (0.04 °C, up to 15.5 ms), medium, low (0.15 °C, 4.5 ms)."""

    def __post_init__(self) -> None:
        check_bus_address("sht3x", self.bus, self.address, ADDRESSES)


class SHT3xSensor(Sensor):
    def __init__(self, config: SensorConfig, hardware: Hardware) -> None:
        super().__init__(config, hardware)
        self.options: SHT3xOptions = config.options
        self.worker = f"i2c-{self.options.bus}"
        self.sleep: Callable[[float], None] = time.sleep
        """How the driver waits for a measurement; tests swap in a fake clock's sleep."""
        self.clock: Callable[[], float] = time.monotonic
        self.driver: SHT3x | None = None

    @property
    def channels(self) -> tuple[ChannelMeta, ...]:
        return CHANNELS

    def setup(self) -> None:
        self.driver = None
        driver = SHT3x(
            self.hardware.i2c(self.options.bus),
            self.options.address,
            repeatability=self.options.repeatability,
            sleep=lambda s: self.sleep(s),
            clock=lambda: self.clock(),
        )
        driver.setup()
        self.driver = driver

    def read(self) -> Mapping[str, Value]:
        if self.driver is None:
            self.setup()
        assert self.driver is not None
        m = self.driver.measure()
        return {"temperature": m.temperature_c, "humidity": m.humidity_percent}


def identify(bus: I2CBus, address: int) -> bool:
    """An SHT3x answers the status-register command with a word whose CRC checks out."""
    try:
        SHT3x(bus, address).read_status()
    except ChipError:
        return False
    return True


TYPE = SensorType(
    name="sht3x",
    options=SHT3xOptions,
    create=SHT3xSensor,
    description="Sensirion SHT30/SHT31/SHT35 temperature and humidity (I2C 0x44/0x45).",
    default_interval=10.0,
    min_interval=1.0,
    channel_ids=lambda _o: tuple(c.id for c in CHANNELS),
    i2c_addresses=ADDRESSES,
    identify=identify,
)
