"""`bmp280`: Bosch BMP280 temperature and pressure over I2C (Adafruit 2651, GY-BMP280 boards).

Defaults follow the datasheet's "weather monitoring" recommendation (BST-BME280-DS002 3.5.1, the
same for the BMP280's 3.8.1): forced mode, oversampling x1, IIR filter off; a measurement then
takes under 10 ms. Raise oversampling for less noise (x16: up to 75 ms per read, 113 ms with
humidity on a BME280). `bme280` builds on this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from pi_dashboard.drivers.bme280 import BMP280, IIR_FILTER
from pi_dashboard.errors import FieldError
from pi_dashboard.hw.i2c import I2CBus
from pi_dashboard.model import ChannelMeta, Value
from pi_dashboard.sensors.base import SensorType
from pi_dashboard.sensors.channels import pressure_channel, temperature_channel
from pi_dashboard.sensors.i2c import I2COptions, I2CSensor

ADDRESSES = (0x76, 0x77)
"""SDO to GND: 0x76, SDO to VDDIO: 0x77 (most breakouts default to one and have a jumper)."""
OVERSAMPLING_FACTORS = (1, 2, 4, 8, 16)

TEMPERATURE = temperature_channel((-40.0, 85.0))
PRESSURE = pressure_channel((300.0, 1100.0))


def check_oversampling(name: str, value: int) -> None:
    if value not in OVERSAMPLING_FACTORS:
        allowed = ", ".join(str(k) for k in OVERSAMPLING_FACTORS)
        raise FieldError(name, f"must be one of {allowed}, got {value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class BMP280Options(I2COptions):
    address: int = 0x76
    oversampling_temperature: int = 1
    oversampling_pressure: int = 1
    iir_filter: int = 0
    """IIR filter coefficient for temperature and pressure: 0 (off), 2, 4, 8 or 16."""

    def __post_init__(self) -> None:
        I2COptions.__post_init__(self)
        if self.iir_filter not in IIR_FILTER:
            allowed = ", ".join(str(k) for k in IIR_FILTER)
            raise FieldError(
                "iir_filter", f"must be one of {allowed} (0 = off), got {self.iir_filter}"
            )
        check_oversampling("oversampling_temperature", self.oversampling_temperature)
        check_oversampling("oversampling_pressure", self.oversampling_pressure)


BoschOptionsT = TypeVar("BoschOptionsT", bound=BMP280Options)


class BoschSensor(I2CSensor[BMP280, BoschOptionsT]):
    """One forced measurement per read. Setup checks the chip id, soft-resets and loads the
    calibration (again after a replug). `bme280` builds on this with its own options."""

    driver_class: type[BMP280] = BMP280

    def _driver_options(self) -> dict[str, int]:
        o = self.options
        return {
            "oversampling_temperature": o.oversampling_temperature,
            "oversampling_pressure": o.oversampling_pressure,
            "iir_filter": o.iir_filter,
        }

    def make_driver(self, bus: I2CBus) -> BMP280:
        """`driver_class` and `_driver_options` let `bme280` add humidity to all of this."""
        return self.driver_class(
            bus, self.options.address, sleep=self.wait, **self._driver_options()
        )


class BMP280Sensor(BoschSensor[BMP280Options]):
    """Temperature and pressure from a BMP280."""

    @classmethod
    def channels_for(cls, options: BMP280Options) -> tuple[ChannelMeta, ...]:
        return (TEMPERATURE, PRESSURE)

    def measure(self, driver: BMP280) -> Mapping[str, Value]:
        m = driver.measure()
        return {"temperature": m.temperature, "pressure": m.pressure}


TYPE = SensorType(
    name="bmp280",
    description="Bosch BMP280 temperature and pressure (I2C 0x76/0x77).",
    options=BMP280Options,
    sensor=BMP280Sensor,
    default_interval=10.0,
    min_interval=1.0,
    i2c_addresses=ADDRESSES,
    identify=BMP280.identify,
    simulated="pi_dashboard.sim.chips.bme280:place_bmp280",
)
