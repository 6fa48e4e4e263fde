"""`bh1750`: ROHM BH1750FVI ambient light, e.g. the GY-30 / GY-302 modules, Adafruit 4681,
DFRobot SEN0097. I2C 0x23 (ADDR low, the usual module default) or 0x5C (ADDR high).

One-time measurements: the chip powers itself down after each, so it draws ~0 µA between polls.
`mtreg` trades range for sensitivity (the datasheet's "measurement result adjustment"): 31 reaches
about 121 000 lx in mode "high", 254 resolves 0.11 lx in mode "high2" but saturates near 7 400 lx.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pi_dashboard.drivers.bh1750 import (
    ADDRESSES,
    BH1750,
    MTREG_DEFAULT,
    MTREG_MAX,
    MTREG_MIN,
    max_lux,
)
from pi_dashboard.errors import FieldError
from pi_dashboard.hw.i2c import I2CBus
from pi_dashboard.model import ChannelMeta, DeviceClass, Value
from pi_dashboard.sensors.base import SensorType
from pi_dashboard.sensors.i2c import I2COptions, I2CSensor


@dataclass(frozen=True, slots=True, kw_only=True)
class BH1750Options(I2COptions):
    address: int = 0x23
    mode: Literal["high", "high2", "low"] = "high"
    """Datasheet resolution mode: high (1 lx), high2 (0.5 lx, for dim rooms), low (4 lx, 24 ms)."""
    mtreg: int = MTREG_DEFAULT
    """Measurement time register, 31..254: higher = more sensitive, slower, less range."""

    def __post_init__(self) -> None:
        I2COptions.__post_init__(self)
        if not MTREG_MIN <= self.mtreg <= MTREG_MAX:
            raise FieldError(
                "mtreg",
                f"must be {MTREG_MIN}..{MTREG_MAX} (default {MTREG_DEFAULT}), got {self.mtreg}",
            )


class BH1750Sensor(I2CSensor[BH1750, BH1750Options]):
    @classmethod
    def channels_for(cls, options: BH1750Options) -> tuple[ChannelMeta, ...]:
        """Its range is what the mode and MTreg let the chip count up to."""
        return (
            ChannelMeta(
                id="illuminance", name="Illuminance", unit="lx",
                device_class=DeviceClass.ILLUMINANCE, precision=1,
                valid_range=(0.0, max_lux(mode=options.mode, mtreg=options.mtreg)),
            ),
        )  # fmt: skip

    def make_driver(self, bus: I2CBus) -> BH1750:
        o = self.options
        return BH1750(bus, o.address, mode=o.mode, mtreg=o.mtreg, sleep=self.wait)

    def measure(self, driver: BH1750) -> Mapping[str, Value]:
        return {"illuminance": driver.measure()}


TYPE = SensorType(
    name="bh1750",
    description="ROHM BH1750 ambient light in lux (I2C 0x23/0x5C).",
    options=BH1750Options,
    sensor=BH1750Sensor,
    default_interval=10.0,
    min_interval=1.0,
    i2c_addresses=ADDRESSES,
    simulated="pi_dashboard.sim.chips.bh1750:place",
)
