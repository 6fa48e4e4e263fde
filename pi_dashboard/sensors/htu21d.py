"""`htu21d`: TE HTU21D(F), Silicon Labs Si7021 and Sensirion SHT20/SHT21 temperature and humidity,
e.g. the Adafruit 1899 (HTU21D-F), 3251 (Si7021), GY-21 and GY-213V boards. I2C 0x40 only.

No-hold-master measurements, CRC-checked; setup soft-resets the chip and switches its heater off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pi_dashboard.drivers.htu21d import ADDRESSES, HTU21D
from pi_dashboard.hw.i2c import I2CBus
from pi_dashboard.model import ChannelMeta, Value
from pi_dashboard.sensors.base import SensorType
from pi_dashboard.sensors.channels import humidity_channel, temperature_channel
from pi_dashboard.sensors.i2c import I2COptions, I2CSensor

TEMPERATURE = temperature_channel((-40.0, 125.0))
HUMIDITY = humidity_channel()
CHANNELS = (TEMPERATURE, HUMIDITY)


@dataclass(frozen=True, slots=True, kw_only=True)
class HTU21DOptions(I2COptions):
    address: int = 0x40


class HTU21DSensor(I2CSensor[HTU21D, HTU21DOptions]):
    @classmethod
    def channels_for(cls, options: HTU21DOptions) -> tuple[ChannelMeta, ...]:
        return CHANNELS

    def make_driver(self, bus: I2CBus) -> HTU21D:
        return HTU21D(bus, self.options.address, sleep=self.wait, clock=self.now)

    def measure(self, driver: HTU21D) -> Mapping[str, Value]:
        m = driver.measure()
        return {"temperature": m.temperature_c, "humidity": m.humidity_percent}


TYPE = SensorType(
    name="htu21d",
    description="HTU21D / Si7021 / SHT21 temperature and humidity (I2C 0x40).",
    options=HTU21DOptions,
    sensor=HTU21DSensor,
    default_interval=10.0,
    min_interval=1.0,
    i2c_addresses=ADDRESSES,
    simulated="pi_dashboard.sim.chips.htu21d:place",
)
