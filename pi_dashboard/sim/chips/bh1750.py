"""Simulated ROHM BH1750FVI: the opcode state machine, MTreg, and a data register that keeps the
previous result while a measurement runs (the real chip has no ready flag and never NACKs, so a
driver that does not wait the measurement time reads stale data here, as on the real chip).

No CRC and no busy flag exist on this chip, so it has no `corrupt_crc` / `always_busy` faults;
unplug it through the bus, or raise the room's illuminance to saturate it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pi_dashboard.sim.chips.base import SimChip

if TYPE_CHECKING:
    from pi_dashboard.config import OnI2C, SensorConfig
    from pi_dashboard.sim.world import Environment, SimWorld

POWER_DOWN = 0x00
POWER_ON = 0x01
RESET = 0x07
CONTINUOUS = {0x10: "high", 0x11: "high2", 0x13: "low"}
ONE_TIME = {0x20: "high", 0x21: "high2", 0x23: "low"}
TYPICAL_S = {"high": 0.120, "high2": 0.120, "low": 0.016}
"""Typical measurement time at MTreg 69 (the driver must wait the maximum, 180 / 24 ms)."""


class BH1750Chip(SimChip):
    def __init__(self, env: Environment, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.env = env
        self.clock = clock
        self.powered = False
        self.mtreg = 69
        self.data = 0
        self.mode: str | None = None
        self.one_time = False
        self.opcodes: list[int] = []
        self._ready_at = 0.0

    def counts(self, mode: str) -> int:
        c = self.env.illuminance * 1.2 * self.mtreg / 69
        if mode == "high2":
            c *= 2
        return min(max(round(c), 0), 0xFFFF)

    def _start(self, mode: str, one_time: bool) -> None:
        self.mode, self.one_time = mode, one_time
        self._ready_at = self.clock() + TYPICAL_S[mode] * self.mtreg / 69

    def _update(self) -> None:
        if self.mode is None or self.clock() < self._ready_at:
            return
        self.data = self.counts(self.mode)
        if self.one_time:  # one-time modes drop to power down after the measurement
            self.mode, self.powered = None, False
        else:
            self._start(self.mode, False)

    def write(self, data: bytes) -> None:
        if len(data) != 1:
            return  # "not able to accept plural command without stop condition"
        op = data[0]
        self.opcodes.append(op)
        if op == POWER_DOWN:
            self.powered, self.mode = False, None
        elif op == POWER_ON:
            self.powered = True
        elif op == RESET:
            if self.powered:  # not accepted in power down
                self.data = 0
        elif op & 0xF8 == 0x40:  # 01000_MT[7,6,5]
            self.mtreg = (self.mtreg & 0x1F) | ((op & 0x07) << 5)
        elif op & 0xE0 == 0x60:  # 011_MT[4,3,2,1,0]
            self.mtreg = (self.mtreg & 0xE0) | (op & 0x1F)
        elif (op in ONE_TIME or op in CONTINUOUS) and self.powered:  # ignored in power down
            self._update()
            self._start(ONE_TIME.get(op) or CONTINUOUS[op], op in ONE_TIME)

    def read(self, length: int) -> bytes:
        self._update()
        return bytes(((self.data >> 8) & 0xFF, self.data & 0xFF))[:length].ljust(length, b"\xff")


def place(world: SimWorld, cfg: SensorConfig[OnI2C]) -> None:
    world.bus(cfg.options.bus).attach(cfg.options.address, BH1750Chip(world.env))
