"""A fake /sys and /proc tree with the files Pi health, 1-Wire and IIO sensors read.

File formats follow the kernel's exactly (thermal millidegrees, /proc/meminfo kB lines, ...), so
the readers in `hw/` parse the same text on a laptop as on a Pi.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pi_dashboard.sim.world import Environment


def write_atomic(path: Path, text: str) -> None:
    """Readers must never see a half-written file, as they never do in real sysfs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class SimFS:
    MEM_TOTAL_KB = 436_972  # a Pi Zero 2 W's 512 MB less the GPU split

    def __init__(self, root: Path, env: Environment) -> None:
        self.root = root
        self.env = env
        self.uptime = 1234.5
        self.idle = 4000.0
        self.cpu_ticks = [10_000, 0, 5_000, 40_000, 300, 0, 50, 0, 0, 0]
        self.throttled = 0x0
        self.update(0.0)

    def path(self, rel: str) -> Path:
        return self.root / rel.lstrip("/")

    def update(self, dt: float) -> None:
        env = self.env
        self.uptime += dt
        rng = env.rng
        write_atomic(self.path("sys/class/thermal/thermal_zone0/temp"),
                     f"{round(env.cpu_temperature * 1000)}\n")
        load1 = max(0.0, 0.3 + rng.gauss(0, 0.05))
        write_atomic(self.path("proc/loadavg"), f"{load1:.2f} 0.25 0.20 1/123 4567\n")
        avail = int(self.MEM_TOTAL_KB * (0.6 + rng.uniform(-0.02, 0.02)))
        write_atomic(self.path("proc/meminfo"), (
            f"MemTotal:       {self.MEM_TOTAL_KB} kB\n"
            f"MemFree:        {avail - 60_000} kB\n"
            f"MemAvailable:   {avail} kB\n"
            "Buffers:           12000 kB\n"
            "Cached:            80000 kB\n"
        ))
        write_atomic(self.path("proc/uptime"), f"{self.uptime:.2f} {self.uptime * 3.5:.2f}\n")
        # /proc/stat: user nice system idle iowait irq softirq steal guest guest_nice, in USER_HZ
        busy = int(dt * 100 * 4 * max(0.0, min(1.0, 0.1 + rng.gauss(0, 0.03))))
        self.cpu_ticks[0] += busy
        self.cpu_ticks[3] += int(dt * 100 * 4) - busy
        line = " ".join(str(t) for t in self.cpu_ticks)
        percore = "".join(
            f"cpu{i} " + " ".join(str(t // 4) for t in self.cpu_ticks) + "\n" for i in range(4)
        )
        write_atomic(self.path("proc/stat"), f"cpu  {line}\n{percore}intr 0\nctxt 0\nbtime 0\n")
