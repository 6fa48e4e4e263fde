"""`bh1750`: ROHM BH1750FVI ambient light, e.g. the GY-30 / GY-302 modules, Adafruit 4681,
DFRobot SEN0097. I2C 0x23 (ADDR low, the usual module default) or 0x5C (ADDR high).

One-time measurements: the chip powers itself down after each, so it draws ~0 µA between polls.
`mtreg` trades range for sensitivity (the datasheet's "measurement result adjustment"): 31 reaches
about 121 000 lx in mode "high", 254 resolves 0.11 lx in mode "high2" but saturates near 7 400 lx.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

from pi_dashboard.config import SensorConfig
from pi_dashboard.drivers.bh1750 import (
    ADDRESSES,
    BH1750,
    MTREG_DEFAULT,
    MTREG_MAX,
    MTREG_MIN,
    max_lux,
)
from pi_dashboard.errors import FieldError
from pi_dashboard.hw import Hardware
from pi_dashboard.hw.i2c import I2CBus
from pi_dashboard.model import ChannelMeta, DeviceClass, Value
from pi_dashboard.sensors.base import SensorType
from pi_dashboard.sensors.i2c import I2COptions, I2CSensor


@dataclass(frozen=True, slots=True, kw_only=True)
class BH1750Options(I2COptions):
    type_name: ClassVar[str] = "bh1750"
    addresses: ClassVar[tuple[int, ...]] = ADDRESSES
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


def illuminance_channel(o: BH1750Options) -> ChannelMeta:
    return ChannelMeta(
        id="illuminance", name="Illuminance", unit="lx", device_class=DeviceClass.ILLUMINANCE,
        precision=1, valid_range=(0.0, max_lux(mode=o.mode, mtreg=o.mtreg)),
    )  # fmt: skip


class BH1750Sensor(I2CSensor[BH1750, BH1750Options]):
    def __init__(self, config: SensorConfig, hardware: Hardware) -> None:
        super().__init__(config, hardware)
        self._channels = (illuminance_channel(self.options),)

    @property
    def channels(self) -> tuple[ChannelMeta, ...]:
        return self._channels

    def make_driver(self, bus: I2CBus) -> BH1750:
        o = self.options
        return BH1750(bus, o.address, mode=o.mode, mtreg=o.mtreg, sleep=self.wait)

    def measure(self, driver: BH1750) -> Mapping[str, Value]:
        return {"illuminance": driver.measure()}


TYPE = SensorType(
    name="bh1750",
    options=BH1750Options,
    create=BH1750Sensor,
    description="ROHM BH1750 ambient light in lux (I2C 0x23/0x5C).",
    default_interval=10.0,
    min_interval=1.0,
    channel_ids=lambda _o: ("illuminance",),
    i2c_addresses=ADDRESSES,
)
