"""Simulated IIO devices: DHT22/DHT11 sensors as Linux's dht11 driver shows them in sysfs.

`/sys/bus/iio/devices/iio:deviceN/name` is `dht11@<gpio in hex>` (the Raspberry Pi overlay's node
name: GPIO 4 -> dht11@4, GPIO 17 -> dht11@11); `in_temp_input` and `in_humidityrelative_input`
hold millidegrees and milli-percent, in the DHT22's tenths or the DHT11's whole units.

A failing measurement: the kernel driver returns EIO (bad checksum, lost edges) from read(). A
regular file cannot do that, so while `SimDHT.failing` is set both attributes are symlinks to
/proc/self/mem, whose read() at offset 0 fails with a genuine EIO from the kernel (page 0 is never
mapped). `hw/iio.py` therefore runs exactly the code it runs on a Pi, with no test seam. (Off
Linux there is no /proc/self/mem: the dangling link reads as ENOENT instead.)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from pi_dashboard.hw.iio import IIO_DEVICES
from pi_dashboard.sim.fs import write_atomic

if TYPE_CHECKING:
    from pi_dashboard.config import SensorConfig
    from pi_dashboard.sim.world import SimWorld

EIO_SOURCE = Path("/proc/self/mem")
"""A file every Linux process may open whose read() at offset 0 fails with EIO."""

Model = Literal["dht11", "dht22"]
ATTRS = ("in_temp_input", "in_humidityrelative_input")

MOCK_FAIL_RATE = 0.15
"""Share of ticks on which mock mode's DHT fails a measurement, as real ones often do."""
MAX_FAILING_TICKS = 2
"""...but never for long: a retry 2 s later (4 ticks of 0.5 s) always succeeds in the demo."""


def _link_atomic(path: Path, target: Path) -> None:
    """Swap a symlink in with rename(), so a reader never finds the attribute missing."""
    tmp = path.with_name(f".{path.name}.lnk")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, path)


class SimDHT:
    def __init__(self, world: SimWorld, path: Path, model: Model, name: str) -> None:
        self.world = world
        self.path = path
        self.model = model
        self.name = name
        self.failing = False
        """Reads of both attributes fail with EIO, as after a garbled transmission."""
        self.fail_rate = 0.0
        """Unfrozen worlds only: the chance per tick that the next measurement fails."""
        self._failing_ticks = 0

    def values(self) -> tuple[int, int]:
        """(millidegrees, milli-percent) at the model's resolution and range."""
        env = self.world.env
        if self.model == "dht22":
            t = min(max(env.temperature, -40.0), 80.0)
            h = min(max(env.humidity, 0.0), 99.9)
            return round(t * 10) * 100, round(h * 10) * 100
        t = min(max(env.temperature, 0.0), 50.0)
        h = min(max(env.humidity, 5.0), 95.0)
        return round(t) * 1000, round(h) * 1000

    def update(self) -> None:
        write_atomic(self.path / "name", f"{self.name}\n")
        if self.failing:
            for attr in ATTRS:
                _link_atomic(self.path / attr, EIO_SOURCE)
            return
        t, h = self.values()
        write_atomic(self.path / ATTRS[0], f"{t}\n")
        write_atomic(self.path / ATTRS[1], f"{h}\n")

    def tick(self) -> None:
        if self.fail_rate and not self.world.frozen:
            rng = self.world.rng
            fail = self._failing_ticks < MAX_FAILING_TICKS and rng.random() < self.fail_rate
            self._failing_ticks = self._failing_ticks + 1 if fail else 0
            self.failing = fail
        self.update()


class SimIIO:
    """The world's IIO devices; a world ticker that refreshes them every tick."""

    def __init__(self, world: SimWorld) -> None:
        self.world = world
        self.base = world.root / IIO_DEVICES
        self.devices: dict[int, SimDHT] = {}

    def add_dht(self, model: Model, *, name: str, index: int | None = None) -> SimDHT:
        for dev in self.devices.values():
            if dev.name == name:
                return dev
        if index is None:
            index = max(self.devices, default=-1) + 1
        path = self.base / f"iio:device{index}"
        dev = self.devices[index] = SimDHT(self.world, path, model, name)
        dev.update()
        return dev

    def __call__(self, dt: float) -> None:
        for dev in self.devices.values():
            dev.tick()


def iio(world: SimWorld) -> SimIIO:
    """The world's IIO devices: created, and added to its tickers, on first use."""
    for ticker in world.tickers:
        if isinstance(ticker, SimIIO):
            return ticker
    devices = SimIIO(world)
    world.tickers.append(devices)
    return devices


def dht_name(gpio: int) -> str:
    """The Raspberry Pi dht11 overlay names its node after the pin, in hex."""
    return f"dht11@{gpio:x}"


class DhtWiring(Protocol):
    """Where a DHT's IIO device is: by overlay pin, or by device number or name."""

    @property
    def gpio(self) -> int | None: ...

    @property
    def device(self) -> int | str | None: ...


def place(world: SimWorld, cfg: SensorConfig[DhtWiring]) -> None:
    o = cfg.options
    model: Model = "dht11" if cfg.type == "dht11" else "dht22"
    index = o.device if isinstance(o.device, int) else None
    if o.gpio is not None:
        name = dht_name(o.gpio)
    elif isinstance(o.device, str):
        name = o.device
    else:
        name = dht_name(4)  # the overlay's default pin
    dev = iio(world).add_dht(model, name=name, index=index)
    dev.fail_rate = MOCK_FAIL_RATE
