"""Linux IIO devices under a root directory: `<root>/sys/bus/iio/devices/iio:deviceN/`.

Each device has a `name` (the driver's, e.g. `dht11@4` for Linux's DHT driver on GPIO 4) and
`in_<channel>_input` attributes holding processed values as integers in milli-units. A read runs
the driver: errors come back from read() as OSError with the driver's errno (EIO, ETIMEDOUT, ...),
and are passed on unchanged so the caller can decide which ones are worth a retry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pi_dashboard.errors import SensorError

IIO_DEVICES = "sys/bus/iio/devices"
"""Where the IIO core lists its devices (symlinks into /sys/devices), relative to root."""

_DEVICE_RE = re.compile(r"^iio:device(\d+)$")


@dataclass(frozen=True, slots=True)
class IIODevice:
    path: Path
    index: int

    def name(self) -> str:
        """The driver's name for the device; "" if it has none."""
        try:
            return (self.path / "name").read_text().strip()
        except FileNotFoundError:
            return ""

    def read_int(self, attr: str) -> int:
        """One processed value (`in_temp_input`: millidegrees C); OSError as the driver gave it."""
        text = (self.path / attr).read_text().strip()
        try:
            return int(text)
        except ValueError:
            raise SensorError(f"unreadable {attr} from {self.path.name}: {text[:60]!r}") from None


def iio_devices(root: Path = Path("/")) -> list[IIODevice]:
    """Every IIO device, by index (the index follows probe order, so it can change at boot)."""
    base = root / IIO_DEVICES
    try:
        entries = list(base.iterdir())
    except FileNotFoundError:
        return []
    found = []
    for p in entries:
        m = _DEVICE_RE.match(p.name)
        if m:
            found.append(IIODevice(p, int(m.group(1))))
    return sorted(found, key=lambda d: d.index)
