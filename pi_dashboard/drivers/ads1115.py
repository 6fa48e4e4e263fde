"""Texas Instruments ADS1115 16-bit, 4-input delta-sigma ADC with programmable gain.

Datasheet ADS111x (SBAS444D): section 9.5.3 "Pointer Register" (Table 6), 9.6.1 "Conversion
Register" (16-bit two's complement, MSB first), 9.6.2 "Config Register" (Table 8: OS, MUX, PGA,
MODE, DR, COMP_QUE), 9.3.3 "Full-Scale Range" and 9.3.6 / Table 3 "Ideal Output Code"
(7FFFh / 8000h at and beyond +/-FSR), 9.4.2 single-shot mode.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pi_dashboard.errors import ChipError
from pi_dashboard.hw.i2c import I2CBus

ADDRESSES = (0x48, 0x49, 0x4A, 0x4B)
"""ADDR pin to GND 0x48, VDD 0x49, SDA 0x4A, SCL 0x4B."""

# Table 6: pointer register
CONVERSION_REGISTER = 0x00
CONFIG_REGISTER = 0x01
LO_THRESH_REGISTER = 0x02
HI_THRESH_REGISTER = 0x03

# Table 8: config register fields
OS = 1 << 15
"""Write 1: start a single conversion. Read 0: converting; 1: idle (conversion done)."""
MUX_SHIFT = 12
MUX_SINGLE_ENDED = 0b100
"""MUX 100..111: AINP = AIN0..AIN3, AINN = GND."""
PGA_SHIFT = 9
MODE_SINGLE_SHOT = 1 << 8
DR_SHIFT = 5
COMP_QUE_DISABLE = 0b11
CONFIG_DEFAULT = 0x8583

PGA_FSR: dict[float, int] = {
    6.144: 0b000,
    4.096: 0b001,
    2.048: 0b010,
    1.024: 0b011,
    0.512: 0b100,
    0.256: 0b101,
}
"""Full-scale range (+/- volts) -> PGA[2:0]. 2.048 V is the power-on default."""
DATA_RATES: dict[int, int] = {
    8: 0b000,
    16: 0b001,
    32: 0b010,
    64: 0b011,
    128: 0b100,
    250: 0b101,
    475: 0b110,
    860: 0b111,
}
"""Samples per second -> DR[2:0]. 128 SPS is the power-on default."""
DATA_RATE_TOLERANCE = 0.10
"""Section 7.5: the internal oscillator, hence the conversion time, is within +/-10 %."""
POLL_INTERVAL_S = 0.001
READY_GRACE_S = 0.02

CODE_MAX = 0x7FFF
CODE_MIN = -0x8000


def single_ended_config(channel: int, fsr: float, data_rate: int = 128) -> int:
    """Config word that starts one single-shot conversion of AINx against GND."""
    if channel not in range(4):
        raise ValueError(f"no input AIN{channel} (AIN0..AIN3)")
    return (
        OS
        | (MUX_SINGLE_ENDED + channel) << MUX_SHIFT
        | PGA_FSR[fsr] << PGA_SHIFT
        | MODE_SINGLE_SHOT
        | DATA_RATES[data_rate] << DR_SHIFT
        | COMP_QUE_DISABLE
    )


def code_from_bytes(msb: int, lsb: int) -> int:
    """The conversion register is big-endian two's complement (SMBus words are little-endian, so
    reading it as a word would swap the bytes)."""
    return int.from_bytes(bytes((msb, lsb)), "big", signed=True)


def volts(code: int, fsr: float) -> float:
    """Table 3: one LSB is FSR / 2^15."""
    return code * fsr / 32768.0


def conversion_time_s(data_rate: int) -> float:
    return 1.0 / data_rate


class ADS1115:
    """Single-shot conversions, one input at a time: start, poll OS, read the conversion result."""

    def __init__(
        self,
        bus: I2CBus,
        address: int = 0x48,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bus = bus
        self.address = address
        self._sleep = sleep
        self._clock = clock

    def write_register(self, register: int, value: int) -> None:
        self.bus.write_i2c_block_data(self.address, register, [(value >> 8) & 0xFF, value & 0xFF])

    def read_register(self, register: int) -> int:
        msb, lsb = self.bus.read_i2c_block_data(self.address, register, 2)
        return (msb << 8) | lsb

    def setup(self) -> int:
        """Read the config register: a NACK means nothing at the address."""
        return self.read_register(CONFIG_REGISTER)

    def read_code(self, channel: int, fsr: float, data_rate: int = 128) -> int:
        self.write_register(CONFIG_REGISTER, single_ended_config(channel, fsr, data_rate))
        nominal = conversion_time_s(data_rate)
        self._sleep(nominal * (1 + DATA_RATE_TOLERANCE))
        deadline = self._clock() + nominal + READY_GRACE_S
        while not self.read_register(CONFIG_REGISTER) & OS:
            if self._clock() >= deadline:
                waited_ms = (nominal * (2 + DATA_RATE_TOLERANCE) + READY_GRACE_S) * 1000
                raise ChipError(
                    f"measurement not ready: AIN{channel} conversion still running "
                    f"after {waited_ms:.0f} ms (OS bit 0)"
                )
            self._sleep(POLL_INTERVAL_S)
        msb, lsb = self.bus.read_i2c_block_data(self.address, CONVERSION_REGISTER, 2)
        return code_from_bytes(msb, lsb)

    def read_volts(self, channel: int, fsr: float, data_rate: int = 128) -> float:
        """AINx against GND in volts; a code pinned at full scale is an error, never clipped."""
        code = self.read_code(channel, fsr, data_rate)
        if code in (CODE_MAX, CODE_MIN):
            sign = "+" if code == CODE_MAX else "-"
            raise ChipError(
                f"input out of range for gain: AIN{channel} is at {sign}{fsr:g} V full scale "
                f"(choose a larger gain, or check the wiring)"
            )
        return volts(code, fsr)
