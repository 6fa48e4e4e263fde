"""Simulated TI ADS1115: pointer register, config/conversion registers, PGA clipping, and a
single-shot conversion that takes 1/DR during which the config register's OS bit reads 0.

AIN0 follows the world's `soil_voltage` (a capacitive soil probe); AIN1..AIN3 are fixed voltages a
test can change with `set_input`. Differential MUX settings subtract the two inputs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pi_dashboard.sim.chips.base import SimChip

if TYPE_CHECKING:
    from pi_dashboard.config import OnI2C, SensorConfig
    from pi_dashboard.sim.world import Environment, SimWorld

CONVERSION, CONFIG, LO_THRESH, HI_THRESH = range(4)
OS = 0x8000
MODE_SINGLE_SHOT = 0x0100
FSR = (6.144, 4.096, 2.048, 1.024, 0.512, 0.256, 0.256, 0.256)
"""PGA[2:0] -> full-scale range (V)."""
SPS = (8, 16, 32, 64, 128, 250, 475, 860)
"""DR[2:0] -> samples per second."""
MUX = ((0, 1), (0, 3), (1, 3), (2, 3), (0, None), (1, None), (2, None), (3, None))
"""MUX[2:0] -> (AINP, AINN); None is GND."""


class ADS1115Chip(SimChip):
    def __init__(self, env: Environment, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.env = env
        self.clock = clock
        self.pointer = CONVERSION
        self.regs = {CONVERSION: 0x0000, CONFIG: 0x8583, LO_THRESH: 0x8000, HI_THRESH: 0x7FFF}
        self.inputs: list[Callable[[], float]] = [
            lambda: self.env.soil_voltage,
            lambda: 1.25,
            lambda: 0.5,
            lambda: 0.0,
        ]
        self.always_busy = False
        """Fault: a started conversion never finishes (OS keeps reading 0)."""
        self.conversions = 0
        self._ready_at: float | None = None

    def set_input(self, channel: int, volts: float) -> None:
        self.inputs[channel] = lambda: volts

    def code(self, config: int) -> int:
        p, n = MUX[(config >> 12) & 0x7]
        fsr = FSR[(config >> 9) & 0x7]
        diff = self.inputs[p]() - (self.inputs[n]() if n is not None else 0.0)
        return min(max(round(diff / fsr * 32768), -0x8000), 0x7FFF)

    def _update(self) -> None:
        config = self.regs[CONFIG]
        if not config & MODE_SINGLE_SHOT:  # continuous mode: always a fresh result
            self.regs[CONVERSION] = self.code(config) & 0xFFFF
            return
        if self._ready_at is not None and not self.always_busy and self.clock() >= self._ready_at:
            self.regs[CONVERSION] = self.code(config) & 0xFFFF
            self.conversions += 1
            self._ready_at = None

    def _converting(self) -> bool:
        self._update()
        return self._ready_at is not None

    def write(self, data: bytes) -> None:
        if not data:
            return
        self.pointer = data[0] & 0x03
        if len(data) < 3:
            return  # pointer-only write, before a read
        value = (data[1] << 8) | data[2]
        if self.pointer == CONVERSION:
            return  # read-only
        if self.pointer != CONFIG:
            self.regs[self.pointer] = value
            return
        start = value & OS and value & MODE_SINGLE_SHOT and not self._converting()
        self.regs[CONFIG] = value & ~OS
        if start:
            self._ready_at = self.clock() + 1.0 / SPS[(value >> 5) & 0x7]

    def read(self, length: int) -> bytes:
        if self.pointer == CONFIG:
            value = self.regs[CONFIG] | (0 if self._converting() else OS)
        else:
            self._update()
            value = self.regs[self.pointer]
        return bytes(((value >> 8) & 0xFF, value & 0xFF) * ((length + 1) // 2))[:length]


def place(world: SimWorld, cfg: SensorConfig[OnI2C]) -> None:
    world.bus(cfg.options.bus).attach(cfg.options.address, ADS1115Chip(world.env))
