"""`bme280`: Bosch BME280 temperature, humidity and pressure over I2C (Adafruit 2652, Pimoroni,
the purple GY-BME280 boards). A `bmp280` sensor plus humidity; defaults as there (datasheet 3.5.1
weather monitoring: forced mode, oversampling x1, filter off). A humidity the chip reports as
skipped is left out of that read; temperature and pressure still go out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pi_dashboard.config import SensorConfig
from pi_dashboard.drivers.bme280 import BME280, BMP280
from pi_dashboard.hw import Hardware
from pi_dashboard.model import ChannelMeta, Value
from pi_dashboard.sensors.base import PartialFailures, SensorType
from pi_dashboard.sensors.bmp280 import (
    ADDRESSES,
    PRESSURE,
    TEMPERATURE,
    BMP280Options,
    BoschSensor,
    check_oversampling,
)
from pi_dashboard.sensors.channels import humidity_channel

HUMIDITY = humidity_channel()


@dataclass(frozen=True, slots=True, kw_only=True)
class BME280Options(BMP280Options):
    oversampling_humidity: int = 1

    def __post_init__(self) -> None:
        BMP280Options.__post_init__(self)  # zero-arg super() breaks in slotted dataclasses
        check_oversampling("oversampling_humidity", self.oversampling_humidity)


class BME280Sensor(BoschSensor[BME280Options]):
    """A BMP280 sensor plus relative humidity."""

    driver_class = BME280

    def __init__(self, config: SensorConfig[BME280Options], hardware: Hardware) -> None:
        super().__init__(config, hardware)
        self._partial = PartialFailures(config.id, "channel")

    @classmethod
    def channels_for(cls, options: BME280Options) -> tuple[ChannelMeta, ...]:
        return (TEMPERATURE, HUMIDITY, PRESSURE)

    def measure(self, driver: BMP280) -> Mapping[str, Value]:
        m = driver.measure()
        self._partial.update(m.errors)
        values: dict[str, Value] = {"temperature": m.temperature}
        if m.humidity is not None:
            values["humidity"] = m.humidity
        values["pressure"] = m.pressure
        return values

    def _driver_options(self) -> dict[str, int]:
        humidity = self.options.oversampling_humidity
        return super()._driver_options() | {"oversampling_humidity": humidity}


TYPE = SensorType(
    name="bme280",
    description="Bosch BME280 temperature, humidity and pressure (I2C 0x76/0x77).",
    options=BME280Options,
    sensor=BME280Sensor,
    default_interval=10.0,
    min_interval=1.0,
    i2c_addresses=ADDRESSES,
    identify=BME280.identify,
    simulated="pi_dashboard.sim.chips.bme280:place_bme280",
)
