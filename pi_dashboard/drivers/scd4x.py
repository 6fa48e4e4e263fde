"""Sensirion SCD40/SCD41 photoacoustic CO2 sensors, with their built-in temperature and humidity.

Datasheet SCD4x (v1.3): section 3.3 I2C sequences ("send command", "read", "write": a 16-bit
command, then CRC-protected words), 3.4 command overview (Table 9: execution times, and which
commands the sensor takes while it measures), 3.5 basic commands and the signal conversion of
read_measurement, 3.6 temperature offset and altitude, 3.8 get_data_ready_status, 3.9
get_serial_number and reinit. Same CRC-8 as the SHT3x (section 3.11, via drivers/sensirion.py).

Periodic measurement: the sensor measures every 5 s (every 30 s in low-power mode) by itself, and
a read takes the newest result once. So a read that finds nothing new returns nothing, and only a
sensor that stops producing results is an error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pi_dashboard.drivers.sensirion import (
    Clock,
    Sleep,
    pack_words,
    read_when_ready,
    unpack_words,
    write_command,
)
from pi_dashboard.hw.i2c import I2CBus

ADDRESSES = (0x62,)
"""Fixed; no address pin."""

# Table 9, section 3.4
CMD_START_PERIODIC_MEASUREMENT = 0x21B1
CMD_START_LOW_POWER_PERIODIC_MEASUREMENT = 0x21AC
CMD_READ_MEASUREMENT = 0xEC05
CMD_STOP_PERIODIC_MEASUREMENT = 0x3F86
CMD_SET_TEMPERATURE_OFFSET = 0x241D
CMD_GET_TEMPERATURE_OFFSET = 0x2318
CMD_SET_SENSOR_ALTITUDE = 0x2427
CMD_GET_SENSOR_ALTITUDE = 0x2322
CMD_GET_DATA_READY_STATUS = 0xE4B8
CMD_GET_SERIAL_NUMBER = 0x3682
CMD_REINIT = 0x3646

COMMAND_S = 0.001
"""Execution time of read_measurement, get_*, set_* and get_data_ready_status."""
STOP_S = 0.5
"""stop_periodic_measurement: the sensor takes no other command for 500 ms."""
REINIT_S = 0.02
PERIOD_S = 5.0
"""Signal update interval of periodic measurement; low-power mode: 30 s."""
LOW_POWER_PERIOD_S = 30.0
DATA_READY_MASK = 0x07FF
"""get_data_ready_status: the least significant 11 bits are 0 while no new result is there."""
MAX_ALTITUDE_M = 3000


def co2_ppm(raw: int) -> float:
    """Section 3.5.2: CO2 [ppm] = word[0]."""
    return float(raw)


def temperature_c(raw: int) -> float:
    """Section 3.5.2: T [°C] = -45 + 175 * word[1] / 2^16."""
    return -45.0 + 175.0 * raw / 65536.0


def humidity_percent(raw: int) -> float:
    """Section 3.5.2: RH [%] = 100 * word[2] / 2^16."""
    return 100.0 * raw / 65536.0


def offset_word(offset_c: float) -> int:
    """Section 3.6.1: word[0] = T_offset [°C] * 2^16 / 175."""
    return round(offset_c * 65536.0 / 175.0)


def offset_c(raw: int) -> float:
    """Section 3.6.2: T_offset [°C] = 175 * word[0] / 2^16."""
    return 175.0 * raw / 65536.0


@dataclass(frozen=True, slots=True)
class Measurement:
    co2_ppm: float
    temperature_c: float
    humidity_percent: float


def parse_measurement(data: bytes) -> Measurement:
    """read_measurement's 9 bytes, every word's CRC checked before it is trusted."""
    raw_co2, raw_t, raw_rh = unpack_words(data, ("CO2", "temperature", "humidity"))
    return Measurement(co2_ppm(raw_co2), temperature_c(raw_t), humidity_percent(raw_rh))


class SCD4x:
    """One SCD40/SCD41 on a bus, in periodic measurement mode once `setup()` has run."""

    def __init__(
        self,
        bus: I2CBus,
        address: int = ADDRESSES[0],
        *,
        temperature_offset: float = 4.0,
        altitude: int = 0,
        low_power: bool = False,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        self.bus = bus
        self.address = address
        self.temperature_offset = temperature_offset
        """°C the sensor subtracts (its self-heating): the chip's default is 4 °C."""
        self.altitude = altitude
        """Metres above sea level, for its CO2 pressure compensation."""
        self.low_power = low_power
        self._sleep = sleep
        self._clock = clock

    def command(self, cmd: int) -> None:
        write_command(self.bus, self.address, cmd.to_bytes(2, "big"))

    def write(self, cmd: int, word: int) -> None:
        """Section 3.3 "write": the command, then the argument word and its CRC."""
        write_command(self.bus, self.address, cmd.to_bytes(2, "big") + pack_words((word,)))
        self._sleep(COMMAND_S)

    def read(self, cmd: int, names: tuple[str, ...]) -> tuple[int, ...]:
        """Section 3.3 "read": the command, its execution time, then CRC-checked words."""
        self.command(cmd)
        data = read_when_ready(
            self.bus,
            self.address,
            3 * len(names),
            max_duration_s=COMMAND_S,
            sleep=self._sleep,
            clock=self._clock,
        )
        return unpack_words(data, names)

    def stop_periodic_measurement(self) -> None:
        self.command(CMD_STOP_PERIODIC_MEASUREMENT)
        self._sleep(STOP_S)

    def read_serial(self) -> int:
        """The 48-bit serial number (idle mode only)."""
        w0, w1, w2 = self.read(CMD_GET_SERIAL_NUMBER, ("serial 0", "serial 1", "serial 2"))
        return (w0 << 32) | (w1 << 16) | w2

    def set_temperature_offset(self, offset: float) -> None:
        self.write(CMD_SET_TEMPERATURE_OFFSET, offset_word(offset))

    def read_temperature_offset(self) -> float:
        (raw,) = self.read(CMD_GET_TEMPERATURE_OFFSET, ("temperature offset",))
        return offset_c(raw)

    def set_altitude(self, metres: int) -> None:
        self.write(CMD_SET_SENSOR_ALTITUDE, metres)

    def data_ready(self) -> bool:
        (status,) = self.read(CMD_GET_DATA_READY_STATUS, ("data ready status",))
        return bool(status & DATA_READY_MASK)

    def read_measurement(self) -> Measurement:
        self.command(CMD_READ_MEASUREMENT)
        data = read_when_ready(
            self.bus,
            self.address,
            9,
            max_duration_s=COMMAND_S,
            sleep=self._sleep,
            clock=self._clock,
        )
        return parse_measurement(data)

    @property
    def period_s(self) -> float:
        return LOW_POWER_PERIOD_S if self.low_power else PERIOD_S

    def setup(self) -> int:
        """Stop (a restarted daemon finds the sensor still measuring, and then it refuses its
        configuration commands), read the serial (a CRC-valid one proves an SCD4x answered),
        configure, and start periodic measurement. Takes half a second, the stop's."""
        self.stop_periodic_measurement()
        serial = self.read_serial()
        self.set_temperature_offset(self.temperature_offset)
        self.set_altitude(self.altitude)
        if self.low_power:
            self.command(CMD_START_LOW_POWER_PERIODIC_MEASUREMENT)
        else:
            self.command(CMD_START_PERIODIC_MEASUREMENT)
        return serial
