"""TE (MEAS) HTU21D(F), Silicon Labs Si7021 and Sensirion SHT20/SHT21: one command set at 0x40.

Datasheet HTU21D(F) (HPC199_6): "Commands" (0xF3/0xF5 trigger measurement, no hold master;
0xE6/0xE7 user register; 0xFE soft reset), "Measuring time" (14-bit T 50 ms, 12-bit RH 16 ms max),
"User register", "Communication protocol with HTU21D(F)" (no hold master: the read header is NACKed
until the measurement is done; 2 data bytes, the last two bits are status, then a CRC),
"CRC Checksum" (x^8 + x^5 + x^4 + 1, init 0x00; examples 0xDC -> 0x79, 0x683A -> 0x7C,
0x4E85 -> 0x6B), "Conversion of signal outputs". The Si7021 datasheet (sections 5.1, 5.1.1, 5.1.2)
and the SHT21 datasheet use the same commands, CRC and formulas; the SHT21's slower 14-bit
temperature (85 ms max) is covered by the retry after the HTU21D's maximum time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pi_dashboard.drivers.sensirion import (
    Clock,
    Sleep,
    read_when_ready,
    unpack_words,
    write_command,
)
from pi_dashboard.hw.i2c import I2CBus, i2c_msg

ADDRESSES = (0x40,)

TRIGGER_T_MEASUREMENT_NO_HOLD = 0xF3
TRIGGER_RH_MEASUREMENT_NO_HOLD = 0xF5
WRITE_USER_REGISTER = 0xE6
READ_USER_REGISTER = 0xE7
SOFT_RESET = 0xFE

CRC_INIT = 0x00
STATUS_BITS = 0x0003
"""The two LSBs of every measurement word are status, not data: masked before conversion."""

# user register bits
RESOLUTION_BITS = 0x81
"""Bits 7 and 0: 00 = RH 12 bit / T 14 bit, the default and the one we use."""
ENABLE_HEATER = 0x04
"""Survives a soft reset: a heater left on by another program has to be switched off."""

MAX_T_MEASUREMENT_S = 0.050
MAX_RH_MEASUREMENT_S = 0.016
SOFT_RESET_S = 0.015


def temperature_c(raw: int) -> float:
    """T = -46.85 + 175.72 * S_T / 2^16, status bits cleared."""
    return -46.85 + 175.72 * (raw & ~STATUS_BITS) / 65536.0


def humidity_percent(raw: int) -> float:
    """RH = -6 + 125 * S_RH / 2^16, status bits cleared; the formula reaches -6..119 %, so it is
    cropped to the physically possible 0..100 % (HTU21D and Si7021 datasheets)."""
    return min(max(-6.0 + 125.0 * (raw & ~STATUS_BITS) / 65536.0, 0.0), 100.0)


@dataclass(frozen=True, slots=True)
class Measurement:
    temperature_c: float
    humidity_percent: float


class HTU21D:
    """No-hold-master measurements (the Pi's I2C controller mishandles clock stretching)."""

    def __init__(
        self,
        bus: I2CBus,
        address: int = 0x40,
        *,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        self.bus = bus
        self.address = address
        self._sleep = sleep
        self._clock = clock

    def command(self, cmd: int, *data: int) -> None:
        write_command(self.bus, self.address, bytes((cmd, *data)))

    def read_user_register(self) -> int:
        self.command(READ_USER_REGISTER)
        msg = i2c_msg.read(self.address, 1)
        self.bus.i2c_rdwr(msg)
        return bytes(msg)[0]

    def setup(self) -> int:
        """Soft reset, then ensure the default resolution and the heater off (reserved bits are
        written back as read, as the datasheet requires)."""
        self.command(SOFT_RESET)
        self._sleep(SOFT_RESET_S)
        reg = self.read_user_register()
        wanted = reg & ~(RESOLUTION_BITS | ENABLE_HEATER)
        if wanted != reg:
            self.command(WRITE_USER_REGISTER, wanted)
        return wanted

    def _measure(self, cmd: int, max_s: float, name: str) -> int:
        self.command(cmd)
        data = read_when_ready(
            self.bus, self.address, 3, max_duration_s=max_s, sleep=self._sleep, clock=self._clock
        )
        (raw,) = unpack_words(data, (name,), init=CRC_INIT)
        return raw

    def measure(self) -> Measurement:
        raw_t = self._measure(TRIGGER_T_MEASUREMENT_NO_HOLD, MAX_T_MEASUREMENT_S, "temperature")
        raw_rh = self._measure(TRIGGER_RH_MEASUREMENT_NO_HOLD, MAX_RH_MEASUREMENT_S, "humidity")
        return Measurement(temperature_c(raw_t), humidity_percent(raw_rh))
