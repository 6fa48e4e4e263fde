"""Pi health from sysfs and procfs under a root directory (`/` on a Pi, a generated tree in mock mode).

Paths are parameters, as in gpiozero's `CPUTemperature(sensor_file=...)`, so the same parsing code
runs against the real kernel and against `sim/fs.py`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class CpuTimes:
    busy: int
    total: int


class SystemInfo:
    def __init__(self, root: Path = Path("/")) -> None:
        self.root = root

    def _read(self, rel: str) -> str:
        return (self.root / rel).read_text()

    def cpu_temperature(self, zone: int = 0) -> float:
        """°C from thermal_zoneN, which the kernel reports in millidegrees."""
        return int(self._read(f"sys/class/thermal/thermal_zone{zone}/temp").strip()) / 1000.0

    def load_average(self) -> tuple[float, float, float]:
        a, b, c = self._read("proc/loadavg").split()[:3]
        return float(a), float(b), float(c)

    def meminfo(self) -> dict[str, int]:
        """/proc/meminfo in bytes (the kernel writes kB = KiB)."""
        out: dict[str, int] = {}
        for line in self._read("proc/meminfo").splitlines():
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts:
                out[key] = int(parts[0]) * (1024 if len(parts) > 1 and parts[1] == "kB" else 1)
        return out

    def uptime(self) -> float:
        return float(self._read("proc/uptime").split()[0])

    def cpu_times(self) -> dict[str, CpuTimes]:
        """Busy and total jiffies per line of /proc/stat (`cpu` overall, `cpu0`...); % needs two samples."""
        out: dict[str, CpuTimes] = {}
        for line in self._read("proc/stat").splitlines():
            if not line.startswith("cpu"):
                continue
            name, *fields = line.split()
            ticks = [int(f) for f in fields[:8]]  # guest time is already counted in user
            idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
            out[name] = CpuTimes(busy=sum(ticks) - idle, total=sum(ticks))
        return out

    @staticmethod
    def disk_usage(path: Path) -> tuple[int, int]:
        """(free bytes for unprivileged users, total bytes) of the filesystem holding `path`."""
        st = os.statvfs(path)
        return st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize
