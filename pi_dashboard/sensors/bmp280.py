"""`bmp280`: Bosch BMP280 temperature and pressure over I2C (Adafruit 2651, GY-BMP280 boards).

Defaults follow the datasheet's "weather monitoring" recommendation (BST-BME280-DS002 3.5.1, the
same for the BMP280's 3.8.1): forced mode, oversampling x1, IIR filter off; a measurement then
takes under 10 ms. Raise oversampling for less noise (x16: up to 75 ms per read, 113 ms with
humidity on a BME280). `bme280` builds on this module.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from pi_dashboard.config import SensorConfig
from pi_dashboard.drivers.bme280 import BMP280, IIR_FILTER
from pi_dashboard.errors import FieldError
from pi_dashboard.hw import Hardware
from pi_dashboard.model import ChannelMeta, DeviceClass, Value
from pi_dashboard.sensors.base import Sensor, SensorType

ADDRESSES = (0x76, 0x77)
"""SDO to GND: 0x76, SDO to VDDIO: 0x77 (most breakouts default to one and have a jumper)."""
OVERSAMPLING_FACTORS = (1, 2, 4, 8, 16)

TEMPERATURE = ChannelMeta(
    id="temperature", name="Temperature", unit="°C", device_class=DeviceClass.TEMPERATURE,
    precision=2, valid_range=(-40.0, 85.0),
)  # fmt: skip
PRESSURE = ChannelMeta(
    id="pressure", name="Pressure", unit="hPa", device_class=DeviceClass.ATMOSPHERIC_PRESSURE,
    precision=1, valid_range=(300.0, 1100.0),
)  # fmt: skip


def check_common(type_name: str, bus: int, address: int, iir_filter: int) -> None:
    if address not in ADDRESSES:
        valid = ", ".join(f"0x{a:02x}" for a in ADDRESSES)
        shown = f"0x{address:02x}" if address >= 0 else str(address)
        raise FieldError("address", f"{shown} is not a valid address for {type_name} ({valid})")
    if bus < 0:
        raise FieldError("bus", f"must be >= 0 (the N of /dev/i2c-N), got {bus}")
    if iir_filter not in IIR_FILTER:
        allowed = ", ".join(str(k) for k in IIR_FILTER)
        raise FieldError("iir_filter", f"must be one of {allowed} (0 = off), got {iir_filter}")


def check_oversampling(name: str, value: int) -> None:
    if value not in OVERSAMPLING_FACTORS:
        allowed = ", ".join(str(k) for k in OVERSAMPLING_FACTORS)
        raise FieldError(name, f"must be one of {allowed}, got {value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class BMP280Options:
    type_name: ClassVar[str] = "bmp280"
    bus: int = 1
    address: int = 0x76
    oversampling_temperature: int = 1
    oversampling_pressure: int = 1
    iir_filter: int = 0
    """IIR filter coefficient for temperature and pressure: 0 (off), 2, 4, 8 or 16."""

    def __post_init__(self) -> None:
        check_common(self.type_name, self.bus, self.address, self.iir_filter)
        check_oversampling("oversampling_temperature", self.oversampling_temperature)
        check_oversampling("oversampling_pressure", self.oversampling_pressure)


class BMP280Sensor(Sensor):
    """Temperature and pressure from a BMP280, one forced measurement per read."""

    driver_class: type[BMP280] = BMP280

    def __init__(self, config: SensorConfig, hardware: Hardware) -> None:
        super().__init__(config, hardware)
        self.options: BMP280Options = config.options
        self.worker = f"i2c-{self.options.bus}"
        self.sleep: Callable[[float], None] = time.sleep
        """How the driver waits for a conversion; tests swap in a fake clock's sleep."""
        self.driver: BMP280 | None = None

    @property
    def channels(self) -> tuple[ChannelMeta, ...]:
        return (TEMPERATURE, PRESSURE)

    def _driver_options(self) -> dict[str, int]:
        o = self.options
        return {
            "oversampling_temperature": o.oversampling_temperature,
            "oversampling_pressure": o.oversampling_pressure,
            "iir_filter": o.iir_filter,
        }

    def setup(self) -> None:
        """Open the bus, check the chip id, soft-reset, load calibration (again after a replug)."""
        self.driver = None
        driver = self.driver_class(
            self.hardware.i2c(self.options.bus),
            self.options.address,
            sleep=lambda s: self.sleep(s),
            **self._driver_options(),
        )
        driver.setup()
        self.driver = driver

    def read(self) -> Mapping[str, Value]:
        if self.driver is None:
            self.setup()
        assert self.driver is not None
        m = self.driver.measure()
        return self._values(m.temperature, m.pressure, m.humidity)

    def _values(
        self, temperature: float, pressure: float, humidity: float | None
    ) -> dict[str, Value]:
        return {"temperature": temperature, "pressure": pressure}


TYPE = SensorType(
    name="bmp280",
    options=BMP280Options,
    create=BMP280Sensor,
    description="Bosch BMP280 temperature and pressure (I2C 0x76/0x77).",
    default_interval=10.0,
    min_interval=1.0,
    i2c_addresses=ADDRESSES,
    identify=BMP280.identify,
    channel_ids=lambda _o: ("temperature", "pressure"),
)
