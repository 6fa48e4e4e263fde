"""`ds18b20`: DS18B20 waterproof probes (and DS1822, DS18S20) on the Pi's 1-Wire bus, one channel
per probe. Needs `dtoverlay=w1-gpio` (GPIO 4 by default) and a 4.7 kΩ pull-up from data to 3.3 V.

`probes = "auto"` takes every thermometer found at setup (channels become known then);
`probes = ["28-0316a2795e1f", ...]` names them by serial. A channel's id is its serial with `-`
replaced by `_`; `names = {"28-0316a2795e1f" = "Water tank"}` gives it a display name.

Several probes, one sensor: a read returns the probes that answered and leaves out those that did
not (their values age on the dashboard, and each failure is logged once when it starts and when it
ends); only when every probe fails does the sensor go to `error`, naming each probe's problem. For
a status per probe, configure one sensor per probe.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pi_dashboard.config import SensorConfig
from pi_dashboard.drivers.ds18b20 import DS18B20, FAMILIES, T_MAX_C, T_MIN_C
from pi_dashboard.errors import FieldError, SensorError
from pi_dashboard.hw import Hardware
from pi_dashboard.hw.onewire import SLAVE_RE, OneWireBus
from pi_dashboard.model import ChannelMeta, DeviceClass, Value
from pi_dashboard.sensors.base import PartialFailures, Sensor, SensorType

__all__ = ["FAMILIES", "TYPE", "Ds18b20Options", "Ds18b20Sensor", "channel_id"]
"""FAMILIES too: doctor, a layer above drivers, names the thermometer families by it."""

log = logging.getLogger(__name__)

BUS_HINT = "is dtoverlay=w1-gpio enabled?"


def channel_id(slave: str) -> str:
    return slave.replace("-", "_")


def _check_slave(value: str, where: str) -> str:
    slave = value.strip().lower()
    m = SLAVE_RE.match(slave)
    if m is None:
        raise FieldError(
            where, f'"{value}" is not a 1-Wire serial like "28-0316a2795e1f" '
            "(see ls /sys/bus/w1/devices)",
        )  # fmt: skip
    if m.group(1) not in FAMILIES:
        known = ", ".join(f"{f} {chip}" for f, chip in FAMILIES.items())
        raise FieldError(where, f'"{value}": family {m.group(1)} is not a thermometer ({known})')
    return slave


@dataclass(frozen=True, slots=True, kw_only=True)
class Ds18b20Options:
    probes: tuple[str, ...] | Literal["auto"] = "auto"
    """Serials as in /sys/bus/w1/devices, or "auto" for every thermometer found at setup."""
    names: Mapping[str, str] = field(default_factory=dict)
    """Serial -> display name of its channel."""

    def __post_init__(self) -> None:
        if self.probes != "auto":
            if not self.probes:
                raise FieldError("probes", 'must list at least one serial (or be "auto")')
            probes = tuple(_check_slave(p, f"probes[{i}]") for i, p in enumerate(self.probes))
            for i, p in enumerate(probes):
                if p in probes[:i]:
                    raise FieldError(f"probes[{i}]", f'"{p}" is listed twice')
            object.__setattr__(self, "probes", probes)
        names = {}
        for key, name in self.names.items():
            slave = _check_slave(key, f"names.{key}")
            if self.probes != "auto" and slave not in self.probes:
                raise FieldError(f"names.{key}", "is not one of the probes")
            names[slave] = name
        object.__setattr__(self, "names", names)


def probe_channel(slave: str, options: Ds18b20Options) -> ChannelMeta:
    """A probe's channel: its id from the serial, its name from `names` or chip and serial."""
    return ChannelMeta(
        id=channel_id(slave), name=options.names.get(slave, f"{FAMILIES[slave[:2]]} {slave}"),
        unit="°C", device_class=DeviceClass.TEMPERATURE, precision=1,
        valid_range=(T_MIN_C, T_MAX_C),
    )  # fmt: skip


class Ds18b20Sensor(Sensor[Ds18b20Options]):
    worker = "w1"
    """One thread for the bus: the kernel serialises it anyway, 750 ms per 12-bit conversion."""

    def __init__(self, config: SensorConfig[Ds18b20Options], hardware: Hardware) -> None:
        super().__init__(config, hardware)
        self.bus = OneWireBus.under(hardware.root)
        self.probes: dict[str, DS18B20] = {}
        """Serial -> driver, in channel order; `auto` adds what each setup finds, never removes."""
        if self.options.probes != "auto":
            for slave in self.options.probes:
                self.probes[slave] = DS18B20(self.bus, slave)
        self._partial = PartialFailures(config.id, "probe")

    @classmethod
    def channels_for(cls, options: Ds18b20Options) -> tuple[ChannelMeta, ...] | None:
        """Known from the config unless `auto`: then only setup knows."""
        if options.probes == "auto":
            return None
        return tuple(probe_channel(slave, options) for slave in options.probes)

    @property
    def channels(self) -> tuple[ChannelMeta, ...]:
        return tuple(probe_channel(slave, self.options) for slave in self.probes)

    def setup(self) -> None:
        if not self.bus.present():
            raise SensorError(f"no 1-Wire bus at {self.bus.base} ({BUS_HINT})")
        if self.options.probes != "auto":
            return
        for slave in self.bus.slaves(FAMILIES):
            if slave not in self.probes:
                log.info("sensor %s: found %s probe %s", self.config.id, FAMILIES[slave[:2]], slave)
                self.probes[slave] = DS18B20(self.bus, slave)
        if not self.probes:
            raise SensorError(f"no temperature probes on the 1-Wire bus ({BUS_HINT} wired?)")

    def read(self) -> Mapping[str, Value]:
        values: dict[str, Value] = {}
        errors: dict[str, str] = {}
        for slave, probe in self.probes.items():
            try:
                values[channel_id(slave)] = probe.read()
            except (SensorError, OSError) as e:
                errors[slave] = str(e) or type(e).__name__
        if not values:  # the sensor goes to error, which polling logs
            if len(errors) == 1:
                raise SensorError(next(iter(errors.values())))
            detail = "; ".join(e if s in e else f"{s}: {e}" for s, e in errors.items())
            raise SensorError(f"all {len(errors)} probes failed: {detail}")
        self._partial.update(errors)
        return values


TYPE = SensorType(
    name="ds18b20",
    description="DS18B20/DS1822/DS18S20 1-Wire thermometers via Linux w1 (one channel per probe).",
    options=Ds18b20Options,
    sensor=Ds18b20Sensor,
    default_interval=10.0,
    min_interval=1.0,
    simulated="pi_dashboard.sim.onewire:place",
)
