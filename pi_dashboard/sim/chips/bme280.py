"""Simulated Bosch BME280 / BMP280: registers, soft reset, forced-mode conversions with timing.

A conversion turns the room's temperature, pressure and humidity into the raw ADC codes a real
chip would report, by inverting the datasheet's compensation (BST-BME280-DS002 4.2.3, the 32/64-bit
integer formulas, i.e. not the double-precision set the driver uses, so a transcription slip in
either shows up as a round-trip error). Modelled as on the chip: ctrl_hum latched by the next
ctrl_meas write (5.4.3), `measuring`/`im_update` status bits on a clock, skipped measurements
reading 0x80000/0x8000, 16 + (osrs - 1) bit resolution without the IIR filter and 20 bits with it
(3.4.2, 3.4.3), and the IIR filter itself (3.4.4). Normal mode is not modelled: any write with a
non-zero mode runs one conversion.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pi_dashboard.sim.chips.base import RegisterChip

if TYPE_CHECKING:
    from pi_dashboard.config import OnI2C, SensorConfig
    from pi_dashboard.sim.world import Environment, SimWorld

REG_CALIB00 = 0x88
REG_CHIP_ID = 0xD0
REG_RESET = 0xE0
REG_CALIB26 = 0xE1
REG_CTRL_HUM = 0xF2
REG_STATUS = 0xF3
REG_CTRL_MEAS = 0xF4
REG_CONFIG = 0xF5
REG_DATA = 0xF7  # press(3) temp(3) hum(2)

SKIPPED_20 = 0x80000
SKIPPED_16 = 0x8000
OSRS_FACTOR = {0: 0, 1: 1, 2: 2, 3: 4, 4: 8, 5: 16, 6: 16, 7: 16}
FILTER_COEFF = {0: 0, 1: 2, 2: 4, 3: 8, 4: 16, 5: 16, 6: 16, 7: 16}
NVM_COPY_S = 0.002


@dataclass(frozen=True, slots=True, kw_only=True)
class Trimming:
    """The NVM trimming words. T/P: the BMP280 datasheet's worked example (3.12); H: typical of
    real BME280s (dig_H1 75, dig_H2 ~360, dig_H3 0, dig_H4 ~310, dig_H5 ~50, dig_H6 30)."""

    T1: int = 27504
    T2: int = 26435
    T3: int = -1000
    P1: int = 36477
    P2: int = -10685
    P3: int = 3024
    P4: int = 2855
    P5: int = 140
    P6: int = -7
    P7: int = 15500
    P8: int = -14600
    P9: int = 6000
    H1: int = 75
    H2: int = 362
    H3: int = 0
    H4: int = 313
    H5: int = 50
    H6: int = 30

    def calib00(self) -> bytes:
        """0x88..0xA1 as stored: little-endian words, a reserved byte, then dig_H1."""
        words = struct.pack(
            "<HhhHhhhhhhhh", self.T1, self.T2, self.T3, self.P1, self.P2, self.P3,
            self.P4, self.P5, self.P6, self.P7, self.P8, self.P9,
        )  # fmt: skip
        return words + bytes([0x00, self.H1 & 0xFF])

    def calib26(self) -> bytes:
        """0xE1..0xE7: dig_H2, dig_H3, then the 12-bit H4/H5 pair sharing register 0xE5."""
        h4, h5 = self.H4 & 0xFFF, self.H5 & 0xFFF
        return struct.pack("<hB", self.H2, self.H3) + bytes(
            [h4 >> 4, (h4 & 0x0F) | ((h5 & 0x0F) << 4), h5 >> 4, self.H6 & 0xFF]
        )


# --- the datasheet's integer compensation (4.2.3), used here only to find raw codes ------------


def _cdiv(a: int, b: int) -> int:
    """C integer division (truncates toward zero); Python's // floors."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def t_fine_int(c: Trimming, adc_t: int) -> int:
    var1 = (((adc_t >> 3) - (c.T1 << 1)) * c.T2) >> 11
    x = (adc_t >> 4) - c.T1
    var2 = (((x * x) >> 12) * c.T3) >> 14
    return var1 + var2


def pressure_q24_8(c: Trimming, adc_p: int, t_fine: int) -> int:
    """Pa in Q24.8 (1/256 Pa), the 64-bit integer formula."""
    var1 = t_fine - 128000
    var2 = var1 * var1 * c.P6
    var2 = var2 + ((var1 * c.P5) << 17)
    var2 = var2 + (c.P4 << 35)
    var1 = ((var1 * var1 * c.P3) >> 8) + ((var1 * c.P2) << 12)
    var1 = (((1 << 47) + var1) * c.P1) >> 33
    if var1 == 0:
        return 0
    p = 1048576 - adc_p
    p = _cdiv(((p << 31) - var2) * 3125, var1)
    var1 = (c.P9 * (p >> 13) * (p >> 13)) >> 25
    var2 = (c.P8 * p) >> 19
    return ((p + var1 + var2) >> 8) + (c.P7 << 4)


def humidity_q22_10(c: Trimming, adc_h: int, t_fine: int) -> int:
    """%RH in Q22.10 (1/1024 %RH), the 32-bit integer formula, clamped to 0..100 %RH."""
    v = t_fine - 76800
    offset = (((adc_h << 14) - (c.H4 << 20) - (c.H5 * v)) + 16384) >> 15
    gain = (((((v * c.H6) >> 10) * (((v * c.H3) >> 11) + 32768)) >> 10) + 2097152) * c.H2
    v = offset * ((gain + 8192) >> 14)
    v = v - (((((v >> 15) * (v >> 15)) >> 7) * c.H1) >> 4)
    v = min(max(v, 0), 419430400)
    return v >> 12


def nearest_code(f: Callable[[int], float], target: float, bits: int, width: int) -> int:
    """The raw code on a `bits`-bit grid of a `width`-bit ADC whose f() is nearest `target`.

    Bisection: f is monotonic over the code range (increasing or decreasing, found from its ends).
    """
    step = 1 << (width - bits)
    n = 1 << bits
    increasing = f(0) <= f((n - 1) * step)
    sign = 1.0 if increasing else -1.0
    lo, hi = 0, n - 1  # find the first code with sign * f >= sign * target
    while lo < hi:
        mid = (lo + hi) // 2
        if sign * f(mid * step) >= sign * target:
            hi = mid
        else:
            lo = mid + 1
    best = lo
    if lo > 0 and abs(f((lo - 1) * step) - target) <= abs(f(lo * step) - target):
        best = lo - 1
    return best * step


class SimBME280(RegisterChip):
    """A BME280 breakout on the simulated bus, measuring `env` when forced."""

    chip_id = 0x60
    has_humidity = True

    def __init__(
        self,
        env: Environment,
        *,
        trimming: Trimming | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.env = env
        self.trimming = trimming or Trimming()
        self.clock = clock
        """Conversion and NVM-copy timing run on this; tests share a fake one with the driver."""
        # fault injection
        self.stuck_measuring = False
        """The `measuring` bit never clears and the data registers never update."""
        self.skip_temperature = False
        self.skip_pressure = False
        self.skip_humidity = False
        """Report that measurement as skipped (0x80000 / 0x8000), as after a lost ctrl write."""
        self.extra_conversion_s = 0.0
        """A chip slower than its typical conversion time (a late answer)."""
        # what the driver did, for tests
        self.conversions = 0
        self.resets = 0
        self._power_on()
        self._nvm_until = float("-inf")  # powered since boot: its power-on NVM copy is long done

    def _power_on(self) -> None:
        self.regs = bytearray(256)
        self.regs[REG_CHIP_ID] = self.chip_id
        calib00 = self.trimming.calib00()
        self.regs[REG_CALIB00 : REG_CALIB00 + len(calib00)] = calib00
        if self.has_humidity:
            calib26 = self.trimming.calib26()
            self.regs[REG_CALIB26 : REG_CALIB26 + len(calib26)] = calib26
        self._set_data(SKIPPED_20, SKIPPED_20, SKIPPED_16)
        self._osrs_h = 0  # latched from ctrl_hum by a ctrl_meas write
        self._filter_mem: dict[str, float] = {}
        self._done_at: float | None = None
        self._nvm_until = self.clock() + NVM_COPY_S

    # --- registers ------------------------------------------------------------------------------
    def read_register(self, reg: int) -> int:
        self._advance()
        if reg == REG_STATUS:
            status = 0
            if self._done_at is not None or self.stuck_measuring:
                status |= 0x08
            if self.clock() < self._nvm_until:
                status |= 0x01
            return status
        if reg == REG_RESET:
            return 0x00
        if not self.has_humidity and reg in (REG_CTRL_HUM, REG_DATA + 6, REG_DATA + 7):
            return 0x00
        return self.regs[reg]

    def write_register(self, reg: int, value: int) -> None:
        self._advance()
        if reg == REG_RESET:
            if value == 0xB6:
                self.resets += 1
                self._power_on()
        elif reg == REG_CTRL_HUM and self.has_humidity:
            self.regs[reg] = value & 0x07
        elif reg == REG_CTRL_MEAS:
            self.regs[reg] = value
            self._osrs_h = self.regs[REG_CTRL_HUM] & 0x07 if self.has_humidity else 0
            if value & 0x03:
                self._start()
        elif reg == REG_CONFIG:
            self.regs[reg] = value
        # everything else (id, calibration, status, data) is read-only

    # --- conversions ----------------------------------------------------------------------------
    def conversion_time_s(self) -> float:
        """Datasheet 9.1 typical measurement time for the latched oversampling settings."""
        ctrl = self.regs[REG_CTRL_MEAS]
        t, p, h = OSRS_FACTOR[ctrl >> 5], OSRS_FACTOR[(ctrl >> 2) & 7], OSRS_FACTOR[self._osrs_h]
        ms = 1.0 + (2.0 * t if t else 0) + (2.0 * p + 0.5 if p else 0) + (2.0 * h + 0.5 if h else 0)
        return ms / 1000.0 + self.extra_conversion_s

    def _start(self) -> None:
        self._done_at = self.clock() + self.conversion_time_s()

    def _advance(self) -> None:
        if self._done_at is not None and not self.stuck_measuring and self.clock() >= self._done_at:
            self._done_at = None
            self._convert()
            self.regs[REG_CTRL_MEAS] &= ~0x03 & 0xFF  # forced mode falls back to sleep

    def _convert(self) -> None:
        self.conversions += 1
        ctrl = self.regs[REG_CTRL_MEAS]
        osrs_t, osrs_p = ctrl >> 5, (ctrl >> 2) & 7
        coeff = FILTER_COEFF[(self.regs[REG_CONFIG] >> 2) & 7]
        c = self.trimming
        env = self.env

        def temperature(a: int) -> float:
            return t_fine_int(c, a)

        # Temperature first: t_fine of the code the host will read feeds pressure and humidity.
        t_code = self._code20(temperature, env.temperature * 5120.0, osrs_t, coeff)
        measured_t = bool(osrs_t) and not self.skip_temperature
        adc_t = self._filtered("t", t_code, coeff) if measured_t else SKIPPED_20
        t_fine = t_fine_int(c, adc_t if measured_t else t_code)

        def pressure(a: int) -> float:
            return pressure_q24_8(c, a, t_fine)

        if osrs_p and not self.skip_pressure:
            p_code = self._code20(pressure, env.pressure * 100.0 * 256.0, osrs_p, coeff)
            adc_p = self._filtered("p", p_code, coeff)
        else:
            adc_p = SKIPPED_20

        def humidity(a: int) -> float:
            return humidity_q22_10(c, a, t_fine)

        if self.has_humidity and self._osrs_h and not self.skip_humidity:
            adc_h = nearest_code(humidity, env.humidity * 1024.0, 16, 16)  # no filter for H
        else:
            adc_h = SKIPPED_16
        self._set_data(adc_p, adc_t, adc_h)

    @staticmethod
    def _code20(f: Callable[[int], float], target: float, osrs: int, coeff: int) -> int:
        """3.4.2/3.4.3: filter off, 16 + (osrs - 1) bits of the 20-bit ADC; filter on, all 20."""
        bits = 20 if coeff or not osrs else 16 + min(osrs, 5) - 1
        return nearest_code(f, target, bits, 20)

    def _filtered(self, key: str, adc: int, coeff: int) -> int:
        """3.4.4: x = (x_prev * (c - 1) + adc) / c; the first sample after a reset seeds it."""
        if not coeff:
            return adc
        prev = self._filter_mem.get(key)
        x = float(adc) if prev is None else (prev * (coeff - 1) + adc) / coeff
        self._filter_mem[key] = x
        return round(x)

    def _set_data(self, adc_p: int, adc_t: int, adc_h: int) -> None:
        """msb, lsb, xlsb[7:4] for the 20-bit values; msb, lsb for humidity."""
        data = bytearray()
        for adc in (adc_p, adc_t):
            data += bytes([adc >> 12, (adc >> 4) & 0xFF, (adc & 0x0F) << 4])
        data += bytes([adc_h >> 8, adc_h & 0xFF])
        self.regs[REG_DATA : REG_DATA + 8] = data


class SimBMP280(SimBME280):
    """A BMP280: no humidity sensor, no ctrl_hum, no dig_H trimming, chip id 0x58."""

    chip_id = 0x58
    has_humidity = False


def place_bme280(world: SimWorld, cfg: SensorConfig[OnI2C]) -> None:
    world.bus(cfg.options.bus).attach(cfg.options.address, SimBME280(world.env))


def place_bmp280(world: SimWorld, cfg: SensorConfig[OnI2C]) -> None:
    world.bus(cfg.options.bus).attach(cfg.options.address, SimBMP280(world.env))
