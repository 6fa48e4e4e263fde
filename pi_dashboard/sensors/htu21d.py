"""`htu21d`: TE HTU21D(F), Silicon Labs Si7021 and Sensirion SHT20/SHT21 temperature and humidity,
e.g. the Adafruit 1899 (HTU21D-F), 3251 (Si7021), GY-21 and GY-213V boards. I2C 0x40 only.

No-hold-master measurements, CRC-checked; setup soft-resets the chip and switches its heater off.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pi_dashboard.config import SensorConfig
from pi_dashboard.drivers.htu21d import ADDRESSES, HTU21D
from pi_dashboard.hw import Hardware
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
class HTU21DOptions:
    bus: int = 1
    address: int = 0x40

    def __post_init__(self) -> None:
        check_bus_address("htu21d", self.bus, self.address, ADDRESSES)


class HTU21DSensor(Sensor):
    def __init__(self, config: SensorConfig, hardware: Hardware) -> None:
        super().__init__(config, hardware)
        self.options: HTU21DOptions = config.options
        self.worker = f"i2c-{self.options.bus}"
        self.sleep: Callable[[float], None] = time.sleep
        """How the driver waits for a measurement; tests swap in a fake clock's sleep."""
        self.clock: Callable[[], float] = time.monotonic
        self.driver: HTU21D | None = None

    @property
    def channels(self) -> tuple[ChannelMeta, ...]:
        return CHANNELS

    def setup(self) -> None:
        self.driver = None
        driver = HTU21D(
            self.hardware.i2c(self.options.bus),
            self.options.address,
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


TYPE = SensorType(
    name="htu21d",
    options=HTU21DOptions,
    create=HTU21DSensor,
    description="HTU21D / Si7021 / SHT21 temperature and humidity (I2C 0x40).",
    default_interval=10.0,
    min_interval=1.0,
    channel_ids=lambda _o: tuple(c.id for c in CHANNELS),
    i2c_addresses=ADDRESSES,
)
