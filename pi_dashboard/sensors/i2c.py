"""Checks every I2C sensor type's options share: which bus, and an address the chip can have."""

from __future__ import annotations

from collections.abc import Sequence

from pi_dashboard.errors import FieldError


def check_bus_address(type_name: str, bus: int, address: int, addresses: Sequence[int]) -> None:
    """FieldError naming `address` with the valid list (`0x46 is not a valid address for sht3x
    (0x44, 0x45)`), or `bus` when it cannot be a /dev/i2c-N."""
    if address not in addresses:
        valid = ", ".join(f"0x{a:02x}" for a in addresses)
        shown = f"0x{address:02x}" if address >= 0 else str(address)
        raise FieldError("address", f"{shown} is not a valid address for {type_name} ({valid})")
    if bus < 0:
        raise FieldError("bus", f"must be >= 0 (the N of /dev/i2c-N), got {bus}")
