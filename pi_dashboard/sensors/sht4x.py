"""`sht4x`: Sensirion SHT40 / SHT41 / SHT45 temperature and humidity, e.g. the Adafruit 4885
(SHT40), 5665 (SHT45) or Seeed Grove SHT40. I2C 0x44 for SHT4x-A parts (nearly every breakout),
0x45 for -B, 0x46 for -C.

Setup soft-resets the chip and reads its serial number (CRC-checked) to prove an SHT4x answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pi_dashboard.drivers.sht4x import ADDRESSES, SHT4x
from pi_dashboard.errors import ChipError
from pi_dashboard.hw.i2c import I2CBus
from pi_dashboard.model import ChannelMeta, Value
from pi_dashboard.sensors.base import SensorType
from pi_dashboard.sensors.channels import humidity_channel, temperature_channel
from pi_dashboard.sensors.i2c import I2COptions, I2CSensor

TEMPERATURE = temperature_channel((-40.0, 125.0))
HUMIDITY = humidity_channel()
CHANNELS = (TEMPERATURE, HUMIDITY)


@dataclass(frozen=True, slots=True, kw_only=True)
class SHT4xOptions(I2COptions):
    address: int = 0x44
    precision: Literal["high", "medium", "low"] = "high"
    """Datasheet precision (repeatability): high (0.04 °C, up to 8.3 ms), medium, low (1.7 ms)."""


class SHT4xSensor(I2CSensor[SHT4x, SHT4xOptions]):
    serial: int | None = None
    """The chip's serial number, read by the last successful setup."""

    @classmethod
    def channels_for(cls, options: SHT4xOptions) -> tuple[ChannelMeta, ...]:
        return CHANNELS

    def make_driver(self, bus: I2CBus) -> SHT4x:
        return SHT4x(
            bus,
            self.options.address,
            precision=self.options.precision,
            sleep=self.wait,
            clock=self.now,
        )

    def start(self, driver: SHT4x) -> None:
        self.serial = driver.setup()

    def measure(self, driver: SHT4x) -> Mapping[str, Value]:
        m = driver.measure()
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
    description="Sensirion SHT40/SHT41/SHT45 temperature and humidity (I2C 0x44/0x45/0x46).",
    options=SHT4xOptions,
    sensor=SHT4xSensor,
    default_interval=10.0,
    min_interval=1.0,
    i2c_addresses=ADDRESSES,
    simulated="pi_dashboard.sim.chips.sht4x:place",
    identify=identify,
)
