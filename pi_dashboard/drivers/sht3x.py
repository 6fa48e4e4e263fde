"""Sensirion SHT30/SHT31/SHT35 humidity and temperature sensors (SHT3x-DIS).

Datasheet SHT3x-DIS (v7): section 4.3 single shot mode (Table 9), 4.4 readout, 4.9 soft reset
(Table 13), 4.10 heater (Table 16), 4.11 status register (Tables 17, 18), 4.12 checksum (Table 20),
4.13 conversion of signal output; measurement durations from Table 4.
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
from pi_dashboard.errors import ChipError
from pi_dashboard.hw.i2c import I2CBus

ADDRESSES = (0x44, 0x45)
"""ADDR pin to VSS: 0x44 (default); to VDD: 0x45."""

Repeatability = Literal["high", "medium", "low"]

# Table 9: single shot, clock stretching disabled (the Pi's I2C controller mishandles stretching).
CMD_MEASURE_HIGH_REP = 0x2400
CMD_MEASURE_MEDIUM_REP = 0x240B
CMD_MEASURE_LOW_REP = 0x2416
CMD_SOFT_RESET = 0x30A2  # Table 13
CMD_HEATER_ENABLE = 0x306D  # Table 16
CMD_HEATER_DISABLE = 0x3066
CMD_READ_STATUS = 0xF32D  # Table 17
CMD_CLEAR_STATUS = 0x3041  # Table 19

MEASURE_COMMANDS: dict[str, int] = {
    "high": CMD_MEASURE_HIGH_REP,
    "medium": CMD_MEASURE_MEDIUM_REP,
    "low": CMD_MEASURE_LOW_REP,
}
MAX_MEASUREMENT_S: dict[str, float] = {"high": 0.0155, "medium": 0.0065, "low": 0.0045}
"""Table 4, maximum measurement duration per repeatability."""
SOFT_RESET_S = 0.0015
"""t_SR, time the sensor needs after a soft reset before it accepts commands."""
COMMAND_GAP_S = 0.001
"""Table 9: at least 1 ms between the end of one command and the next."""

# Table 18: status register bits
STATUS_ALERT_PENDING = 1 << 15
STATUS_HEATER_ON = 1 << 13
STATUS_RH_ALERT = 1 << 11
STATUS_T_ALERT = 1 << 10
STATUS_RESET_DETECTED = 1 << 4
STATUS_COMMAND_FAILED = 1 << 1
STATUS_WRITE_CRC_FAILED = 1 << 0


def temperature_c(raw: int) -> float:
    """Section 4.13: T[°C] = -45 + 175 * S_T / (2^16 - 1)."""
    return -45.0 + 175.0 * raw / 65535.0


def humidity_percent(raw: int) -> float:
    """Section 4.13: RH[%] = 100 * S_RH / (2^16 - 1)."""
    return 100.0 * raw / 65535.0


@dataclass(frozen=True, slots=True)
class Measurement:
    temperature_c: float
    humidity_percent: float


class SHT3x:
    """One SHT3x on a bus; single-shot measurements, no clock stretching, every word CRC-checked."""

    def __init__(
        self,
        bus: I2CBus,
        address: int = 0x44,
        *,
        repeatability: Repeatability = "high",
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        if repeatability not in MEASURE_COMMANDS:
            raise ValueError(f"unknown repeatability {repeatability!r}")
        self.bus = bus
        self.address = address
        self.repeatability = repeatability
        self._sleep = sleep
        self._clock = clock

    def command(self, cmd: int) -> None:
        write_command(self.bus, self.address, cmd.to_bytes(2, "big"))

    def soft_reset(self) -> None:
        self.command(CMD_SOFT_RESET)
        self._sleep(SOFT_RESET_S)

    def set_heater(self, on: bool) -> None:
        self.command(CMD_HEATER_ENABLE if on else CMD_HEATER_DISABLE)
        self._sleep(COMMAND_GAP_S)

    def read_status(self) -> int:
        self.command(CMD_READ_STATUS)
        data = read_when_ready(
            self.bus,
            self.address,
            3,
            max_duration_s=COMMAND_GAP_S,
            sleep=self._sleep,
            clock=self._clock,
        )
        (status,) = unpack_words(data, ("status",))
        return status

    def setup(self, *, heater: bool = False) -> int:
        """Soft reset, heater to the wanted state, then check the status register says so.

        A chip answering with a valid CRC and the heater bit we asked for is an SHT3x that took our
        commands; anything else at the address fails here rather than producing numbers later."""
        self.soft_reset()
        self.set_heater(heater)
        status = self.read_status()
        if status & STATUS_COMMAND_FAILED:
            raise ChipError(f"SHT3x rejected the heater command (status 0x{status:04x})")
        if bool(status & STATUS_HEATER_ON) != heater:
            state = "on" if status & STATUS_HEATER_ON else "off"
            raise ChipError(f"SHT3x heater is {state} after the command (status 0x{status:04x})")
        return status

    def measure(self) -> Measurement:
        self.command(MEASURE_COMMANDS[self.repeatability])
        data = read_when_ready(
            self.bus,
            self.address,
            6,
            max_duration_s=MAX_MEASUREMENT_S[self.repeatability],
            sleep=self._sleep,
            clock=self._clock,
        )
        raw_t, raw_rh = unpack_words(data, ("temperature", "humidity"))
        return Measurement(temperature_c(raw_t), humidity_percent(raw_rh))
