"""`pi_health`: the Pi's own vital signs from sysfs/procfs, declared as a table of channels.

Modelled on Home Assistant's systemmonitor: each channel is a frozen description with a `value_fn`
over one `Sample` of the system, so adding one is one entry. What the machine lacks (no Wi-Fi, no
firmware throttle word on a laptop, an offline core) is simply left out: `setup()` adds the
channels whose source exists, and a read leaves out any value it could not get this time (the
failing source is logged once when it starts failing and once when it recovers). The read fails
only when nothing at all could be read, or when an explicitly configured thermal
zone is missing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pi_dashboard.config import SensorConfig
from pi_dashboard.errors import FieldError, SensorError
from pi_dashboard.hw import Hardware
from pi_dashboard.hw.system import (
    CpuTimes,
    DiskUsage,
    SystemInfo,
    WirelessLink,
    cpu_percent,
    decode_throttled,
)
from pi_dashboard.model import ChannelMeta, DeviceClass, StateClass, Value
from pi_dashboard.sensors.base import PartialFailures, Sensor, SensorType

log = logging.getLogger(__name__)

MAX_CORES = 8
"""Per-core channel ids a config file may name (`cpu0_usage` ... `cpu7_usage`): a Pi has 1 or 4."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PiHealthOptions:
    disk_path: str = "/"
    """Whose free space to report: the filesystem holding pi-dashboard's data."""
    thermal_zone: int | None = None
    """None: thermal_zone0 when the machine has it (a laptop or container may not). A number:
    that zone, and its absence is an error."""
    wifi_interface: str = "wlan0"

    def __post_init__(self) -> None:
        if self.thermal_zone is not None and self.thermal_zone < 0:
            raise FieldError("thermal_zone", f"must be >= 0, got {self.thermal_zone}")
        if not self.wifi_interface or "/" in self.wifi_interface:
            raise FieldError("wifi_interface", f'"{self.wifi_interface}" is not an interface name')


@dataclass(slots=True)
class Sample:
    """One read of every source; a source the machine lacks (or that failed) stays None."""

    temperature: float | None = None
    cpu: dict[str, float] = field(default_factory=dict)
    """Busy % per /proc/stat line (`cpu`, `cpu0`...); empty on the first read."""
    load: tuple[float, float, float] | None = None
    mem: dict[str, int] | None = None
    disk: DiskUsage | None = None
    uptime: float | None = None
    throttle: dict[str, bool] | None = None
    wifi: WirelessLink | None = None


Group = Literal["base", "temperature", "cores", "throttle", "wifi"]


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthChannel:
    meta: ChannelMeta
    value_fn: Callable[[Sample], Value | None]
    group: Group = "base"
    """`base` channels exist on any Linux; the others only where `setup()` found their source."""


def _mem_used_percent(m: dict[str, int]) -> float:
    return 100.0 * (m["MemTotal"] - m["MemAvailable"]) / m["MemTotal"]


def _flag(name: str, label: str) -> HealthChannel:
    return HealthChannel(
        meta=ChannelMeta(
            id=name,
            name=label,
            unit=None,
            device_class=DeviceClass.PROBLEM,
            state_class=None,
            precision=0,
            binary=True,
        ),
        value_fn=lambda s: None if s.throttle is None else s.throttle[name],
        group="throttle",
    )


def core_channel(name: str) -> HealthChannel:
    """`cpu2` -> channel `cpu2_usage`, one per core /proc/stat lists."""
    return HealthChannel(
        meta=ChannelMeta(
            id=f"{name}_usage",
            name=f"CPU {name[3:]} usage",
            unit="%",
            precision=1,
            valid_range=(0.0, 100.0),
        ),
        value_fn=lambda s: s.cpu.get(name),
        group="cores",
    )


CHANNELS: tuple[HealthChannel, ...] = (
    HealthChannel(
        meta=ChannelMeta(
            id="cpu_temperature",
            name="CPU temperature",
            unit="°C",
            device_class=DeviceClass.TEMPERATURE,
            precision=1,
            valid_range=(-40.0, 125.0),
        ),
        value_fn=lambda s: s.temperature,
        group="temperature",
    ),
    HealthChannel(
        meta=ChannelMeta(
            id="cpu_usage", name="CPU usage", unit="%", precision=1, valid_range=(0.0, 100.0)
        ),
        value_fn=lambda s: s.cpu.get("cpu"),
    ),
    HealthChannel(
        meta=ChannelMeta(
            id="load_1m", name="Load (1 min)", unit=None, precision=2, valid_range=(0.0, 1e4)
        ),
        value_fn=lambda s: None if s.load is None else s.load[0],
    ),
    HealthChannel(
        meta=ChannelMeta(
            id="load_5m", name="Load (5 min)", unit=None, precision=2, valid_range=(0.0, 1e4)
        ),
        value_fn=lambda s: None if s.load is None else s.load[1],
    ),
    HealthChannel(
        meta=ChannelMeta(
            id="load_15m", name="Load (15 min)", unit=None, precision=2, valid_range=(0.0, 1e4)
        ),
        value_fn=lambda s: None if s.load is None else s.load[2],
    ),
    HealthChannel(
        meta=ChannelMeta(
            id="memory_available",
            name="Memory available",
            unit="B",
            device_class=DeviceClass.DATA_SIZE,
            precision=0,
            valid_range=(0.0, 1e13),
        ),
        value_fn=lambda s: None if s.mem is None else float(s.mem["MemAvailable"]),
    ),
    HealthChannel(
        meta=ChannelMeta(
            id="memory_used", name="Memory used", unit="%", precision=1, valid_range=(0.0, 100.0)
        ),
        value_fn=lambda s: None if s.mem is None else _mem_used_percent(s.mem),
    ),
    HealthChannel(
        meta=ChannelMeta(
            id="disk_free",
            name="Disk free",
            unit="B",
            device_class=DeviceClass.DATA_SIZE,
            precision=0,
            valid_range=(0.0, 1e16),
        ),
        value_fn=lambda s: None if s.disk is None else float(s.disk.available),
    ),
    HealthChannel(
        meta=ChannelMeta(
            id="disk_used", name="Disk used", unit="%", precision=1, valid_range=(0.0, 100.0)
        ),
        value_fn=lambda s: None if s.disk is None else s.disk.used_percent,
    ),
    HealthChannel(
        meta=ChannelMeta(
            id="uptime",
            name="Uptime",
            unit="s",
            device_class=DeviceClass.DURATION,
            state_class=StateClass.TOTAL_INCREASING,
            precision=0,
            valid_range=(0.0, 1e10),
        ),
        value_fn=lambda s: s.uptime,
    ),
    _flag("undervoltage", "Under-voltage"),
    _flag("undervoltage_since_boot", "Under-voltage since boot"),
    _flag("throttled", "Throttled"),
    _flag("throttled_since_boot", "Throttled since boot"),
    _flag("freq_capped", "ARM frequency capped"),
    _flag("freq_capped_since_boot", "ARM frequency capped since boot"),
    _flag("soft_temp_limit", "Soft temperature limit"),
    _flag("soft_temp_limit_since_boot", "Soft temperature limit since boot"),
    HealthChannel(
        meta=ChannelMeta(
            id="wifi_signal",
            name="Wi-Fi signal",
            unit="dBm",
            device_class=DeviceClass.SIGNAL_STRENGTH,
            precision=0,
            valid_range=(-130.0, 0.0),
        ),
        value_fn=lambda s: None if s.wifi is None else s.wifi.level_dbm,
        group="wifi",
    ),
)


class PiHealth(Sensor[PiHealthOptions]):
    worker = "fs"

    def __init__(self, config: SensorConfig[PiHealthOptions], hardware: Hardware) -> None:
        super().__init__(config, hardware)
        self.info = SystemInfo(hardware.root)
        self._zone = self.options.thermal_zone if self.options.thermal_zone is not None else 0
        self._groups: set[Group] = {"base"}
        self._cores: tuple[str, ...] = ()
        self._table: tuple[HealthChannel, ...] = self._build_table()
        self._prev_cpu: dict[str, CpuTimes] | None = None
        self._partial = PartialFailures(config.id, "source")

    def _build_table(self) -> tuple[HealthChannel, ...]:
        out: list[HealthChannel] = []
        for c in CHANNELS:
            if c.group in self._groups:
                out.append(c)
            if c.meta.id == "cpu_usage" and "cores" in self._groups:
                out.extend(core_channel(name) for name in self._cores)
        return tuple(out)

    @classmethod
    def channels_for(cls, options: PiHealthOptions) -> tuple[ChannelMeta, ...]:
        """Every channel some Pi has; `channels` are those this machine has (found by setup)."""
        cores = (core_channel(f"cpu{i}") for i in range(MAX_CORES))
        return tuple(c.meta for c in (*CHANNELS, *cores))

    @property
    def channels(self) -> tuple[ChannelMeta, ...]:
        return tuple(c.meta for c in self._table)

    def setup(self) -> None:
        """Find which optional sources this machine has; channels only ever grow."""
        info, groups = self.info, self._groups
        if self.options.thermal_zone is not None or info.thermal_path(self._zone).exists():
            groups.add("temperature")
        try:
            cores = tuple(
                sorted((n for n in info.cpu_times() if n != "cpu"), key=lambda n: int(n[3:]))
            )
        except (OSError, ValueError):
            cores = ()
        if cores:
            self._cores = tuple(dict.fromkeys((*self._cores, *cores)))
            groups.add("cores")
        try:
            if info.throttled() is not None:
                groups.add("throttle")
        except (OSError, ValueError) as e:
            log.debug("no throttle word: %s", e)
        iface = self.options.wifi_interface
        if iface in info.wireless() or (info.root / f"sys/class/net/{iface}/wireless").is_dir():
            groups.add("wifi")
        self._table = self._build_table()

    def read(self) -> Mapping[str, Value]:
        sample, failures = self._sample()
        out: dict[str, Value] = {}
        for c in self._table:
            v = c.value_fn(sample)
            if v is not None:
                out[c.meta.id] = v
        if not out:
            shown = [f"{what}: {why}" for what, why in failures.items()]
            more = f" (and {len(shown) - 1} more)" if len(shown) > 1 else ""
            raise SensorError(f"nothing readable: {shown[0] if shown else 'no sources'}{more}")
        self._partial.update(failures)
        return out

    def _sample(self) -> tuple[Sample, dict[str, str]]:
        """Every source read once; a failing one leaves its channels out of this read (and is
        logged once when it starts failing, once when it recovers), the others still count."""
        info, groups, s = self.info, self._groups, Sample()
        failures: dict[str, str] = {}

        def attempt(what: str, fn: Callable[[], None]) -> None:
            try:
                fn()
            except (OSError, ValueError, KeyError, IndexError) as e:
                failures[what] = _describe(e)

        def temperature() -> None:
            try:
                s.temperature = info.cpu_temperature(self._zone)
            except OSError:
                if self.options.thermal_zone is not None:
                    raise SensorError(
                        f"no CPU temperature at {info.thermal_path(self._zone)}"
                    ) from None
                raise

        def cpu() -> None:
            now = info.cpu_times()
            prev, self._prev_cpu = self._prev_cpu, now
            if prev is not None:  # the first read has nothing to compare with: no CPU % yet
                for name, times in now.items():
                    if name in prev and (p := cpu_percent(prev[name], times)) is not None:
                        s.cpu[name] = p

        def throttle() -> None:
            word = info.throttled()
            s.throttle = None if word is None else decode_throttled(word)

        def wifi() -> None:
            s.wifi = info.wireless().get(self.options.wifi_interface)

        def load() -> None:
            s.load = info.load_average()

        def mem() -> None:
            m = info.meminfo()
            s.mem = m if "MemTotal" in m and "MemAvailable" in m else None

        def disk() -> None:
            s.disk = SystemInfo.disk_usage(Path(self.options.disk_path))

        def uptime() -> None:
            s.uptime = info.uptime()

        if "temperature" in groups:
            attempt("cpu temperature", temperature)
        attempt("/proc/stat", cpu)
        attempt("/proc/loadavg", load)
        attempt("/proc/meminfo", mem)
        attempt(self.options.disk_path, disk)
        attempt("/proc/uptime", uptime)
        if "throttle" in groups:
            attempt("throttle word", throttle)
        if "wifi" in groups:
            attempt("/proc/net/wireless", wifi)
        return s, failures


def _describe(e: BaseException) -> str:
    if isinstance(e, OSError) and e.filename:
        return f"{e.strerror or type(e).__name__}: {e.filename}"
    return str(e) or type(e).__name__


TYPE = SensorType(
    name="pi_health",
    description="Raspberry Pi health: CPU temperature and usage, load, memory, disk, uptime, "
    "under-voltage and throttling, Wi-Fi signal.",
    options=PiHealthOptions,
    sensor=PiHealth,
    default_interval=10.0,
    min_interval=1.0,
    simulated="pi_dashboard.sim.fs:place",
)
