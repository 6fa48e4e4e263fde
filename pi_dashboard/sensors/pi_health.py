"""`pi_health`: the Pi's own vital signs from sysfs/procfs, declared as a table of channels.

Modelled on Home Assistant's systemmonitor: each channel is a frozen description with a `value_fn`,
so adding one is one entry, and a channel the machine lacks is simply left out of the reading.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pi_dashboard.config import SensorConfig
from pi_dashboard.errors import SensorError
from pi_dashboard.hw import Hardware
from pi_dashboard.hw.system import SystemInfo
from pi_dashboard.model import ChannelMeta, DeviceClass, StateClass, Value
from pi_dashboard.sensors.base import Sensor, SensorType


@dataclass(frozen=True, slots=True, kw_only=True)
class PiHealthOptions:
    disk_path: str = "/"
    """Whose free space to report: the filesystem holding pi-dashboard's data."""
    thermal_zone: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthChannel:
    meta: ChannelMeta
    value_fn: Callable[[PiHealth], float | None]


class PiHealth(Sensor):
    def __init__(self, config: SensorConfig, hardware: Hardware) -> None:
        super().__init__(config, hardware)
        self.options: PiHealthOptions = config.options
        self.info = SystemInfo(hardware.root)
        self._meminfo: dict[str, int] = {}

    @property
    def channels(self) -> tuple[ChannelMeta, ...]:
        return tuple(c.meta for c in CHANNELS)

    def read(self) -> Mapping[str, Value]:
        self._meminfo = self.info.meminfo()
        out: dict[str, Value] = {}
        for c in CHANNELS:
            try:
                v = c.value_fn(self)
            except FileNotFoundError as e:
                if c.meta.id == "cpu_temperature":
                    raise SensorError(f"no CPU temperature at {e.filename}") from None
                continue
            if v is not None:
                out[c.meta.id] = v
        return out

    def mem_available(self) -> float:
        return float(self._meminfo["MemAvailable"])

    def mem_used_percent(self) -> float:
        total = self._meminfo["MemTotal"]
        return 100.0 * (total - self._meminfo["MemAvailable"]) / total

    def disk_free(self) -> float:
        free, _total = SystemInfo.disk_usage(Path(self.options.disk_path))
        return float(free)


CHANNELS: tuple[HealthChannel, ...] = (
    HealthChannel(
        meta=ChannelMeta(id="cpu_temperature", name="CPU temperature", unit="°C",
                         device_class=DeviceClass.TEMPERATURE, precision=1,
                         valid_range=(-40.0, 125.0)),
        value_fn=lambda s: s.info.cpu_temperature(s.options.thermal_zone),
    ),
    HealthChannel(
        meta=ChannelMeta(id="load_1m", name="Load (1 min)", unit=None, precision=2,
                         valid_range=(0.0, 1e4)),
        value_fn=lambda s: s.info.load_average()[0],
    ),
    HealthChannel(
        meta=ChannelMeta(id="memory_available", name="Memory available", unit="B",
                         device_class=DeviceClass.DATA_SIZE, precision=0, valid_range=(0.0, 1e13)),
        value_fn=PiHealth.mem_available,
    ),
    HealthChannel(
        meta=ChannelMeta(id="memory_used", name="Memory used", unit="%", precision=1,
                         valid_range=(0.0, 100.0)),
        value_fn=PiHealth.mem_used_percent,
    ),
    HealthChannel(
        meta=ChannelMeta(id="disk_free", name="Disk free", unit="B",
                         device_class=DeviceClass.DATA_SIZE, precision=0, valid_range=(0.0, 1e16)),
        value_fn=PiHealth.disk_free,
    ),
    HealthChannel(
        meta=ChannelMeta(id="uptime", name="Uptime", unit="s", device_class=DeviceClass.DURATION,
                         state_class=StateClass.TOTAL_INCREASING, precision=0,
                         valid_range=(0.0, 1e10)),
        value_fn=lambda s: s.info.uptime(),
    ),
)

TYPE = SensorType(
    name="pi_health",
    options=PiHealthOptions,
    create=PiHealth,
    description="Raspberry Pi health: CPU temperature, load, memory, disk, uptime.",
    default_interval=10.0,
    min_interval=1.0,
    channel_ids=lambda _o: tuple(c.meta.id for c in CHANNELS),
)
