"""Simulated Sensirion SHT3x-DIS: 16-bit commands, the status register, NACK while measuring.

Only single-shot mode without clock stretching is modelled; clock-stretching commands (0x2Cxx)
set the status register's "command failed" bit and produce no data, because a Pi cannot stretch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pi_dashboard.sim.chips.base import nack
from pi_dashboard.sim.chips.sensirion import SensirionChip, to_raw

if TYPE_CHECKING:
    from pi_dashboard.config import OnI2C, SensorConfig
    from pi_dashboard.sim.world import Environment, SimWorld

MEASURE = {0x2400: 0.0125, 0x240B: 0.0045, 0x2416: 0.0025}
"""Single-shot, no clock stretching: command -> typical measurement duration (datasheet Table 4)."""
SOFT_RESET = 0x30A2
HEATER_ENABLE = 0x306D
HEATER_DISABLE = 0x3066
READ_STATUS = 0xF32D
CLEAR_STATUS = 0x3041

ALERT_PENDING = 1 << 15
HEATER_ON = 1 << 13
RH_ALERT = 1 << 11
T_ALERT = 1 << 10
RESET_DETECTED = 1 << 4
COMMAND_FAILED = 1 << 1
STATUS_AFTER_RESET = ALERT_PENDING | RESET_DETECTED
HEATER_RISE_C = 3.0
"""The heater warms the sensor by a few degrees (datasheet 4.10: "several degrees")."""


class SHT3xChip(SensirionChip):
    def __init__(self, env: Environment, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock=clock)
        self.env = env
        self.status = STATUS_AFTER_RESET

    def write(self, data: bytes) -> None:
        if self.busy():
            raise nack()  # still resetting
        if len(data) != 2:
            self.status |= COMMAND_FAILED
            return
        cmd = int.from_bytes(data, "big")
        self.commands.append(cmd)
        if cmd == READ_STATUS:
            self.reply([self.status])
            return
        self.status &= ~COMMAND_FAILED
        if cmd in MEASURE:
            t = self.env.temperature + (HEATER_RISE_C if self.status & HEATER_ON else 0.0)
            words = [to_raw(t, -45.0, 175.0), to_raw(self.env.humidity, 0.0, 100.0)]
            self.reply(words, after_s=MEASURE[cmd], measurement=True)
        elif cmd == SOFT_RESET:
            self.clear_reply()
            self.status = STATUS_AFTER_RESET
            self._busy_until = self.clock() + 0.0005
        elif cmd == HEATER_ENABLE:
            self.status |= HEATER_ON
        elif cmd == HEATER_DISABLE:
            self.status &= ~HEATER_ON
        elif cmd == CLEAR_STATUS:
            self.status &= ~(ALERT_PENDING | RH_ALERT | T_ALERT | RESET_DETECTED)
        else:
            self.status |= COMMAND_FAILED
            self.clear_reply()


def place(world: SimWorld, cfg: SensorConfig[OnI2C]) -> None:
    world.bus(cfg.options.bus).attach(cfg.options.address, SHT3xChip(world.env))
