"""Simulated Sensirion SHT4x: 8-bit commands, serial number, NACK while measuring."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pi_dashboard.sim.chips.base import nack
from pi_dashboard.sim.chips.sensirion import SensirionChip, to_raw

if TYPE_CHECKING:
    from pi_dashboard.config import OnI2C, SensorConfig
    from pi_dashboard.sim.world import Environment, SimWorld

MEASURE = {0xFD: 0.0069, 0xF6: 0.0037, 0xE0: 0.0013}
"""Measure T & RH at high / medium / lowest precision -> typical duration (datasheet Table 4)."""
READ_SERIAL = 0x89
SOFT_RESET = 0x94


class SHT4xChip(SensirionChip):
    def __init__(
        self,
        env: Environment,
        *,
        serial: int = 0x0E4A_21C7,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(clock=clock)
        self.env = env
        self.serial = serial

    def write(self, data: bytes) -> None:
        if self.busy():
            raise nack()
        if len(data) != 1:
            self.clear_reply()
            return
        cmd = data[0]
        self.commands.append(cmd)
        if cmd in MEASURE:
            # RH = -6 + 125 * S / 65535: the chip reports beyond 0..100 %, the host crops it.
            words = [
                to_raw(self.env.temperature, -45.0, 175.0),
                to_raw(self.env.humidity, -6.0, 125.0),
            ]
            self.reply(words, after_s=MEASURE[cmd], measurement=True)
        elif cmd == READ_SERIAL:
            self.reply([self.serial >> 16, self.serial & 0xFFFF], after_s=0.0002)
        elif cmd == SOFT_RESET:
            self.clear_reply()
            self._busy_until = self.clock() + 0.0005
        else:  # heater and unknown commands: not modelled, no data to read
            self.clear_reply()


def place(world: SimWorld, cfg: SensorConfig[OnI2C]) -> None:
    world.bus(cfg.options.bus).attach(cfg.options.address, SHT4xChip(world.env))
