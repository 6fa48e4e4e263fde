"""Maxim DS18B20 (and DS1822, DS18S20) 1-Wire thermometers, read through Linux's w1_therm.

DS18B20 datasheet: "Operation - Measuring Temperature" (Figure 4 "Temperature Register Format",
Table 1 "Temperature/Data Relationship": the power-on reset value is +85 °C = 0550h, and at 9-11
bits the low register bits are undefined), "Configuration Register" (R1 R0: 9 to 12 bits),
"Memory" (scratchpad: bytes 0-1 temperature, 2-3 TH/TL, 4 config, 5-7 reserved, 8 CRC) and
"CRC Generation" (CRC = X^8 + X^5 + X^4 + 1, LSB first: Maxim application note 27).
DS18S20 datasheet: "Operation - Measuring Temperature" (9-bit register, 0.5 °C per bit, power-on
00AAh) and the extended-resolution formula with COUNT_REMAIN / COUNT_PER_C (bytes 6 and 7).

The kernel already checks the CRC, but an all-zero scratchpad (the data line stuck low) passes
any CRC, and a brownout makes the probe answer its power-on scratchpad (85 °C) with a valid CRC:
this driver checks both, and the CRC itself, before a number is trusted. A power-on value is told
from a real 85 °C by the scratchpad alone, as the kernel's w1_therm.c does (`convert_t()`, feature
W1_THERM_CHECK_RESULT): register 0550h *and* reserved byte 6 = 0Ch, its power-up state. After a
conversion byte 6 is 10h - (register & 0Fh), which is 10h for a real 85.000 °C.
"""

from __future__ import annotations

import logging

from pi_dashboard.errors import ChipError, SensorError
from pi_dashboard.hw.onewire import OneWireBus

log = logging.getLogger(__name__)

FAMILY_DS18S20 = "10"
FAMILY_DS1822 = "22"
FAMILY_DS18B20 = "28"
FAMILIES: dict[str, str] = {
    FAMILY_DS18S20: "DS18S20",
    FAMILY_DS1822: "DS1822",
    FAMILY_DS18B20: "DS18B20",
}
"""1-Wire family code -> chip. 3b (DS1825/MAX31850) is left out: the two share the code but not
the meaning of the temperature register's low bits."""

T_MIN_C = -55.0
T_MAX_C = 125.0
"""Measurement range of all three (datasheet "Features")."""

POWER_ON_RAW = {FAMILY_DS18S20: 0x00AA, FAMILY_DS1822: 0x0550, FAMILY_DS18B20: 0x0550}
"""+85 °C: what the temperature register holds from power-on until a conversion completes."""
POWER_ON_BYTE6 = 0x0C
"""Scratchpad byte 6 at power-up (DS18B20 reserved byte; DS18S20 COUNT_REMAIN)."""
POWER_ON_MILLICELSIUS = 85000
POWER_ON_HINT = "the probe reset (check its power and the 4.7 kΩ pull-up)"

RAW_GLITCH = 0x07FF
"""127.9375 °C (the kernel shows t=127937): a corrupted register, far above the 125 °C maximum."""

SCRATCHPAD_LEN = 9
CONFIG_FIXED_BITS = 0x1F
"""Configuration register bits 4..0 read as 1 on a genuine DS18B20/DS1822 (Table 2)."""


def crc8(data: bytes) -> int:
    """Dallas/Maxim 1-Wire CRC-8: polynomial X^8 + X^5 + X^4 + 1, shifted LSB first (0x8C)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8C if crc & 1 else crc >> 1
    return crc


def _s16(lsb: int, msb: int) -> int:
    raw = lsb | msb << 8
    return raw - 0x10000 if raw & 0x8000 else raw


def check_scratchpad(scratchpad: bytes) -> None:
    """Raise ChipError unless the 9 bytes are a real answer with a matching CRC."""
    if len(scratchpad) != SCRATCHPAD_LEN:
        raise ChipError(f"scratchpad has {len(scratchpad)} bytes, expected {SCRATCHPAD_LEN}")
    if scratchpad == b"\xff" * SCRATCHPAD_LEN:
        raise ChipError("probe not answering (scratchpad all ff: is it connected?)")
    if scratchpad == bytes(SCRATCHPAD_LEN):
        raise ChipError("probe not answering (scratchpad all 00: data line held low?)")
    expected = crc8(scratchpad[:8])
    if scratchpad[8] != expected:
        raise ChipError(f"CRC mismatch (got 0x{scratchpad[8]:02x}, expected 0x{expected:02x})")


def is_power_on(family: str, scratchpad: bytes) -> bool:
    """The scratchpad as the chip powers up: no conversion has completed since (a brownout, or
    too little current for a parasite-powered conversion). On a DS18S20 a real 85.000 °C reads
    the same bytes, so there an exact 85.000 is always refused."""
    raw = scratchpad[0] | scratchpad[1] << 8
    return raw == POWER_ON_RAW[family] and scratchpad[6] == POWER_ON_BYTE6


def celsius(family: str, scratchpad: bytes) -> float:
    """The temperature register in °C, as the datasheet of `family` defines it."""
    raw = _s16(scratchpad[0], scratchpad[1])
    if family == FAMILY_DS18S20:
        # 9-bit register in 0.5 °C; extended resolution: TEMP_READ - 0.25 + (CPC - CR) / CPC
        count_remain, count_per_c = scratchpad[6], scratchpad[7]
        if count_per_c == 0:
            return raw / 2
        return (raw >> 1) - 0.25 + (count_per_c - count_remain) / count_per_c
    if raw == RAW_GLITCH:
        raise ChipError("glitch value 127.94 °C (register 07FFh): a corrupted read")
    config = scratchpad[4]
    if config & CONFIG_FIXED_BITS == CONFIG_FIXED_BITS:
        undefined_bits = 3 - (config >> 5 & 0b11)  # 9 bits: 3 undefined, ..., 12 bits: none
        raw &= ~((1 << undefined_bits) - 1)
    return raw / 16


class DS18B20:
    """One probe on the bus: one read = one conversion, retried once before giving up."""

    def __init__(self, bus: OneWireBus, slave: str) -> None:
        family = slave[:2]
        if family not in FAMILIES:
            raise ValueError(f"{slave}: family {family} is not a supported thermometer")
        self.bus = bus
        self.slave = slave
        self.family = family
        self.chip = FAMILIES[family]

    def not_found(self) -> SensorError:
        return SensorError(
            f"probe {self.slave} not found on the 1-Wire bus (is dtoverlay=w1-gpio enabled?)"
        )

    def read(self) -> float:
        """°C; any bad read is retried once (a glitch rarely repeats), then raises SensorError."""
        if not self.bus.has(self.slave):
            raise self.not_found()
        try:
            return self._read_once()
        except (SensorError, OSError) as e:
            log.debug("%s: %s; retrying once", self.slave, e)
        return self._read_once()

    def _read_once(self) -> float:
        try:
            if self.bus.has_attr(self.slave, "w1_slave"):
                t = self._from_w1_slave()
            elif self.bus.has_attr(self.slave, "temperature"):
                t = self._from_temperature()
            else:
                raise SensorError(
                    f"{self.slave} has neither w1_slave nor temperature (is w1_therm loaded?)"
                )
        except FileNotFoundError:
            raise self.not_found() from None
        except ChipError as e:
            raise ChipError(f"{self.slave}: {e}") from None
        if not T_MIN_C <= t <= T_MAX_C:
            raise ChipError(
                f"{self.slave}: {t:g} °C is outside the {self.chip} range "
                f"({T_MIN_C:g} to {T_MAX_C:g} °C)"
            )
        return t

    def _from_w1_slave(self) -> float:
        r = self.bus.read_w1_slave(self.slave)
        check_scratchpad(r.scratchpad)
        if not r.kernel_crc_ok:  # our CRC passed but the kernel's did not: trust neither
            raise ChipError("the kernel reports a CRC error")
        if is_power_on(self.family, r.scratchpad):
            raise ChipError(f"power-on value 85 °C (scratchpad byte 6 = 0Ch): {POWER_ON_HINT}")
        return celsius(self.family, r.scratchpad)

    def _from_temperature(self) -> float:
        """Kernels without w1_slave for a family: no scratchpad, so only value checks apply, and
        an exact 85.000 °C cannot be told from a power-on value: it is refused."""
        milli = self.bus.read_temperature(self.slave)
        if self.family != FAMILY_DS18S20 and milli in (127937, 127938):
            raise ChipError("glitch value 127.94 °C (register 07FFh): a corrupted read")
        if milli == POWER_ON_MILLICELSIUS:
            raise ChipError(
                f"85.000 °C with no scratchpad to tell it from the power-on value: {POWER_ON_HINT}"
            )
        return milli / 1000
