"""ROHM BH1750FVI ambient light sensor.

Technical note BH1750FVI (2011.11 Rev.D): "Instruction Set Architecture" (opcodes), "Measurement
mode explanation" (H-resolution, H-resolution mode2, L-resolution), "Adjust measurement result for
influence of optical window" (MTreg, the two-part Change Measurement time command), "I2C Bus
Access" (read format and the worked example 0x8390 -> 28067 lx); times from "Electrical
Characteristics" (t_HR max 180 ms, t_LR max 24 ms at MTreg = 69).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from pi_dashboard.errors import ChipError
from pi_dashboard.hw.i2c import I2CBus, i2c_msg

ADDRESSES = (0x23, 0x5C)
"""ADDR pin low: 0x23 (most breakouts pull it down); ADDR high: 0x5C."""

Mode = Literal["high", "high2", "low"]

POWER_DOWN = 0x00
POWER_ON = 0x01
RESET = 0x07
"""Clears the data register; only accepted while powered on."""
CONTINUOUSLY_H_RESOLUTION_MODE = 0x10
CONTINUOUSLY_H_RESOLUTION_MODE2 = 0x11
CONTINUOUSLY_L_RESOLUTION_MODE = 0x13
ONE_TIME_H_RESOLUTION_MODE = 0x20
ONE_TIME_H_RESOLUTION_MODE2 = 0x21
ONE_TIME_L_RESOLUTION_MODE = 0x23
CHANGE_MEASUREMENT_TIME_HIGH = 0x40
"""01000_MT[7,6,5]: the high three bits of MTreg."""
CHANGE_MEASUREMENT_TIME_LOW = 0x60
"""011_MT[4,3,2,1,0]: the low five bits of MTreg."""

MTREG_DEFAULT = 69
MTREG_MIN = 31
MTREG_MAX = 254

ONE_TIME_COMMANDS: dict[str, int] = {
    "high": ONE_TIME_H_RESOLUTION_MODE,
    "high2": ONE_TIME_H_RESOLUTION_MODE2,
    "low": ONE_TIME_L_RESOLUTION_MODE,
}
MAX_MEASUREMENT_S: dict[str, float] = {"high": 0.180, "high2": 0.180, "low": 0.024}
"""Maximum measurement time at the default MTreg; it scales with MTreg / 69."""
SATURATED = 0xFFFF


def change_measurement_time(mtreg: int) -> tuple[int, int]:
    """The two opcodes that set MTreg (each must be its own I2C write with a stop in between)."""
    if not MTREG_MIN <= mtreg <= MTREG_MAX:
        raise ValueError(f"MTreg {mtreg} outside {MTREG_MIN}..{MTREG_MAX}")
    return CHANGE_MEASUREMENT_TIME_HIGH | (mtreg >> 5), CHANGE_MEASUREMENT_TIME_LOW | (mtreg & 0x1F)


def lux(raw: int, *, mode: Mode = "high", mtreg: int = MTREG_DEFAULT) -> float:
    """Counts -> lx: raw / 1.2 at the default MTreg; MTreg scales sensitivity, and H-resolution
    mode2 counts half-lux steps."""
    value = raw / 1.2 * (MTREG_DEFAULT / mtreg)
    return value / 2 if mode == "high2" else value


def max_lux(*, mode: Mode = "high", mtreg: int = MTREG_DEFAULT) -> float:
    return lux(SATURATED - 1, mode=mode, mtreg=mtreg)


def measurement_time_s(*, mode: Mode = "high", mtreg: int = MTREG_DEFAULT) -> float:
    return MAX_MEASUREMENT_S[mode] * mtreg / MTREG_DEFAULT


class BH1750:
    """One BH1750 in one-time mode: it powers itself down after every measurement.

    The chip has no ready flag and no CRC: a read during a measurement returns the previous
    result, so the driver always waits the datasheet's maximum measurement time."""

    def __init__(
        self,
        bus: I2CBus,
        address: int = 0x23,
        *,
        mode: Mode = "high",
        mtreg: int = MTREG_DEFAULT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if mode not in ONE_TIME_COMMANDS:
            raise ValueError(f"unknown mode {mode!r}")
        change_measurement_time(mtreg)  # validates
        self.bus = bus
        self.address = address
        self.mode: Mode = mode
        self.mtreg = mtreg
        self._sleep = sleep

    def opcode(self, op: int) -> None:
        """One opcode per write: the chip does not accept several without a stop in between."""
        self.bus.i2c_rdwr(i2c_msg.write(self.address, bytes((op,))))

    def setup(self) -> None:
        """Power on, clear the data register, set MTreg (kept through power-down, not power-off)."""
        self.opcode(POWER_ON)
        self.opcode(RESET)
        for op in change_measurement_time(self.mtreg):
            self.opcode(op)

    def read_raw(self) -> int:
        msg = i2c_msg.read(self.address, 2)
        self.bus.i2c_rdwr(msg)
        high, low = bytes(msg)
        return (high << 8) | low

    def measure(self) -> float:
        """One-time measurement in lx; a saturated count is an error, never a clipped number."""
        self.opcode(POWER_ON)
        self.opcode(ONE_TIME_COMMANDS[self.mode])
        self._sleep(measurement_time_s(mode=self.mode, mtreg=self.mtreg))
        raw = self.read_raw()
        if raw == SATURATED:
            limit = max_lux(mode=self.mode, mtreg=self.mtreg)
            if self.mode == "high2":
                hint = 'use mode "high" or a lower mtreg'
            elif self.mtreg > MTREG_MIN:
                widest = max_lux(mode=self.mode, mtreg=MTREG_MIN)
                hint = f"lower mtreg ({MTREG_MIN} reaches about {widest:.0f} lx)"
            else:
                hint = "shade the sensor and scale the channel up"
            raise ChipError(
                f"saturated: more light than mode {self.mode!r} at mtreg {self.mtreg} can measure "
                f"(about {limit:.0f} lx); {hint}"
            )
        return lux(raw, mode=self.mode, mtreg=self.mtreg)
