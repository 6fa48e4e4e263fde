"""The subset of smbus2's `SMBus` that drivers use, as a Protocol, so `smbus2.SMBus` fits unchanged.

A missing chip raises `OSError` errno 121 (EREMOTEIO) on a Pi; the simulated bus does the same.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from smbus2 import i2c_msg

__all__ = ["I2CBus", "I2CBusOpener", "i2c_msg"]


def __getattr__(name: str) -> Any:
    """`i2c_msg` from smbus2 when a driver first asks for it: smbus2 loads ctypes (~4 ms of a
    start), which a daemon without I2C chips, or in mock mode with none, never needs."""
    if name == "i2c_msg":
        from smbus2 import i2c_msg

        return i2c_msg
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


NACK_ERRNOS = frozenset({errno.EREMOTEIO, errno.EIO, errno.ENXIO, errno.ETIMEDOUT})


@runtime_checkable
class I2CBus(Protocol):
    def read_byte(self, i2c_addr: int, force: bool | None = None) -> int: ...

    def write_byte(self, i2c_addr: int, value: int, force: bool | None = None) -> None: ...

    def write_quick(self, i2c_addr: int, force: bool | None = None) -> None: ...

    def read_byte_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int: ...

    def write_byte_data(
        self, i2c_addr: int, register: int, value: int, force: bool | None = None
    ) -> None: ...

    def read_word_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int: ...

    def write_word_data(
        self, i2c_addr: int, register: int, value: int, force: bool | None = None
    ) -> None: ...

    def read_i2c_block_data(
        self, i2c_addr: int, register: int, length: int, force: bool | None = None
    ) -> list[int]: ...

    def write_i2c_block_data(
        self, i2c_addr: int, register: int, data: Sequence[int], force: bool | None = None
    ) -> None: ...

    def i2c_rdwr(self, *i2c_msgs: i2c_msg) -> None: ...

    def close(self) -> None: ...


class I2CBusOpener:
    """Opens each /dev/i2c-N once and shares it; polling's one worker per bus serialises access."""

    def __init__(self) -> None:
        self._buses: dict[int, I2CBus] = {}
        self._lock = threading.Lock()

    def __call__(self, bus: int) -> I2CBus:
        with self._lock:
            if bus not in self._buses:
                from smbus2 import SMBus

                self._buses[bus] = SMBus(bus)  # OSError ENOENT/EACCES: reported by the sensor
            return self._buses[bus]

    def close(self) -> None:
        with self._lock:
            for b in self._buses.values():
                b.close()
            self._buses.clear()
