"""Pi health from sysfs and procfs under a root directory (`/` on a Pi, a generated tree in mock).

Paths are parameters, as in gpiozero's `CPUTemperature(sensor_file=...)`, so the same parsing code
runs against the real kernel and against `sim/fs.py`. Each `parse_*` function takes the file's
text, so tests feed it the kernel's exact formats without a machine that has them.

Throttling: Raspberry Pi documentation, "vcgencmd get_throttled" (bit meanings), and the
raspberrypi firmware driver's `get_throttled` sysfs attribute (same word, printed as "%x\\n").
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

THROTTLED_FILE = "sys/devices/platform/soc/soc:firmware/get_throttled"
"""The firmware's throttle word; on recent Raspberry Pi OS kernels, readable without root."""

THROTTLE_BITS: dict[str, int] = {
    "undervoltage": 0,
    "freq_capped": 1,
    "throttled": 2,
    "soft_temp_limit": 3,
    "undervoltage_since_boot": 16,
    "freq_capped_since_boot": 17,
    "throttled_since_boot": 18,
    "soft_temp_limit_since_boot": 19,
}
"""Flag name -> bit of the get_throttled word: 0-3 are "now", 16-19 "has occurred since boot"."""


@dataclass(frozen=True, slots=True)
class CpuTimes:
    busy: int
    total: int


@dataclass(frozen=True, slots=True)
class WirelessLink:
    quality: float
    """The driver's link quality, on its own scale (brcmfmac: out of 70)."""
    level_dbm: float


@dataclass(frozen=True, slots=True)
class DiskUsage:
    total: int
    used: int
    available: int
    """Free for unprivileged users: what pi-dashboard's own writes can still use."""

    @property
    def used_percent(self) -> float:
        """As `df` computes it: the root-reserved blocks count neither as used nor available."""
        room = self.used + self.available
        return 100.0 * self.used / room if room else 0.0


def parse_cpu_times(text: str) -> dict[str, CpuTimes]:
    """Busy and total jiffies per `cpu` line of /proc/stat (`cpu` overall, then `cpu0`...)."""
    out: dict[str, CpuTimes] = {}
    for line in text.splitlines():
        if not line.startswith("cpu"):
            continue
        name, *fields = line.split()
        ticks = [int(f) for f in fields[:8]]  # guest time is already counted in user
        idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
        out[name] = CpuTimes(busy=sum(ticks) - idle, total=sum(ticks))
    return out


def cpu_percent(before: CpuTimes, after: CpuTimes) -> float | None:
    """Busy share of the jiffies between two samples; None if no time passed between them."""
    total = after.total - before.total
    if total <= 0:
        return None
    return min(max(100.0 * (after.busy - before.busy) / total, 0.0), 100.0)


def parse_meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo in bytes (the kernel writes kB = KiB)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts:
            out[key] = int(parts[0]) * (1024 if len(parts) > 1 and parts[1] == "kB" else 1)
    return out


def parse_throttled(text: str) -> int:
    """The throttle word from sysfs ("50005") or `vcgencmd get_throttled` ("throttled=0x50005")."""
    _, _, value = text.strip().rpartition("=")
    try:
        return int(value, 16)
    except ValueError:
        raise ValueError(f"not a throttle word: {text.strip()!r}") from None


def decode_throttled(word: int) -> dict[str, bool]:
    return {name: bool((word >> bit) & 1) for name, bit in THROTTLE_BITS.items()}


def parse_wireless(text: str) -> dict[str, WirelessLink]:
    """/proc/net/wireless: two header lines, then `iface: status link. level. noise. ...` rows.

    The trailing dots come from the kernel's "%d." format. Some drivers report the level as an
    unsigned byte (200 for -56 dBm); a level of 0 means no signal measured (not associated)."""
    out: dict[str, WirelessLink] = {}
    for line in text.splitlines()[2:]:
        name, sep, rest = line.partition(":")
        fields = rest.split()
        if not sep or len(fields) < 3:
            continue
        quality = float(fields[1].rstrip("."))
        level = float(fields[2].rstrip("."))
        if level == 0:
            continue
        if level > 0:
            level -= 256
        out[name.strip()] = WirelessLink(quality=quality, level_dbm=level)
    return out


class SystemInfo:
    def __init__(self, root: Path = Path("/"), *, vcgencmd: bool | None = None) -> None:
        self.root = root
        self.use_vcgencmd = root == Path("/") if vcgencmd is None else vcgencmd
        """Run `vcgencmd` when the sysfs throttle file is missing: only for the real root, since
        a simulated tree must never be mixed with the machine's own firmware."""

    def _read(self, rel: str) -> str:
        return (self.root / rel).read_text()

    def thermal_path(self, zone: int = 0) -> Path:
        return self.root / f"sys/class/thermal/thermal_zone{zone}/temp"

    def cpu_temperature(self, zone: int = 0) -> float:
        """°C from thermal_zoneN, which the kernel reports in millidegrees."""
        return int(self.thermal_path(zone).read_text().strip()) / 1000.0

    def load_average(self) -> tuple[float, float, float]:
        a, b, c = self._read("proc/loadavg").split()[:3]
        return float(a), float(b), float(c)

    def meminfo(self) -> dict[str, int]:
        return parse_meminfo(self._read("proc/meminfo"))

    def uptime(self) -> float:
        return float(self._read("proc/uptime").split()[0])

    def cpu_times(self) -> dict[str, CpuTimes]:
        """Per /proc/stat `cpu` line; a percentage needs two samples (`cpu_percent`)."""
        return parse_cpu_times(self._read("proc/stat"))

    def wireless(self) -> dict[str, WirelessLink]:
        """Wireless interfaces with a measured signal; empty without Wi-Fi (or without the file)."""
        try:
            return parse_wireless(self._read("proc/net/wireless"))
        except FileNotFoundError:
            return {}

    def throttled(self) -> int | None:
        """The firmware's throttle word, or None on machines without one (not a Pi, old kernel
        without the sysfs file and no usable vcgencmd)."""
        try:
            return parse_throttled(self._read(THROTTLED_FILE))
        except FileNotFoundError:
            pass
        if not self.use_vcgencmd:
            return None
        exe = shutil.which("vcgencmd")
        if exe is None:
            return None
        try:
            done = subprocess.run(
                [exe, "get_throttled"], capture_output=True, text=True, timeout=5, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            log.debug("vcgencmd get_throttled failed: %s", e)
            return None
        if done.returncode != 0:  # e.g. "VCHI initialization failed": not in the video group
            log.debug("vcgencmd get_throttled: %s", (done.stderr or done.stdout).strip())
            return None
        return parse_throttled(done.stdout)

    @staticmethod
    def disk_usage(path: Path) -> DiskUsage:
        """Space on the filesystem holding `path` (not under `root`: it is where we write)."""
        st = os.statvfs(path)
        return DiskUsage(
            total=st.f_blocks * st.f_frsize,
            used=(st.f_blocks - st.f_bfree) * st.f_frsize,
            available=st.f_bavail * st.f_frsize,
        )
