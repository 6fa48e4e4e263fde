"""Sensirion SHT40/SHT41/SHT43/SHT45 humidity and temperature sensors (SHT4x).

Datasheet SHT4x (v6.5): section 4.5 command overview (Table 7: 8-bit commands, 6-byte replies),
4.6 conversion of signal output, 4.8 serial number, 4.9 soft reset; measurement durations from
Table 4 ("system timing"). Same CRC-8 as the SHT3x (section 4.4).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from pi_dashboard.drivers.sensirion import (
    Clock,
    Sleep,
    read_when_ready,
    unpack_words,
    write_command,
)
from pi_dashboard.hw.i2c import I2CBus

ADDRESSES = (0x44, 0x45, 0x46)
"""The address is fixed per part number: SHT4x-A (0x44, most breakouts), -B (0x45), -C (0x46)."""

Precision = Literal["high", "medium", "low"]

CMD_MEASURE_HIGH_PRECISION = 0xFD
CMD_MEASURE_MEDIUM_PRECISION = 0xF6
CMD_MEASURE_LOWEST_PRECISION = 0xE0
CMD_READ_SERIAL = 0x89
CMD_SOFT_RESET = 0x94

MEASURE_COMMANDS: dict[str, int] = {
    "high": CMD_MEASURE_HIGH_PRECISION,
    "medium": CMD_MEASURE_MEDIUM_PRECISION,
    "low": CMD_MEASURE_LOWEST_PRECISION,
}
MAX_MEASUREMENT_S: dict[str, float] = {"high": 0.0083, "medium": 0.0045, "low": 0.0017}
"""Table 4, maximum measurement duration per repeatability (precision)."""
SOFT_RESET_S = 0.001
"""t_SR, maximum soft reset time."""
SERIAL_READY_S = 0.001


def temperature_c(raw: int) -> float:
    """Section 4.6: T[°C] = -45 + 175 * S_T / (2^16 - 1)."""
    return -45.0 + 175.0 * raw / 65535.0


def humidity_percent(raw: int) -> float:
    """Section 4.6: RH[%] = -6 + 125 * S_RH / (2^16 - 1), cropped to 0..100 as the datasheet advises
    (values outside are physically impossible; they come from the linear fit at the extremes)."""
    return min(max(-6.0 + 125.0 * raw / 65535.0, 0.0), 100.0)


@dataclass(frozen=True, slots=True)
class Measurement:
    temperature_c: float
    humidity_percent: float


class SHT4x:
    """One SHT4x on a bus: reset, read its serial number, then single-shot measurements."""

    def __init__(
        self,
        bus: I2CBus,
        address: int = 0x44,
        *,
        precision: Precision = "high",
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        if precision not in MEASURE_COMMANDS:
            raise ValueError(f"unknown precision {precision!r}")
        self.bus = bus
        self.address = address
        self.precision = precision
        self._sleep = sleep
        self._clock = clock

    def command(self, cmd: int) -> None:
        write_command(self.bus, self.address, bytes((cmd,)))

    def soft_reset(self) -> None:
        self.command(CMD_SOFT_RESET)
        self._sleep(SOFT_RESET_S)

    def read_serial(self) -> int:
        self.command(CMD_READ_SERIAL)
        data = read_when_ready(
            self.bus,
            self.address,
            6,
            max_duration_s=SERIAL_READY_S,
            sleep=self._sleep,
            clock=self._clock,
        )
        hi, lo = unpack_words(data, ("serial number high", "serial number low"))
        return (hi << 16) | lo

    def setup(self) -> int:
        """Soft reset and read the serial number: a CRC-valid serial proves an SHT4x answered."""
        self.soft_reset()
        return self.read_serial()

    def measure(self) -> Measurement:
        self.command(MEASURE_COMMANDS[self.precision])
        data = read_when_ready(
            self.bus,
            self.address,
            6,
            max_duration_s=MAX_MEASUREMENT_S[self.precision],
            sleep=self._sleep,
            clock=self._clock,
        )
        raw_t, raw_rh = unpack_words(data, ("temperature", "humidity"))
        return Measurement(temperature_c(raw_t), humidity_percent(raw_rh))
