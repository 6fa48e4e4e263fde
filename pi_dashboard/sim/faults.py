"""Fault injection for mock mode: per simulated sensor, what `[sensors.mock]` or the page's fault
panel asks for, applied where the production driver meets the simulated hardware.

I2C chips fail on the wire (`SimI2CBus.faults`, `nack_storm`): NACKs, transactions that block,
replies with a flipped bit or random bytes. 1-Wire probes fail in the files the kernel shows: the
`w1_slave` text of a failed, corrupted or power-on conversion (`SimProbe.injector`), the probe's
directory (unplug) and FIFOs that block a read (hang). Noise, drift and a stuck value change what
the device *measures* (`FaultyEnv`), so they go through the chip's own conversion too.

`FaultEngine` is also what app.py hands the web layer, behind `web.keys.FaultController`.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from pi_dashboard.config import MockFaults, OnI2C, SensorConfig, from_table
from pi_dashboard.errors import ConfigError
from pi_dashboard.sim.chips.base import Room, nack
from pi_dashboard.sim.onewire import AUTO_PROBES, Fault, ProbeList, SimProbe, w1_bus

if TYPE_CHECKING:
    from pi_dashboard.sim.world import SimWorld

NO_FAULTS = MockFaults()
COMMON = frozenset(
    {"noise", "drift_per_minute", "stuck", "dropout", "garbage", "nack_storm", "hang",
     "unplugged", "unplug_every", "unplug_for"}
)  # fmt: skip
"""What every simulated I2C chip and 1-Wire probe can show."""
W1_FAULTS = COMMON | {"crc_errors", "power_on"}
RANDOM = ("dropout", "garbage", "crc_errors", "power_on")
"""Per reply (I2C) or per conversion (1-Wire) at most one of these, drawn in this order."""
W1_SHOWS: dict[str, Fault] = {
    "dropout": "empty",
    "garbage": "garbage",
    "crc_errors": "crc",
    "power_on": "reset",
}
"""A drawn fault -> what the probe's files show (sim/onewire.py)."""


class FaultyEnv:
    """What one device measures: the room, through its sensor's noise, drift and stuck value."""

    __slots__ = ("faults", "room")

    def __init__(self, room: Room, faults: SensorFaults) -> None:
        self.room: Room = room.room if isinstance(room, FaultyEnv) else room
        self.faults = faults

    def __getattr__(self, name: str) -> float:
        return self.faults.measured(name, getattr(self.room, name))


class SensorFaults:
    """One sensor's fault settings and the state they need. Its device's hooks call in from bus
    threads; `settings` is replaced whole, never changed in place."""

    def __init__(
        self, cfg: SensorConfig[object], supported: frozenset[str], clock: Callable[[], float]
    ) -> None:
        self.id = cfg.id
        self.type = cfg.type
        self.supported = supported
        self.settings = NO_FAULTS
        self.rng = random.Random(cfg.id)
        """Per sensor and seeded by its id: a configured fault pattern repeats from run to run."""
        self.clock = clock
        self.hanging = 0
        """Transactions blocked right now by `hang`."""
        self.closed = False
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._drift = 0.0
        self._drift_since = clock()
        self._schedule_since = clock()
        self._stuck: dict[str, float] = {}

    def apply(self, new: MockFaults) -> None:
        old, now = self.settings, self.clock()
        with self._lock:
            if new.drift_per_minute != old.drift_per_minute:
                # keep what drifted so far; a drift set back to 0 is a recalibrated sensor
                self._drift = self._drifted(now) if new.drift_per_minute else 0.0
                self._drift_since = now
            if (new.unplug_every, new.unplug_for) != (old.unplug_every, old.unplug_for):
                self._schedule_since = now
            if not new.stuck:
                self._stuck.clear()
            if new.hang and not old.hang and not self.closed:
                self._released = threading.Event()  # before `settings`: no waiter sees a set one
        self.settings = new
        if old.hang and not new.hang:
            self._released.set()

    def close(self) -> None:
        """The world is closing: whatever hangs returns, and nothing hangs any more."""
        self.closed = True
        self._released.set()

    # --- what the device measures -----------------------------------------------------------

    def _drifted(self, now: float) -> float:
        return self._drift + self.settings.drift_per_minute * (now - self._drift_since) / 60.0

    def measured(self, quantity: str, value: float) -> float:
        s = self.settings
        with self._lock:
            if s.stuck and quantity in self._stuck:
                return self._stuck[quantity]
            value += self._drifted(self.clock())
            if s.noise:
                value += self.rng.gauss(0.0, s.noise)
            if s.stuck:
                self._stuck[quantity] = value
        return value

    # --- when the device answers at all -------------------------------------------------------

    def unplugged_now(self) -> bool:
        s = self.settings
        if s.unplugged:
            return True
        if s.unplug_every <= 0:
            return False
        phase = (self.clock() - self._schedule_since) % s.unplug_every
        return phase >= s.unplug_every - s.unplug_for

    def draw(self) -> str | None:
        """Which random fault (if any) hits this reply or conversion."""
        s = self.settings
        if not (s.dropout or s.garbage or s.crc_errors or s.power_on):
            return None
        with self._lock:
            r = self.rng.random()
        for name in RANDOM:
            p = getattr(s, name)
            if r < p:
                return name
            r -= p
        return None

    # --- sim.bus.WireFaults: an I2C chip ------------------------------------------------------

    def transaction(self) -> None:
        if self.unplugged_now():
            raise nack()
        if self.settings.hang:
            released = self._released  # already set once the world is closing
            with self._lock:
                self.hanging += 1
            try:
                released.wait()
            finally:
                with self._lock:
                    self.hanging -= 1
            # the I2C controller gives up on a transfer that never ends: ETIMEDOUT, as on a Pi
            raise OSError(errno.ETIMEDOUT, os.strerror(errno.ETIMEDOUT))

    def reply(self, data: bytes) -> bytes:
        fault = self.draw()
        if fault == "dropout":
            raise nack()
        if fault == "garbage":
            with self._lock:
                return self.rng.randbytes(len(data))
        if fault == "crc_errors":
            with self._lock:
                bit = self.rng.randrange(len(data) * 8)
            flipped = bytearray(data)
            flipped[bit // 8] ^= 1 << (bit % 8)
            return bytes(flipped)
        return data

    # --- sim.onewire.SimProbe.injector: a 1-Wire probe ----------------------------------------

    def conversion(self) -> Fault | None:
        fault = self.draw()
        return None if fault is None else W1_SHOWS[fault]


@dataclasses.dataclass(slots=True)
class _W1:
    """A 1-Wire sensor's probes, and the plug and hang state the engine last gave them."""

    probes: list[SimProbe]
    unplugged: bool = False
    hung: bool = False


class FaultEngine:
    """Every simulated sensor's faults: set from `[sensors.mock]` when the world is populated,
    changed at run time with `update()`/`clear()` (the fault panel), released by `close()`."""

    def __init__(self, world: SimWorld, clock: Callable[[], float] = time.monotonic) -> None:
        self.world = world
        self.clock = clock
        self.sensors: dict[str, SensorFaults] = {}
        self._i2c: dict[str, tuple[int, int]] = {}
        self._w1: dict[str, _W1] = {}
        self._ticking = False

    # --- wiring ---------------------------------------------------------------------------------

    def add(self, cfg: SensorConfig[object], path: str) -> None:
        """Hook the faults in front of the device `cfg` got; ConfigError (naming `path`) for
        `[sensors.mock]` on a type with nothing simulated, or a fault its device cannot show."""
        faults = self._attach(cfg)
        if faults is None:
            if cfg.mock is not None:
                raise ConfigError(
                    f"no simulated faults for {cfg.type} sensors (only for I2C chips and "
                    "1-Wire probes)",
                    field=f"{path}.mock",
                )
            return
        if cfg.mock is not None:
            try:
                self._check(faults, cfg.mock)
            except ConfigError as e:
                e.field = f"{path}.mock.{e.field}"
                raise
            self._apply(faults, cfg.mock)

    def _attach(self, cfg: SensorConfig[object]) -> SensorFaults | None:
        """The device the placer put there: 1-Wire probes by serial, an I2C chip by address."""
        options = cfg.options
        if isinstance(options, ProbeList):
            bus = w1_bus(self.world)
            serials = [s for s, _ in AUTO_PROBES] if options.probes == "auto" else options.probes
            probes = [bus.probes[s] for s in serials if s in bus.probes]
            faults = SensorFaults(cfg, W1_FAULTS, self.clock)
            for probe in probes:
                probe.env = FaultyEnv(probe.env, faults)
                probe.injector = faults.conversion
            self._w1[cfg.id] = _W1(probes)
            if not self._ticking:
                self.world.tickers.append(self.tick)
                self._ticking = True
        elif isinstance(options, OnI2C):
            bus_number, address = options.bus, options.address
            chip = self.world.bus(bus_number).chips.get(address)
            if chip is None:
                return None
            crc = {"crc_errors"} if chip.crc_protected else set()
            faults = SensorFaults(cfg, COMMON | crc, self.clock)
            self.world.bus(bus_number).faults[address] = faults
            chip.env = FaultyEnv(chip.env, faults)
            self._i2c[cfg.id] = (bus_number, address)
        else:
            return None
        self.sensors[cfg.id] = faults
        return faults

    @staticmethod
    def _check(faults: SensorFaults, settings: MockFaults) -> None:
        for f in dataclasses.fields(MockFaults):
            if f.name in faults.supported or getattr(settings, f.name) == f.default:
                continue
            if f.name == "crc_errors":
                why = f"{faults.type} replies carry no CRC (garbage corrupts them)"
            elif f.name == "power_on":
                why = "only a DS18B20 answers a power-on value"
            else:
                why = f"not simulated for {faults.type}"
            raise ConfigError(why, field=f.name)

    def _apply(self, faults: SensorFaults, settings: MockFaults) -> None:
        faults.apply(settings)
        if faults.id in self._i2c:
            bus_number = self._i2c[faults.id][0]
            self.world.bus(bus_number).nack_storm = any(
                self.sensors[sid].settings.nack_storm
                for sid, (b, _) in self._i2c.items()
                if b == bus_number
            )
        else:
            w1_bus(self.world).storm = any(self.sensors[s].settings.nack_storm for s in self._w1)
            self._sync_w1(faults)

    def tick(self, dt: float) -> None:
        """A world ticker: 1-Wire unplug schedules act on the probes' directories."""
        for sid in self._w1:
            self._sync_w1(self.sensors[sid])

    def _sync_w1(self, faults: SensorFaults) -> None:
        """Act only on changes the faults make, so a probe a test unplugs by hand stays so."""
        w1 = self._w1[faults.id]
        unplugged, hung = faults.unplugged_now(), faults.settings.hang and not faults.closed
        replugged = False
        with w1_bus(self.world).lock:
            if unplugged != w1.unplugged:
                for probe in w1.probes:
                    if unplugged:
                        probe.unplug()
                    else:
                        probe.plug()
                w1.unplugged, replugged = unplugged, not unplugged
            if hung != w1.hung or (hung and replugged):  # an unplug released the hang
                for probe in w1.probes:
                    if hung:
                        probe.hang()
                    else:
                        probe.release()
                w1.hung = hung

    def close(self) -> None:
        """Release every hung read (a bus thread blocked in one would keep the process alive)."""
        for faults in self.sensors.values():
            faults.close()
            if faults.id in self._w1:
                self._sync_w1(faults)

    # --- web.keys.FaultController ---------------------------------------------------------------

    def describe(self) -> list[dict[str, object]]:
        return [self._describe(f) for f in self.sensors.values()]

    def get(self, sensor: str) -> dict[str, object] | None:
        faults = self.sensors.get(sensor)
        return None if faults is None else self._describe(faults)

    def update(self, sensor: str, changes: Mapping[str, object]) -> dict[str, object]:
        """Merge `changes` into the sensor's faults; ConfigError names a bad key or value."""
        faults = self.sensors[sensor]
        table = dataclasses.asdict(faults.settings) | dict(changes)
        settings = from_table(MockFaults, table, "")
        self._check(faults, settings)
        self._apply(faults, settings)
        return self._describe(faults)

    def clear(self, sensor: str) -> dict[str, object]:
        faults = self.sensors[sensor]
        self._apply(faults, NO_FAULTS)
        return self._describe(faults)

    @staticmethod
    def _describe(faults: SensorFaults) -> dict[str, object]:
        return {
            "id": faults.id,
            "type": faults.type,
            "supported": sorted(faults.supported),
            "faults": dataclasses.asdict(faults.settings),
            "unplugged_now": faults.unplugged_now(),
        }
