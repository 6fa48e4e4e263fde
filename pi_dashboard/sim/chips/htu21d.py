"""Simulated HTU21D(F) / Si7021: no-hold measurements NACKed until done, status bits in the data
word, CRC with init 0x00, the user register (heater bit survives a soft reset, as on the chip).

Hold-master commands (0xE3/0xE5) would need clock stretching and produce no data here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pi_dashboard.sim.chips.base import nack
from pi_dashboard.sim.chips.sensirion import SensirionChip

if TYPE_CHECKING:
    from pi_dashboard.config import OnI2C, SensorConfig
    from pi_dashboard.sim.world import Environment, SimWorld

TRIGGER_T = 0xF3
TRIGGER_RH = 0xF5
WRITE_USER_REGISTER = 0xE6
READ_USER_REGISTER = 0xE7
SOFT_RESET = 0xFE
USER_REGISTER_DEFAULT = 0x02
"""HTU21D: 12/14-bit resolution, heater off, OTP reload disabled."""
HEATER = 0x04
WRITABLE = 0x81 | HEATER
"""Resolution and heater bits; the rest are status or reserved."""
TYPICAL_T_S = 0.044
TYPICAL_RH_S = 0.014
RESET_S = 0.012
HEATER_RISE_C = 1.0
"""The heater warms the chip by 0.5-1.5 °C (HTU21D datasheet, user register)."""


def _word(value: float, offset: float, span: float, status: int) -> int:
    raw = min(max(round((value - offset) / span * 65536), 0), 0xFFFF)
    return (raw & 0xFFFC) | status


class HTU21DChip(SensirionChip):
    crc_init = 0x00

    def __init__(self, env: Environment, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock=clock)
        self.env = env
        self.user_register = USER_REGISTER_DEFAULT

    def write(self, data: bytes) -> None:
        if self.busy():
            raise nack()  # still resetting
        if not data:
            return
        cmd = data[0]
        self.commands.append(cmd)
        heated = HEATER_RISE_C if self.user_register & HEATER else 0.0
        if cmd == TRIGGER_T:
            word = _word(self.env.temperature + heated, -46.85, 175.72, 0b00)
            self.reply([word], after_s=TYPICAL_T_S, measurement=True)
        elif cmd == TRIGGER_RH:
            word = _word(self.env.humidity, -6.0, 125.0, 0b10)  # bit 1 set: a humidity word
            self.reply([word], after_s=TYPICAL_RH_S, measurement=True)
        elif cmd == READ_USER_REGISTER:
            self.reply_bytes(bytes((self.user_register,)))
        elif cmd == WRITE_USER_REGISTER and len(data) == 2:
            self.user_register = (self.user_register & ~WRITABLE) | (data[1] & WRITABLE)
        elif cmd == SOFT_RESET:
            self.clear_reply()
            self.user_register = USER_REGISTER_DEFAULT | (self.user_register & HEATER)
            self._busy_until = self.clock() + RESET_S
        else:
            self.clear_reply()


def place(world: SimWorld, cfg: SensorConfig[OnI2C]) -> None:
    world.bus(cfg.options.bus).attach(cfg.options.address, HTU21DChip(world.env))
