"""What Sensirion's I2C humidity sensors share: the CRC-8 on every data word, and the
"NACK until the measurement is done" read of single-shot mode without clock stretching.

Datasheet SHT3x-DIS (v7), section 4.12 "Checksum Calculation", Table 20: CRC-8, polynomial 0x31
(x^8 + x^5 + x^4 + 1), initialisation 0xFF, no reflection, no final XOR; CRC(0xBEEF) = 0x92.
Section 4.4: without clock stretching, the sensor NACKs the read header until the measurement is
complete. The SHT4x datasheet (section 4.4 and 4.5) uses the same CRC and the same read behaviour.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from pi_dashboard.errors import ChipError
from pi_dashboard.hw.i2c import NACK_ERRNOS, I2CBus, i2c_msg

CRC8_POLYNOMIAL = 0x31
CRC8_INIT = 0xFF
POLL_INTERVAL_S = 0.002
"""How often to retry a NACKed read while the sensor is still measuring."""
READY_GRACE_S = 0.05
"""How long past the datasheet's maximum measurement time a read may still be NACKed before we
give up: covers a busy Pi oversleeping, yet a chip stuck mid-conversion is reported, not awaited."""

Sleep = Callable[[float], None]
Clock = Callable[[], float]


def crc8(
    data: bytes | Sequence[int], *, polynomial: int = CRC8_POLYNOMIAL, init: int = CRC8_INIT
) -> int:
    """MSB-first CRC-8, bitwise (a table is not worth it for two bytes per word)."""
    crc = init
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ polynomial) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def pack_words(
    words: Sequence[int], *, polynomial: int = CRC8_POLYNOMIAL, init: int = CRC8_INIT
) -> bytes:
    """16-bit words as the sensor sends them: MSB, LSB, CRC for each."""
    out = bytearray()
    for w in words:
        pair = bytes(((w >> 8) & 0xFF, w & 0xFF))
        out += pair
        out.append(crc8(pair, polynomial=polynomial, init=init))
    return bytes(out)


def unpack_words(data: bytes, names: Sequence[str], *, init: int = CRC8_INIT) -> tuple[int, ...]:
    """Check the CRC of every 3-byte group before trusting its word; `names` label the error."""
    if len(data) < 3 * len(names):
        raise ChipError(f"short read: {len(data)} bytes, expected {3 * len(names)}")
    words = []
    for i, name in enumerate(names):
        msb, lsb, got = data[3 * i : 3 * i + 3]
        expected = crc8((msb, lsb), init=init)
        if got != expected:
            raise ChipError(
                f"CRC mismatch on {name} word (got 0x{got:02x}, expected 0x{expected:02x})"
            )
        words.append((msb << 8) | lsb)
    return tuple(words)


def write_command(bus: I2CBus, address: int, command: bytes) -> None:
    """A bare command (no register byte): a NACK here means nothing answers at `address`."""
    bus.i2c_rdwr(i2c_msg.write(address, command))


def read_when_ready(
    bus: I2CBus,
    address: int,
    length: int,
    *,
    max_duration_s: float,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> bytes:
    """Wait the datasheet's maximum measurement time, then read; a NACK means "still measuring",
    so retry for a bounded time and then report the chip as not ready instead of waiting forever."""
    sleep(max_duration_s)
    deadline = clock() + READY_GRACE_S
    while True:
        msg = i2c_msg.read(address, length)
        try:
            bus.i2c_rdwr(msg)
        except OSError as e:
            if e.errno not in NACK_ERRNOS:
                raise
            if clock() >= deadline:
                waited_ms = (max_duration_s + READY_GRACE_S) * 1000
                raise ChipError(
                    f"measurement not ready: read still NACKed {waited_ms:.0f} ms after the command"
                ) from None
            sleep(POLL_INTERVAL_S)
            continue
        return bytes(msg)
