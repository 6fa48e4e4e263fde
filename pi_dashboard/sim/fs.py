"""A fake /sys and /proc tree with the files Pi health, 1-Wire and IIO sensors read.

File formats follow the kernel's exactly (thermal millidegrees, /proc/meminfo kB lines, the
firmware's "%x" throttle word, /proc/net/wireless with its two header lines), so the readers in
`hw/` parse the same text on a laptop as on a Pi. Tests set `throttled` and `wifi_level` and the
files change at once; everything else moves on `update(dt)`.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pi_dashboard.config import SensorConfig
    from pi_dashboard.sim.world import Environment, SimWorld

log = logging.getLogger(__name__)

THROTTLED_FILE = "sys/devices/platform/soc/soc:firmware/get_throttled"
WIRELESS_HEADER = (
    "Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE\n"
    " face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22\n"
)
USER_HZ = 100
"""/proc/stat counts in USER_HZ ticks, 100 per second on every Linux the Pi runs."""


_WRITTEN: dict[str, tuple[str, int, int, int]] = {}
"""path -> (text, inode, mtime, size) of our last write there, so that an unchanged file is not
written again: most of the tree is rewritten every tick, and each write is a rename."""
WRITTEN_MAX = 4096


def write_atomic(path: Path, text: str) -> None:
    """Readers must never see a half-written file, as they never do in real sysfs. A file that
    still is the one we last wrote there, with this text, is left alone."""
    key = str(path)
    last = _WRITTEN.get(key)
    if last is not None and last[0] == text:
        try:
            st = os.lstat(key)
        except OSError:
            pass
        else:
            if (st.st_ino, st.st_mtime_ns, st.st_size) == last[1:]:
                return
    head, name = os.path.split(key)
    tmp = os.path.join(head, f".{name}.tmp")
    try:
        f = open(tmp, "w")  # noqa: SIM115 - closed below; the directory is made only if missing
    except FileNotFoundError:
        os.makedirs(head, exist_ok=True)
        f = open(tmp, "w")  # noqa: SIM115
    with f:
        f.write(text)
    os.replace(tmp, key)
    st = os.lstat(key)
    if len(_WRITTEN) >= WRITTEN_MAX:
        _WRITTEN.clear()
    _WRITTEN[key] = (text, st.st_ino, st.st_mtime_ns, st.st_size)


# --- where the tree lives: in memory, never on the SD card -------------------------------------

TREE_PREFIX = "pi-dashboard-sim-"


def memory_base() -> Path:
    """A RAM-backed directory: /dev/shm (tmpfs on every Linux), else systemd's per-user
    $XDG_RUNTIME_DIR (tmpfs too); elsewhere the temp dir, with a warning that it may be a disk.
    The tree is rewritten every tick (MBs a minute): on an SD card that is wear for nothing."""
    for candidate in ("/dev/shm", os.environ.get("XDG_RUNTIME_DIR", "")):
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK | os.X_OK):
            return Path(candidate)
    base = Path(tempfile.gettempdir())
    log.warning("no /dev/shm here: the simulated /sys tree goes to %s, which may be a disk", base)
    return base


class MemoryTree:
    """A scratch directory for the simulated /sys and /proc, in RAM, removed on close; folders
    left by simulators that died without closing (SIGKILL) are removed when the next one starts."""

    def __init__(self, base: Path | None = None) -> None:
        self.base = memory_base() if base is None else base
        remove_stale(self.base)
        self.path = Path(tempfile.mkdtemp(prefix=f"{TREE_PREFIX}{os.getpid()}-", dir=self.base))

    def cleanup(self) -> None:
        """Never raises: a stop must not fail over a scratch folder (a leftover is logged)."""
        try:
            shutil.rmtree(self.path)
        except FileNotFoundError:
            pass
        except OSError as e:
            log.warning("could not remove the simulated tree %s: %s", self.path, e)


def remove_stale(base: Path) -> list[Path]:
    """Remove `pi-dashboard-sim-<pid>-*` folders whose process is gone; returns what it removed."""
    removed: list[Path] = []
    try:
        entries = list(base.glob(f"{TREE_PREFIX}*"))
    except OSError:
        return removed
    for p in entries:
        pid = p.name.removeprefix(TREE_PREFIX).split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)) or not p.is_dir():
            continue
        try:
            shutil.rmtree(p)
            removed.append(p)
        except OSError as e:
            log.debug("could not remove stale %s: %s", p, e)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to judge
    return True


class SimFS:
    MEM_TOTAL_KB = 436_972  # a Pi Zero 2 W's 512 MB less the GPU split
    CORES = 4

    def __init__(self, root: Path, env: Environment) -> None:
        self.root = root
        self.env = env
        self.uptime = 1234.5
        # per core: user nice system idle iowait irq softirq steal guest guest_nice, in USER_HZ
        self.core_ticks = [[2_500, 0, 1_250, 10_000, 75, 0, 12, 0, 0, 0] for _ in range(self.CORES)]
        self.load = [0.3, 0.25, 0.2]
        self._throttled: int | None = 0x0
        self._wifi_level: float | None = -55.0
        self.update(0.0)

    def path(self, rel: str) -> Path:
        return self.root / rel.lstrip("/")

    @property
    def throttled(self) -> int | None:
        """The firmware's throttle word (0x50005: under-voltage and throttled, now and since boot);
        None removes the file, as on a machine that is not a Pi."""
        return self._throttled

    @throttled.setter
    def throttled(self, word: int | None) -> None:
        self._throttled = word
        self._write_throttled()

    @property
    def wifi_level(self) -> float | None:
        """wlan0's signal in dBm; None leaves wlan0 out of /proc/net/wireless (no Wi-Fi)."""
        return self._wifi_level

    @wifi_level.setter
    def wifi_level(self, dbm: float | None) -> None:
        self._wifi_level = dbm
        self._write_wireless()

    def _write_throttled(self) -> None:
        path = self.path(THROTTLED_FILE)
        if self._throttled is None:
            path.unlink(missing_ok=True)
        else:
            write_atomic(path, f"{self._throttled:x}\n")

    def _write_wireless(self) -> None:
        rows = ""
        if self._wifi_level is not None:
            level = round(self._wifi_level)
            quality = min(max(level + 110, 0), 70)  # brcmfmac-like: link quality out of 70
            rows = (
                f" wlan0: 0000   {quality}.  {level}.  -256        0      0      0"
                "      0      0        0\n"
            )
        write_atomic(self.path("proc/net/wireless"), WIRELESS_HEADER + rows)

    def update(self, dt: float) -> None:
        env = self.env
        rng = env.rng
        self.uptime += dt
        write_atomic(
            self.path("sys/class/thermal/thermal_zone0/temp"),
            f"{round(env.cpu_temperature * 1000)}\n",
        )

        busy_cores = 0.0
        for ticks in self.core_ticks:
            share = max(0.0, min(1.0, 0.1 + rng.gauss(0, 0.05)))
            busy = round(dt * USER_HZ * share)
            ticks[0] += busy * 2 // 3  # user
            ticks[2] += busy - busy * 2 // 3  # system
            ticks[3] += round(dt * USER_HZ) - busy  # idle
            busy_cores += share
        total = [sum(col) for col in zip(*self.core_ticks, strict=True)]
        lines = [f"cpu  {' '.join(map(str, total))}"]
        lines += [f"cpu{i} {' '.join(map(str, t))}" for i, t in enumerate(self.core_ticks)]
        lines += ["intr 0", "ctxt 0", "btime 0", "processes 1", "procs_running 1"]
        write_atomic(self.path("proc/stat"), "\n".join(lines) + "\n")

        # load averages: the kernel's exponential decay over 1, 5 and 15 minutes
        for i, minutes in enumerate((1, 5, 15)):
            k = min(dt / (60.0 * minutes), 1.0)
            self.load[i] += (busy_cores - self.load[i]) * k
        one, five, fifteen = self.load
        write_atomic(self.path("proc/loadavg"), f"{one:.2f} {five:.2f} {fifteen:.2f} 1/123 4567\n")

        avail = int(self.MEM_TOTAL_KB * (0.6 + rng.uniform(-0.02, 0.02)))
        write_atomic(
            self.path("proc/meminfo"),
            f"MemTotal:       {self.MEM_TOTAL_KB} kB\n"
            f"MemFree:        {avail - 60_000} kB\n"
            f"MemAvailable:   {avail} kB\n"
            "Buffers:           12000 kB\n"
            "Cached:            80000 kB\n",
        )
        write_atomic(self.path("proc/uptime"), f"{self.uptime:.2f} {self.uptime * 3.5:.2f}\n")
        self._write_throttled()
        self._write_wireless()


def place(world: SimWorld, cfg: SensorConfig[object]) -> None:
    """`pi_health`'s counterpart: the /sys and /proc tree the world always writes. Nothing to add;
    placing it is what makes the world tick, so the tree's numbers move."""
