"""1-Wire slaves as Linux shows them (w1-gpio bus master + w1_therm), under a base directory.

`<base>/<family>-<serial>/w1_slave` answers each read with a fresh conversion, two lines:

    72 01 4b 46 7f ff 0e 10 57 : crc=57 YES
    72 01 4b 46 7f ff 0e 10 57 t=23125

line 1 is the scratchpad just read and the kernel's CRC verdict, line 2 the kernel's conversion in
millidegrees (on a CRC failure its bytes are the last *good* scratchpad, so only line 1 is the
current read). `w1_slave_show()` in the kernel's drivers/w1/slaves/w1_therm.c always prints both
lines or nothing, so a read with line 1 alone was cut short and is an error. Newer kernels also
have `temperature` (millidegrees, one line), and answer an empty read instead of `crc=.. NO` when
the conversion fails. Paths are parameters, as in gpiozero's
`CPUTemperature(sensor_file=...)`, so `sim/onewire.py` can write the same files anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from pi_dashboard.errors import SensorError

W1_DEVICES = "sys/bus/w1/devices"
"""Where the w1 core lists slaves (symlinks to their devices) and bus masters, relative to root."""

SLAVE_RE = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{12})$")
"""`28-0316a2795e1f`: family code, then the 48-bit serial (the ROM's CRC byte is not shown)."""

_LINE1_RE = re.compile(r"^((?:[0-9a-f]{2} ){9}): crc=([0-9a-f]{2}) (YES|NO)$")
_LINE2_RE = re.compile(r"^((?:[0-9a-f]{2} ){9})t=(-?\d+)$")


@dataclass(frozen=True, slots=True)
class W1SlaveRead:
    """One read of `w1_slave`: the scratchpad as read now, and what the kernel made of it."""

    scratchpad: bytes
    """The 9 bytes of line 1 (byte 8 is the CRC the chip sent)."""
    kernel_crc_ok: bool
    millicelsius: int
    """The kernel's `t=`."""


def parse_w1_slave(text: str, slave: str) -> W1SlaveRead:
    """Parse the two lines; an empty read (newer kernels' way of saying it failed) raises, and so
    does a read without its `t=` line: the kernel never writes line 1 alone."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise SensorError(f"empty read from {slave}: the kernel got no answer from the probe")
    m1 = _LINE1_RE.match(lines[0])
    if m1 is None:
        raise SensorError(f"unreadable w1_slave from {slave}: {lines[0][:60]!r}")
    if len(lines) < 2:
        raise SensorError(f"incomplete read from {slave}: w1_slave has no t= line")
    m2 = _LINE2_RE.match(lines[1])
    if m2 is None:
        raise SensorError(f"unreadable w1_slave from {slave}: {lines[1][:60]!r}")
    return W1SlaveRead(bytes.fromhex(m1.group(1)), m1.group(3) == "YES", int(m2.group(2)))


class OneWireBus:
    """The slaves under `base` (`/sys/bus/w1/devices` on a Pi). Every read talks to the probe."""

    def __init__(self, base: Path) -> None:
        self.base = base

    @classmethod
    def under(cls, root: Path) -> OneWireBus:
        return cls(root / W1_DEVICES)

    def present(self) -> bool:
        """False when no w1 bus master is loaded (no `dtoverlay=w1-gpio`)."""
        return self.base.is_dir()

    def slaves(self, families: Collection[str] | None = None) -> list[str]:
        """Slave names (`28-0316a2795e1f`), sorted, optionally only these family codes."""
        try:
            names = [p.name for p in self.base.iterdir()]
        except FileNotFoundError:
            return []
        out = []
        for name in names:
            m = SLAVE_RE.match(name)
            if m and (families is None or m.group(1) in families):
                out.append(name)
        return sorted(out)

    def has(self, slave: str) -> bool:
        return (self.base / slave).is_dir()

    def has_attr(self, slave: str, attr: str) -> bool:
        """Only a stat, whatever kind of file it is: opening `w1_slave` starts a conversion."""
        return (self.base / slave / attr).exists()

    def _read(self, slave: str, attr: str) -> str:
        return (self.base / slave / attr).read_text(encoding="ascii", errors="replace")

    def read_w1_slave(self, slave: str) -> W1SlaveRead:
        """One conversion (750 ms at 12 bits); OSError if the slave vanished meanwhile."""
        return parse_w1_slave(self._read(slave, "w1_slave"), slave)

    def read_temperature(self, slave: str) -> int:
        """Millidegrees from the `temperature` attribute; its CRC verdict is not visible."""
        text = self._read(slave, "temperature").strip()
        if not text:
            raise SensorError(f"empty read from {slave}: the kernel got no answer from the probe")
        try:
            return int(text)
        except ValueError:
            raise SensorError(f"unreadable temperature from {slave}: {text[:60]!r}") from None
