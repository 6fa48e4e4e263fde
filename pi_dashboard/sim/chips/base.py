"""What a simulated chip sees of the bus: raw write and read transactions, as on the wire.

`RegisterChip` adds the common register-pointer model (write the register address, then read or
write data with auto-increment), which is what SMBus byte/block calls turn into.
"""

from __future__ import annotations

import errno
import os
import threading
from typing import Protocol


class Room(Protocol):
    """What a simulated device measures: the world's quantities by name, in base units
    (`env.temperature`), from the room itself or through a sensor's faults (`FaultyEnv`)."""

    def __getattr__(self, name: str, /) -> float: ...


def nack() -> OSError:
    """What a chip raises from `read`/`write` to NACK (a conversion still running): what smbus2
    raises on a Pi for a NACK, errno 121 (EREMOTEIO), the same as an unplugged chip."""
    return OSError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))


class SimChip:
    """A device at one I2C address. Subclasses model the chip; the bus only moves bytes."""

    crc_protected = False
    """Every reply carries a CRC the driver checks, so a flipped bit is caught (fault injection
    offers `crc_errors` only for such chips)."""
    env: Room
    """What the chip measures when it converts (set by each chip's constructor)."""

    def __init__(self) -> None:
        self.present = True
        """False = unplugged: the bus NACKs every transaction, like a pulled cable."""
        self.lock = threading.RLock()

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def read(self, length: int) -> bytes:
        raise NotImplementedError


class RegisterChip(SimChip):
    """A chip with an 8-bit register pointer that auto-increments on reads and writes."""

    def __init__(self) -> None:
        super().__init__()
        self.regs = bytearray(256)
        self.pointer = 0

    def write(self, data: bytes) -> None:
        if not data:
            return
        self.pointer = data[0]
        for b in data[1:]:
            self.write_register(self.pointer, b)
            self.pointer = (self.pointer + 1) & 0xFF

    def read(self, length: int) -> bytes:
        out = bytearray()
        for _ in range(length):
            out.append(self.read_register(self.pointer))
            self.pointer = (self.pointer + 1) & 0xFF
        return bytes(out)

    def read_register(self, reg: int) -> int:
        return self.regs[reg]

    def write_register(self, reg: int, value: int) -> None:
        self.regs[reg] = value
