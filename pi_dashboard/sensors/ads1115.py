"""`ads1115`: Texas Instruments ADS1115 16-bit ADC, e.g. the Adafruit 1085 or the blue unbranded
ADS1115 modules. I2C 0x48 (ADDR to GND), 0x49 (VDD), 0x4A (SDA), 0x4B (SCL).

Each entry of `inputs` is one single-ended input (AINx against GND) with its own gain (the PGA's
full-scale range in volts) and, optionally, what the voltage means: its name, kind (device class)
and unit label. Turning volts into that unit is the generic per-channel `scale`/`offset` of
`[sensors.channels.ainX]`, so calibration works the same as on every other sensor type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pi_dashboard.drivers.ads1115 import ADDRESSES, ADS1115, DATA_RATES, PGA_FSR
from pi_dashboard.errors import FieldError
from pi_dashboard.hw.i2c import I2CBus
from pi_dashboard.model import ChannelMeta, DeviceClass, Value
from pi_dashboard.sensors.base import SensorType
from pi_dashboard.sensors.i2c import I2COptions, I2CSensor

KINDS = ("voltage", "current", "power", "moisture", "humidity", "temperature", "pressure",
         "illuminance", "distance", "none")  # fmt: skip
"""What a scaled input may be (Home Assistant device classes); "none" for a plain number."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ADS1115Input:
    channel: int
    """0..3 for AIN0..AIN3, measured against GND."""
    gain: float = 4.096
    """Full-scale range in volts (the datasheet's FSR): 6.144, 4.096, 2.048, 1.024, 0.512, 0.256.
    Pick the smallest that is above the largest voltage the input can see."""
    name: str | None = None
    kind: str = "voltage"
    unit: str = "V"
    """Label of the value after `[sensors.channels.ainX]` scale/offset; "V" if unscaled."""
    precision: int | None = None
    """Decimals shown; default 3 for volts, 1 otherwise."""

    def __post_init__(self) -> None:
        if self.channel not in range(4):
            raise FieldError("channel", f"must be 0, 1, 2 or 3 (AIN0..AIN3), got {self.channel}")
        if self.gain not in PGA_FSR:
            allowed = ", ".join(f"{g:g}" for g in PGA_FSR)
            raise FieldError(
                "gain", f"must be one of {allowed} (full-scale volts), got {self.gain:g}"
            )
        if self.kind not in KINDS:
            raise FieldError("kind", f'must be one of {", ".join(KINDS)}, got "{self.kind}"')
        if self.precision is not None and not 0 <= self.precision <= 6:
            raise FieldError("precision", f"must be 0..6 decimals, got {self.precision}")

    @property
    def channel_id(self) -> str:
        return f"ain{self.channel}"

    def meta(self) -> ChannelMeta:
        precision = self.precision
        if precision is None:
            precision = 3 if self.unit == "V" else 1
        return ChannelMeta(
            id=self.channel_id,
            name=self.name or f"AIN{self.channel}",
            unit=self.unit,
            device_class=DeviceClass(self.kind),
            precision=precision,
            valid_range=(-self.gain, self.gain),  # checked on the volts, before scale/offset
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ADS1115Options(I2COptions):
    address: int = 0x48
    data_rate: int = 128
    """Samples/s: 8, 16, 32, 64, 128, 250, 475, 860. Slower = less noise (1/rate per input)."""
    inputs: tuple[ADS1115Input, ...] = field(default_factory=lambda: (ADS1115Input(channel=0),))
    """The inputs to read, in order; default AIN0 at +/-4.096 V."""

    def __post_init__(self) -> None:
        I2COptions.__post_init__(self)
        if self.data_rate not in DATA_RATES:
            allowed = ", ".join(str(r) for r in DATA_RATES)
            raise FieldError(
                "data_rate", f"must be one of {allowed} samples/s, got {self.data_rate}"
            )
        if not self.inputs:
            raise FieldError("inputs", "must list at least one input (channel 0..3)")
        seen: dict[int, int] = {}
        for i, inp in enumerate(self.inputs):
            if inp.channel in seen:
                raise FieldError(
                    f"inputs[{i}].channel",
                    f"AIN{inp.channel} is already read by inputs[{seen[inp.channel]}]",
                )
            seen[inp.channel] = i


class ADS1115Sensor(I2CSensor[ADS1115, ADS1115Options]):
    @classmethod
    def channels_for(cls, options: ADS1115Options) -> tuple[ChannelMeta, ...]:
        return tuple(inp.meta() for inp in options.inputs)

    def make_driver(self, bus: I2CBus) -> ADS1115:
        return ADS1115(bus, self.options.address, sleep=self.wait, clock=self.now)

    def measure(self, driver: ADS1115) -> Mapping[str, Value]:
        return {
            inp.channel_id: driver.read_volts(inp.channel, inp.gain, self.options.data_rate)
            for inp in self.options.inputs
        }


TYPE = SensorType(
    name="ads1115",
    description="TI ADS1115 16-bit ADC: up to four analog inputs, volts or scaled (I2C 0x48-0x4B).",
    options=ADS1115Options,
    sensor=ADS1115Sensor,
    default_interval=10.0,
    min_interval=0.1,
    i2c_addresses=ADDRESSES,
    simulated="pi_dashboard.sim.chips.ads1115:place",
)
