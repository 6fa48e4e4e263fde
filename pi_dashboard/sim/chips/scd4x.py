"""Simulated Sensirion SCD40/SCD41: 16-bit commands, periodic measurement on its own clock, and
the commands the real sensor refuses while it measures (datasheet Table 9) NACKed.

A result is there once per period after the start and is read out once; read_measurement with
none there is NACKed, as on the chip. The sensor's own heat warms what it measures
(SELF_HEATING_C), so its temperature offset matters here too. Written CRCs are checked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pi_dashboard.sim.chips.base import Room, nack
from pi_dashboard.sim.chips.sensirion import SensirionChip, crc8_word
from pi_dashboard.sim.world import Quantity

if TYPE_CHECKING:
    from pi_dashboard.config import OnI2C, SensorConfig
    from pi_dashboard.sim.world import SimWorld

START_PERIODIC = 0x21B1
START_LOW_POWER_PERIODIC = 0x21AC
READ_MEASUREMENT = 0xEC05
STOP_PERIODIC = 0x3F86
SET_TEMPERATURE_OFFSET = 0x241D
GET_TEMPERATURE_OFFSET = 0x2318
SET_SENSOR_ALTITUDE = 0x2427
GET_SENSOR_ALTITUDE = 0x2322
SET_AMBIENT_PRESSURE = 0xE000
GET_DATA_READY_STATUS = 0xE4B8
GET_SERIAL_NUMBER = 0x3682
REINIT = 0x3646
WRITES = {SET_TEMPERATURE_OFFSET, SET_SENSOR_ALTITUDE, SET_AMBIENT_PRESSURE}
"""Commands followed by one argument word and its CRC."""
WHILE_MEASURING = {READ_MEASUREMENT, STOP_PERIODIC, SET_AMBIENT_PRESSURE, GET_DATA_READY_STATUS}
"""Table 9's "during measurement: yes" column; the rest is refused then."""
PERIOD_S = {START_PERIODIC: 5.0, START_LOW_POWER_PERIODIC: 30.0}
BUSY_S = {STOP_PERIODIC: 0.5, REINIT: 0.02}
DEFAULT_OFFSET_WORD = 0x05DA
"""4 °C (1498 = 4 * 2^16 / 175), the temperature offset a sensor leaves the factory with."""
SELF_HEATING_C = 4.0


def to_word(value: float, offset: float, span: float) -> int:
    """Inverse of value = offset + span * word / 2^16, rounded and clamped to 16 bits."""
    return min(max(round((value - offset) / span * 65536), 0), 0xFFFF)


class SCD4xChip(SensirionChip):
    def __init__(
        self,
        env: Room,
        *,
        serial: int = 0xF896_9F07_3BBE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(clock=clock)
        self.env = env
        self.serial = serial
        self.offset_word = DEFAULT_OFFSET_WORD
        self.altitude = 0
        self.period: float | None = None
        """Seconds between results while measuring; None while idle."""
        self._started = 0.0
        self._taken = 0
        """Results read out since the start."""

    def results(self) -> int:
        """Results completed since the start of periodic measurement."""
        if self.period is None:
            return 0
        return int((self.clock() - self._started) / self.period)

    def write(self, data: bytes) -> None:
        if self.busy() or len(data) < 2:
            raise nack()
        cmd = int.from_bytes(data[:2], "big")
        if self.period is not None and cmd not in WHILE_MEASURING:
            raise nack()
        word = None
        if cmd in WRITES:
            if len(data) != 5 or crc8_word(int.from_bytes(data[2:4], "big")) != data[4]:
                raise nack()  # a corrupted argument is never applied
            word = int.from_bytes(data[2:4], "big")
        self.commands.append(cmd)
        self.clear_reply()
        if cmd in PERIOD_S:
            self.period, self._started, self._taken = PERIOD_S[cmd], self.clock(), 0
        elif cmd in BUSY_S:
            self.period = None
            self._busy_until = self.clock() + BUSY_S[cmd]
            if cmd == REINIT:
                self.offset_word, self.altitude = DEFAULT_OFFSET_WORD, 0
        elif cmd == READ_MEASUREMENT:
            if self.results() > self._taken:
                self._taken = self.results()
                self.reply(self.measurement(), after_s=0.001, measurement=True)
        elif cmd == GET_DATA_READY_STATUS:
            self.reply([0x8006 if self.results() > self._taken else 0x8000], after_s=0.001)
        elif cmd == GET_SERIAL_NUMBER:
            s = self.serial
            self.reply([(s >> 32) & 0xFFFF, (s >> 16) & 0xFFFF, s & 0xFFFF], after_s=0.001)
        elif cmd == SET_TEMPERATURE_OFFSET and word is not None:
            self.offset_word = word
        elif cmd == GET_TEMPERATURE_OFFSET:
            self.reply([self.offset_word], after_s=0.001)
        elif cmd == SET_SENSOR_ALTITUDE and word is not None:
            self.altitude = word
        elif cmd == GET_SENSOR_ALTITUDE:
            self.reply([self.altitude], after_s=0.001)
        elif cmd != SET_AMBIENT_PRESSURE:
            raise nack()

    def measurement(self) -> list[int]:
        """CO2 in ppm, then temperature and humidity as the datasheet encodes them."""
        offset = 175.0 * self.offset_word / 65536
        t = self.env.temperature + SELF_HEATING_C - offset
        co2 = min(max(round(self.env.co2), 0), 40000)
        return [co2, to_word(t, -45.0, 175.0), to_word(self.env.humidity, 0.0, 100.0)]


def place(world: SimWorld, cfg: SensorConfig[OnI2C]) -> None:
    """The room gets a CO2 level (a lived-in room's, drifting), the bus the chip."""
    world.env.quantities.setdefault("co2", Quantity(650.0, 650.0, 150.0, 400.0, 5000.0, 3.0))
    world.bus(cfg.options.bus).attach(cfg.options.address, SCD4xChip(world.env))
