"""Bosch BME280 (temperature, pressure, humidity) and BMP280 (temperature, pressure) over I2C.

Follows the BME280 datasheet BST-BME280-DS002: 4.2.2 trimming parameter readout, 5.4 registers,
8.1 compensation in double precision (Python floats are doubles, and 8.1 is the most accurate
of the datasheet's formula sets), 9.1 measurement time; and the BMP280 datasheet BST-BMP280-DS001
3.11.2-3.12, whose temperature/pressure compensation and worked example are the same.

Measurements run in forced mode (datasheet 3.3.3): one conversion per read, then the chip sleeps,
so a 10 s poll interval costs microamps and no self-heating. A measurement the chip reports as
skipped (0x80000, 0x8000: 5.4.3-5.4.5) has no value. Temperature feeds t_fine into the other two,
so a skipped temperature or pressure fails the read; a skipped humidity loses only humidity (as in
Linux's bmp280 IIO driver, where each channel is read on its own).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pi_dashboard.errors import ChipError
from pi_dashboard.hw.i2c import I2CBus

# --- registers (datasheet 5.3, memory map) ----------------------------------------------------
REG_CALIB00 = 0x88
"""calib00..calib25 (0x88..0xA1): dig_T1..dig_P9, a reserved byte at 0xA0, dig_H1 at 0xA1."""
CALIB00_LENGTH = 26
REG_CHIP_ID = 0xD0
REG_RESET = 0xE0
REG_CALIB26 = 0xE1
"""calib26..calib32 (0xE1..0xE7): dig_H2..dig_H6, BME280 only."""
CALIB26_LENGTH = 7
REG_CTRL_HUM = 0xF2
REG_STATUS = 0xF3
REG_CTRL_MEAS = 0xF4
REG_CONFIG = 0xF5
REG_PRESS_MSB = 0xF7
"""press_msb/lsb/xlsb, temp_msb/lsb/xlsb, hum_msb/lsb: one burst read keeps them consistent."""

RESET_WORD = 0xB6
STATUS_MEASURING = 0x08
STATUS_IM_UPDATE = 0x01
MODE_FORCED = 0b01

CHIP_ID_BME280 = 0x60
CHIP_IDS_BMP280 = (0x56, 0x57, 0x58)  # 0x56/0x57 are BMP280 samples, 0x58 mass production
KNOWN_CHIP_IDS = {
    0x55: "BMP180",
    0x56: "BMP280",
    0x57: "BMP280",
    0x58: "BMP280",
    0x60: "BME280",
    0x61: "BME680",
}
"""Chips that answer at 0x76/0x77 with an id at 0xD0: named so a wrong part gets a clear error."""

SKIPPED_20BIT = 0x80000
"""What temperature/pressure read when that measurement was skipped (also the reset value)."""
SKIPPED_16BIT = 0x8000
"""What humidity reads when it was skipped."""

OVERSAMPLING = {0: 0b000, 1: 0b001, 2: 0b010, 4: 0b011, 8: 0b100, 16: 0b101}
"""Oversampling factor -> osrs_x field (5.4.3-5.4.5); 0 skips the measurement."""
IIR_FILTER = {0: 0b000, 2: 0b001, 4: 0b010, 8: 0b011, 16: 0b100}
"""IIR filter coefficient -> config.filter field (5.4.6, 3.4.4); 0 is off."""

STARTUP_S = 0.002
"""Datasheet t_startup: after a soft reset the NVM is copied to the image registers in ~2 ms."""
NVM_POLLS = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class Calibration:
    """Trimming parameters (datasheet 4.2.2 table 16), names and signedness as in the datasheet."""

    dig_T1: int
    dig_T2: int
    dig_T3: int
    dig_P1: int
    dig_P2: int
    dig_P3: int
    dig_P4: int
    dig_P5: int
    dig_P6: int
    dig_P7: int
    dig_P8: int
    dig_P9: int
    dig_H1: int = 0
    dig_H2: int = 0
    dig_H3: int = 0
    dig_H4: int = 0
    dig_H5: int = 0
    dig_H6: int = 0


def _int8(b: int) -> int:
    return b - 0x100 if b & 0x80 else b


def parse_calibration(calib00: Sequence[int], calib26: Sequence[int] | None = None) -> Calibration:
    """Unpack 0x88..0xA1 (26 bytes) and, for a BME280, 0xE1..0xE7 (7 bytes).

    dig_H4 and dig_H5 are 12-bit signed values sharing the nibbles of 0xE5: H4 is 0xE4[7:0] then
    0xE5[3:0], H5 is 0xE5[7:4] then 0xE6[7:0] (high bits in 0xE6), sign taken from the MSB byte.
    """
    if len(calib00) != CALIB00_LENGTH:
        raise ValueError(f"calib00..calib25 is {CALIB00_LENGTH} bytes, got {len(calib00)}")
    t1, t2, t3, p1, p2, p3, p4, p5, p6, p7, p8, p9 = struct.unpack_from(
        "<HhhHhhhhhhhh", bytes(calib00)
    )
    cal = {
        "dig_T1": t1, "dig_T2": t2, "dig_T3": t3,
        "dig_P1": p1, "dig_P2": p2, "dig_P3": p3, "dig_P4": p4, "dig_P5": p5,
        "dig_P6": p6, "dig_P7": p7, "dig_P8": p8, "dig_P9": p9,
    }  # fmt: skip
    if calib26 is not None:
        if len(calib26) != CALIB26_LENGTH:
            raise ValueError(f"calib26..calib32 is {CALIB26_LENGTH} bytes, got {len(calib26)}")
        e = calib26
        cal |= {
            "dig_H1": calib00[25],
            "dig_H2": struct.unpack_from("<h", bytes(e[0:2]))[0],
            "dig_H3": e[2],
            "dig_H4": (_int8(e[3]) << 4) | (e[4] & 0x0F),
            "dig_H5": (_int8(e[5]) << 4) | (e[4] >> 4),
            "dig_H6": _int8(e[6]),
        }
    return Calibration(**cal)


# --- compensation: datasheet 8.1, double precision --------------------------------------------


def compensate_temperature(cal: Calibration, adc_t: int) -> tuple[float, int]:
    """Raw 20-bit temperature -> (°C, t_fine); t_fine carries temperature into P and H."""
    var1 = (adc_t / 16384.0 - cal.dig_T1 / 1024.0) * cal.dig_T2
    d = adc_t / 131072.0 - cal.dig_T1 / 8192.0
    var2 = d * d * cal.dig_T3
    t_fine = int(var1 + var2)  # C's (BME280_S32_t) cast truncates toward zero, as int() does
    return (var1 + var2) / 5120.0, t_fine


def compensate_pressure(cal: Calibration, adc_p: int, t_fine: int) -> float:
    """Raw 20-bit pressure -> Pa. The datasheet returns 0 when var1 is 0; we refuse to guess."""
    var1 = t_fine / 2.0 - 64000.0
    var2 = var1 * var1 * cal.dig_P6 / 32768.0
    var2 = var2 + var1 * cal.dig_P5 * 2.0
    var2 = var2 / 4.0 + cal.dig_P4 * 65536.0
    var1 = (cal.dig_P3 * var1 * var1 / 524288.0 + cal.dig_P2 * var1) / 524288.0
    var1 = (1.0 + var1 / 32768.0) * cal.dig_P1
    if var1 == 0.0:
        raise ChipError(f"pressure compensation divides by zero (dig_P1 = {cal.dig_P1})")
    p = 1048576.0 - adc_p
    p = (p - var2 / 4096.0) * 6250.0 / var1
    var1 = cal.dig_P9 * p * p / 2147483648.0
    var2 = p * cal.dig_P8 / 32768.0
    return p + (var1 + var2 + cal.dig_P7) / 16.0


def compensate_humidity(cal: Calibration, adc_h: int, t_fine: int) -> float:
    """Raw 16-bit humidity -> %RH, clamped to 0..100 as the datasheet does."""
    h = t_fine - 76800.0
    h = (adc_h - (cal.dig_H4 * 64.0 + cal.dig_H5 / 16384.0 * h)) * (
        cal.dig_H2
        / 65536.0
        * (1.0 + cal.dig_H6 / 67108864.0 * h * (1.0 + cal.dig_H3 / 67108864.0 * h))
    )
    h = h * (1.0 - cal.dig_H1 * h / 524288.0)
    return min(max(h, 0.0), 100.0)


def max_measurement_time_ms(temperature: int, pressure: int, humidity: int) -> float:
    """Datasheet 9.1 t_measure,max for oversampling factors (0 = skipped, term left out)."""
    t = 1.25
    if temperature:
        t += 2.3 * temperature
    if pressure:
        t += 2.3 * pressure + 0.575
    if humidity:
        t += 2.3 * humidity + 0.575
    return t


@dataclass(frozen=True, slots=True)
class Measurement:
    temperature: float
    """°C"""
    pressure: float
    """hPa"""
    humidity: float | None
    """%RH; None on a BMP280, which has no humidity sensor, or when `errors` says why."""
    errors: Mapping[str, str] = field(default_factory=dict)
    """Channel -> why this measurement has no value for it; the other values stand."""


def _check_factor(name: str, value: int, table: dict[int, int]) -> int:
    if value not in table:
        allowed = ", ".join(str(k) for k in table if k)
        raise ValueError(f"{name} must be one of {allowed}, got {value}")
    return table[value]


class BMP280:
    """A BMP280 at `address`: temperature and pressure, one forced-mode conversion per measure().

    `sleep` is injectable so tests (and a simulated chip on a fake clock) never really wait.
    """

    model = "BMP280"
    chip_ids: tuple[int, ...] = CHIP_IDS_BMP280
    has_humidity = False

    def __init__(
        self,
        bus: I2CBus,
        address: int = 0x76,
        *,
        oversampling_temperature: int = 1,
        oversampling_pressure: int = 1,
        oversampling_humidity: int = 1,
        iir_filter: int = 0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.bus = bus
        self.address = address
        self.osrs_t = _check_factor(
            "oversampling_temperature", oversampling_temperature, OVERSAMPLING
        )
        self.osrs_p = _check_factor("oversampling_pressure", oversampling_pressure, OVERSAMPLING)
        self.osrs_h = (
            _check_factor("oversampling_humidity", oversampling_humidity, OVERSAMPLING)
            if self.has_humidity
            else 0
        )
        if not (self.osrs_t and self.osrs_p):
            raise ValueError("temperature and pressure oversampling must not be 0 (skipped)")
        self.filter = _check_factor("iir_filter", iir_filter, IIR_FILTER)
        self.max_wait_s = (
            max_measurement_time_ms(
                oversampling_temperature,
                oversampling_pressure,
                oversampling_humidity if self.has_humidity else 0,
            )
            / 1000.0
        )
        """Datasheet 9.1 worst case for these settings: how long measure() first sleeps."""
        self.sleep = sleep
        self.calibration: Calibration | None = None

    # --- setup ----------------------------------------------------------------------------------
    def setup(self) -> None:
        """Check the chip id, soft-reset, load the trimming parameters and set the IIR filter."""
        self.calibration = None
        self.check_chip_id()
        self.bus.write_byte_data(self.address, REG_RESET, RESET_WORD)
        self._wait_nvm_copied()
        self.calibration = self.read_calibration()
        # In sleep mode (where a reset leaves the chip) config writes always take effect (5.4.6).
        self.bus.write_byte_data(self.address, REG_CONFIG, self.filter << 2)

    @classmethod
    def identify(cls, bus: I2CBus, address: int) -> bool:
        """A harmless probe for `pi-dashboard scan`: is the chip id at 0xD0 this model's?"""
        return bus.read_byte_data(address, REG_CHIP_ID) in cls.chip_ids

    def check_chip_id(self) -> int:
        chip_id = self.bus.read_byte_data(self.address, REG_CHIP_ID)
        if chip_id in self.chip_ids:
            return chip_id
        expected = ", ".join(f"0x{i:02x}" for i in self.chip_ids)
        found = KNOWN_CHIP_IDS.get(chip_id)
        where = f"chip id 0x{chip_id:02x} at 0x{self.address:02x}"
        if found in ("BME280", "BMP280"):
            hint = " to read humidity too" if found == "BME280" else ""
            raise ChipError(
                f'{where} is a {found}, not a {self.model}: use type = "{found.lower()}"{hint}'
            )
        if found is not None:
            raise ChipError(f"{where} is a {found}, not a {self.model} (expected {expected})")
        raise ChipError(f"{where} is not a {self.model} (expected {expected})")

    def _wait_nvm_copied(self) -> None:
        self.sleep(STARTUP_S)
        for _ in range(NVM_POLLS):
            status = self.bus.read_byte_data(self.address, REG_STATUS)
            if not status & STATUS_IM_UPDATE:
                return
            self.sleep(0.001)
        raise ChipError(
            f"NVM copy after soft reset did not finish within "
            f"{(STARTUP_S + NVM_POLLS * 0.001) * 1000:.0f} ms (status 0x{status:02x})"
        )

    def read_calibration(self) -> Calibration:
        calib00 = self.bus.read_i2c_block_data(self.address, REG_CALIB00, CALIB00_LENGTH)
        calib26 = (
            self.bus.read_i2c_block_data(self.address, REG_CALIB26, CALIB26_LENGTH)
            if self.has_humidity
            else None
        )
        cal = parse_calibration(calib00, calib26)
        # All-zero or all-ones blocks (a chip still copying its NVM, a bad solder joint) would
        # give numbers that look fine and are wrong; dig_T1 and dig_P1 are never 0 or 0xFFFF.
        if cal.dig_T1 in (0, 0xFFFF) or cal.dig_P1 in (0, 0xFFFF):
            raise ChipError(
                f"calibration data is blank (dig_T1 = {cal.dig_T1}, dig_P1 = {cal.dig_P1})"
            )
        return cal

    # --- measuring ------------------------------------------------------------------------------
    def measure(self) -> Measurement:
        """Start a forced-mode conversion, wait for it, burst-read and compensate."""
        cal = self.calibration
        if cal is None:
            raise ChipError(f"{self.model} at 0x{self.address:02x} is not set up")
        if self.has_humidity:
            # ctrl_hum only takes effect on the next write to ctrl_meas (5.4.3): write it first.
            self.bus.write_byte_data(self.address, REG_CTRL_HUM, self.osrs_h)
        ctrl_meas = (self.osrs_t << 5) | (self.osrs_p << 2) | MODE_FORCED
        self.bus.write_byte_data(self.address, REG_CTRL_MEAS, ctrl_meas)
        self._wait_measured()
        length = 8 if self.has_humidity else 6
        d = self.bus.read_i2c_block_data(self.address, REG_PRESS_MSB, length)
        adc_p = (d[0] << 12) | (d[1] << 4) | (d[2] >> 4)
        adc_t = (d[3] << 12) | (d[4] << 4) | (d[5] >> 4)
        _check_measured("temperature", adc_t, SKIPPED_20BIT)
        _check_measured("pressure", adc_p, SKIPPED_20BIT)
        temperature, t_fine = compensate_temperature(cal, adc_t)
        pressure = compensate_pressure(cal, adc_p, t_fine) / 100.0
        humidity = None
        errors = {}
        if self.has_humidity:
            adc_h = (d[6] << 8) | d[7]
            try:
                _check_measured("humidity", adc_h, SKIPPED_16BIT)
                humidity = compensate_humidity(cal, adc_h, t_fine)
            except ChipError as e:
                errors["humidity"] = str(e)
        return Measurement(temperature, pressure, humidity, errors)

    def _wait_measured(self) -> None:
        """Sleep the datasheet maximum, then poll `measuring` for up to as long again."""
        limit = 2 * self.max_wait_s
        step = max(self.max_wait_s / 8, 0.001)
        self.sleep(self.max_wait_s)
        waited = self.max_wait_s
        while True:
            status = self.bus.read_byte_data(self.address, REG_STATUS)
            if not status & STATUS_MEASURING:
                return
            if waited >= limit - 1e-9:
                raise ChipError(
                    f"measurement not ready after {waited * 1000:.0f} ms (status 0x{status:02x}, "
                    f"datasheet maximum {self.max_wait_s * 1000:.1f} ms)"
                )
            self.sleep(step)
            waited += step


class BME280(BMP280):
    """A BME280: a BMP280 plus a humidity sensor (ctrl_hum, dig_H1..H6, hum_msb/lsb)."""

    model = "BME280"
    chip_ids = (CHIP_ID_BME280,)
    has_humidity = True


def _check_measured(name: str, raw: int, skipped: int) -> None:
    if raw == skipped:
        raise ChipError(
            f"{name} was not measured (raw 0x{raw:x} = skipped): the chip lost its settings?"
        )
