"""`scd4x`: Sensirion SCD40 / SCD41 CO2 (photoacoustic), with temperature and humidity, e.g. the
Adafruit 5187 (SCD40) and 5190 (SCD41), SparkFun SEN-22395, Seeed Grove SCD41, M5Stack CO2 Unit.
I2C 0x62 only.

Periodic measurement: the sensor measures every 5 s on its own (every 30 s with `low_power`), and
each poll takes the newest result; a poll that finds none yet leaves the values to age. The
sensor's own heat warms its temperature reading by a few degrees: `temperature_offset` (the
chip's default, 4 °C) takes that off. `altitude` feeds its CO2 pressure compensation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pi_dashboard.config import SensorConfig
from pi_dashboard.drivers.scd4x import ADDRESSES, CMD_GET_DATA_READY_STATUS, MAX_ALTITUDE_M, SCD4x
from pi_dashboard.errors import ChipError, FieldError
from pi_dashboard.hw import Hardware
from pi_dashboard.hw.i2c import I2CBus
from pi_dashboard.model import ChannelMeta, DeviceClass, Value
from pi_dashboard.sensors.base import PartialFailures, SensorType
from pi_dashboard.sensors.channels import humidity_channel, temperature_channel
from pi_dashboard.sensors.i2c import I2COptions, I2CSensor

CO2 = ChannelMeta(
    id="co2", name="CO2", unit="ppm", device_class=DeviceClass.CARBON_DIOXIDE, precision=0,
    valid_range=(0.0, 40000.0),
)  # fmt: skip
"""Output range 0-40 000 ppm (datasheet 1.1); accuracy is specified over 400-2000 (SCD40) or
400-5000 ppm (SCD41)."""
CHANNELS = (CO2, temperature_channel((-10.0, 60.0), precision=1), humidity_channel())
"""Temperature over the operating range the datasheet specifies (-10 to 60 °C)."""
STALE_PERIODS = 3
"""Polls that find no new result for this many measurement periods make the sensor an error."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SCD4xOptions(I2COptions):
    address: int = ADDRESSES[0]
    temperature_offset: float = 4.0
    """°C subtracted from the temperature (the sensor's self-heating in its enclosure), 0 to 20."""
    altitude: int = 0
    """Metres above sea level, 0 to 3000: compensates the CO2 reading for air pressure."""
    low_power: bool = False
    """Measure every 30 s instead of every 5 s (about 3 mA instead of 15 mA at 3.3 V)."""

    def __post_init__(self) -> None:
        I2COptions.__post_init__(self)
        if not 0.0 <= self.temperature_offset <= 20.0:
            raise FieldError(
                "temperature_offset", f"must be 0 to 20 °C, got {self.temperature_offset:g}"
            )
        if not 0 <= self.altitude <= MAX_ALTITUDE_M:
            raise FieldError("altitude", f"must be 0 to {MAX_ALTITUDE_M} m, got {self.altitude}")


class SCD4xSensor(I2CSensor[SCD4x, SCD4xOptions]):
    serial: int | None = None
    """The chip's serial number, read by the last successful setup."""

    def __init__(self, config: SensorConfig[SCD4xOptions], hardware: Hardware) -> None:
        super().__init__(config, hardware)
        self._newest = 0.0
        self._partial = PartialFailures(config.id, "channel")

    @classmethod
    def channels_for(cls, options: SCD4xOptions) -> tuple[ChannelMeta, ...]:
        return CHANNELS

    def make_driver(self, bus: I2CBus) -> SCD4x:
        o = self.options
        return SCD4x(
            bus, o.address, temperature_offset=o.temperature_offset, altitude=o.altitude,
            low_power=o.low_power, sleep=self.wait, clock=self.now,
        )  # fmt: skip

    def start(self, driver: SCD4x) -> None:
        self.serial = driver.setup()
        self._newest = self.now()

    def measure(self, driver: SCD4x) -> Mapping[str, Value]:
        if not driver.data_ready():
            waited = self.now() - self._newest
            if waited > STALE_PERIODS * driver.period_s:
                raise ChipError(f"no new measurement for {waited:.0f} s")
            return {}  # nothing new since the last poll
        m = driver.read_measurement()
        self._newest = self.now()
        values: dict[str, Value] = {"temperature": m.temperature_c, "humidity": m.humidity_percent}
        if m.co2_ppm > 0:
            values["co2"] = m.co2_ppm
        # 0 ppm is the sensor saying "no CO2 result this time" (as after a reinit), not a reading
        self._partial.update({} if m.co2_ppm > 0 else {"co2": "the sensor reported 0 ppm"})
        return values


def identify(bus: I2CBus, address: int) -> bool:
    """get_data_ready_status answers idle or measuring, with a CRC, and consumes nothing."""
    try:
        SCD4x(bus, address).read(CMD_GET_DATA_READY_STATUS, ("data ready status",))
    except ChipError:
        return False
    return True


TYPE = SensorType(
    name="scd4x",
    description="Sensirion SCD40/SCD41 CO2, temperature and humidity (I2C 0x62).",
    options=SCD4xOptions,
    sensor=SCD4xSensor,
    default_interval=10.0,
    min_interval=5.0,
    i2c_addresses=ADDRESSES,
    identify=identify,
    simulated="pi_dashboard.sim.chips.scd4x:place",
)
