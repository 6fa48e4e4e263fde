"""SimI2CBus: smbus2's interface over simulated chips, failing the way the Linux kernel does.

Every SMBus call is turned into the raw write/read transactions it puts on the wire, so a chip model
only ever sees bytes, as the real chip does. No chip (or an unplugged one) at an address is a NACK:
`OSError(errno.EREMOTEIO)` (121), exactly what `smbus2.SMBus` raises on a Pi.

Fault injection (`sim/faults.py`) hooks in here, on the wire: `nack_storm` NACKs every address, and
a `WireFaults` per address may NACK or block a transaction and corrupt what a chip replies.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from pi_dashboard.sim.chips.base import SimChip, nack

if TYPE_CHECKING:  # the drivers build the messages: smbus2 (and ctypes) only with an I2C chip
    from smbus2 import i2c_msg


class WireFaults(Protocol):
    def transaction(self) -> None:
        """Before each transaction with the chip: raise to NACK it, or block (a hung chip)."""

    def reply(self, data: bytes) -> bytes:
        """What a read of 2+ bytes (a measurement, a calibration block) really delivers."""


I2C_M_RD = 0x0001
I2C_SMBUS_BLOCK_MAX = 32


class SimI2CBus:
    def __init__(self, number: int = 1) -> None:
        self.number = number
        self.chips: dict[int, SimChip] = {}
        self.transactions = 0
        self._lock = threading.Lock()
        self.nack_storm = False
        """Every transaction on the bus is NACKed, whatever the address."""
        self.faults: dict[int, WireFaults] = {}
        """Address -> the faults injected between that chip and the wire."""

    # --- wiring ---------------------------------------------------------------------------
    def attach(self, address: int, chip: SimChip) -> SimChip:
        if not 0x03 <= address <= 0x77:
            raise ValueError(f"0x{address:02x} is not a 7-bit I2C device address")
        self.chips[address] = chip
        return chip

    def unplug(self, address: int) -> None:
        self.chips[address].present = False

    def plug(self, address: int) -> None:
        self.chips[address].present = True

    # --- the wire -------------------------------------------------------------------------
    def _chip(self, addr: int) -> SimChip:
        if not 0 <= addr <= 0x7F:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        self.transactions += 1
        chip = self.chips.get(addr)
        if self.nack_storm or chip is None or not chip.present:
            raise nack()
        faults = self.faults.get(addr)
        if faults is not None:
            faults.transaction()
        return chip

    def _read(self, addr: int, chip: SimChip, length: int) -> bytes:
        """The chip's answer as it arrives over a possibly faulty wire (call with chip.lock)."""
        data = chip.read(length)
        faults = self.faults.get(addr)
        if faults is not None and length >= 2:
            data = faults.reply(data)
        return data

    def _write(self, addr: int, data: bytes) -> None:
        chip = self._chip(addr)
        with chip.lock:
            chip.write(data)

    def _write_read(self, addr: int, data: bytes, length: int) -> bytes:
        chip = self._chip(addr)
        with chip.lock:
            chip.write(data)
            return self._read(addr, chip, length)

    # --- smbus2.SMBus's interface ---------------------------------------------------------
    def read_byte(self, i2c_addr: int, force: bool | None = None) -> int:
        chip = self._chip(i2c_addr)
        with chip.lock:
            return self._read(i2c_addr, chip, 1)[0]

    def write_byte(self, i2c_addr: int, value: int, force: bool | None = None) -> None:
        self._write(i2c_addr, bytes([value & 0xFF]))

    def write_quick(self, i2c_addr: int, force: bool | None = None) -> None:
        self._chip(i2c_addr)

    def read_byte_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        return self._write_read(i2c_addr, bytes([register]), 1)[0]

    def write_byte_data(
        self, i2c_addr: int, register: int, value: int, force: bool | None = None
    ) -> None:
        self._write(i2c_addr, bytes([register, value & 0xFF]))

    def read_word_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        lo, hi = self._write_read(i2c_addr, bytes([register]), 2)
        return lo | (hi << 8)  # SMBus words are little-endian on the wire

    def write_word_data(
        self, i2c_addr: int, register: int, value: int, force: bool | None = None
    ) -> None:
        self._write(i2c_addr, bytes([register, value & 0xFF, (value >> 8) & 0xFF]))

    def read_i2c_block_data(
        self, i2c_addr: int, register: int, length: int, force: bool | None = None
    ) -> list[int]:
        if not 0 <= length <= I2C_SMBUS_BLOCK_MAX:
            raise ValueError(f"Desired block length over {I2C_SMBUS_BLOCK_MAX} bytes")
        return list(self._write_read(i2c_addr, bytes([register]), length))

    def write_i2c_block_data(
        self, i2c_addr: int, register: int, data: Sequence[int], force: bool | None = None
    ) -> None:
        if len(data) > I2C_SMBUS_BLOCK_MAX:
            raise ValueError(f"Data length cannot exceed {I2C_SMBUS_BLOCK_MAX} bytes")
        self._write(i2c_addr, bytes([register, *data]))

    def i2c_rdwr(self, *i2c_msgs: i2c_msg) -> None:
        """Combined transactions; a read message's buffer is filled in place, as the kernel does."""
        for msg in i2c_msgs:
            chip = self._chip(msg.addr)
            with chip.lock:
                if msg.flags & I2C_M_RD:
                    data = self._read(msg.addr, chip, msg.len)
                    for i, b in enumerate(data):
                        msg.buf[i] = bytes([b])
                else:
                    chip.write(bytes(msg))

    def close(self) -> None:
        pass
