"""`sht3x`: Sensirion SHT30 / SHT31 / SHT35 temperature and humidity, e.g. the Adafruit 2857
(SHT31-D), Seeed Grove SHT31, or the unbranded GY-SHT30/31 boards. I2C 0x44 (ADDR low) or 0x45.

Single-shot measurements without clock stretching (the Pi's I2C controller mishandles stretching);
setup soft-resets the chip, turns the heater off and checks the status register's CRC and bits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pi_dashboard.drivers.sht3x import ADDRESSES, SHT3x
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
class SHT3xOptions(I2COptions):
    address: int = 0x44
    repeatability: Literal["high", "medium", "low"] = "high"
    """Datasheet repeatability: high (0.04 °C, up to 15.5 ms), medium, low (0.15 °C, 4.5 ms)."""


class SHT3xSensor(I2CSensor[SHT3x, SHT3xOptions]):
    @classmethod
    def channels_for(cls, options: SHT3xOptions) -> tuple[ChannelMeta, ...]:
        return CHANNELS

    def make_driver(self, bus: I2CBus) -> SHT3x:
        return SHT3x(
            bus,
            self.options.address,
            repeatability=self.options.repeatability,
            sleep=self.wait,
            clock=self.now,
        )

    def measure(self, driver: SHT3x) -> Mapping[str, Value]:
        m = driver.measure()
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
    description="Sensirion SHT30/SHT31/SHT35 temperature and humidity (I2C 0x44/0x45).",
    options=SHT3xOptions,
    sensor=SHT3xSensor,
    default_interval=10.0,
    min_interval=1.0,
    i2c_addresses=ADDRESSES,
    simulated="pi_dashboard.sim.chips.sht3x:place",
    identify=identify,
)
