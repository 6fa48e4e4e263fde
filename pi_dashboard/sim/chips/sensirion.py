"""What simulated Sensirion sensors share: CRC-protected replies that are NACKed until ready.

The CRC here is computed independently of `drivers.sensirion` (polynomial long division over the
whole 16-bit word, not byte-wise), so a driver bug cannot be mirrored by the simulation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from pi_dashboard.sim.chips.base import SimChip, nack


def crc8_word(word: int, *, polynomial: int = 0x131, init: int = 0xFF) -> int:
    """CRC-8 of one 16-bit word: init XORed into the top byte, then division by x^8+x^5+x^4+1."""
    rem = (word ^ (init << 8)) << 8  # 24 bits: the word followed by 8 zero bits
    for bit in range(23, 7, -1):
        if rem & (1 << bit):
            rem ^= polynomial << (bit - 8)
    return rem & 0xFF


def to_raw(value: float, offset: float, span: float) -> int:
    """Inverse of the datasheets' linear formulas value = offset + span * S / 65535, rounded and
    clamped to 16 bits as the sensor's ADC would."""
    return min(max(round((value - offset) / span * 65535), 0), 0xFFFF)


class SensirionChip(SimChip):
    """A command-based chip: writes are commands, a read returns the pending reply once ready."""

    crc_init = 0xFF
    crc_protected = True

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.clock = clock
        self.corrupt_crc = False
        """Fault: every CRC byte the chip sends is wrong."""
        self.always_busy = False
        """Fault: measurements never complete, so reads are NACKed forever."""
        self.commands: list[int] = []
        """Every command received, for tests that check what a driver sent."""
        self._reply: bytes | None = None
        self._ready_at = 0.0
        self._measuring = False
        self._busy_until = 0.0

    def busy(self) -> bool:
        return self.clock() < self._busy_until

    def reply(
        self, words: Sequence[int], *, after_s: float = 0.0, measurement: bool = False
    ) -> None:
        data = bytearray()
        for w in words:
            crc = crc8_word(w, init=self.crc_init)
            data += bytes(((w >> 8) & 0xFF, w & 0xFF, crc ^ 0xFF if self.corrupt_crc else crc))
        self.reply_bytes(bytes(data), after_s=after_s, measurement=measurement)

    def reply_bytes(self, data: bytes, *, after_s: float = 0.0, measurement: bool = False) -> None:
        self._reply = data
        self._ready_at = self.clock() + after_s
        self._measuring = measurement

    def clear_reply(self) -> None:
        self._reply = None
        self._measuring = False

    def read(self, length: int) -> bytes:
        if self.busy() or self._reply is None:
            raise nack()
        if self.clock() < self._ready_at or (self._measuring and self.always_busy):
            raise nack()  # single-shot without clock stretching: NACK the read header until done
        data = self._reply[:length].ljust(length, b"\xff")
        self.clear_reply()  # the data memory is cleared once read out
        return data
