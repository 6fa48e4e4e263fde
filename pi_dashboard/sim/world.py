"""The simulated room: drifting physical quantities, the buses and pins that see them, faults.

Chips read the environment when they convert, so a driver sees plausible, changing values through
the same registers a real chip has. Each sensor type names its simulated counterpart
(`SensorType.simulated`, "module:function"); `populate` resolves that name and calls the function,
which puts the device where the configured sensor will look for it (a chip on a bus, a probe in
sysfs, a pin wired to something). A chip may add the quantity it measures to the room
(`Environment.quantities`).
"""

from __future__ import annotations

import logging
import math
import pkgutil
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pi_dashboard.config import Config, SensorConfig
from pi_dashboard.hw import Hardware
from pi_dashboard.sim.bus import SimI2CBus
from pi_dashboard.sim.faults import FaultEngine
from pi_dashboard.sim.fs import MemoryTree, SimFS

if TYPE_CHECKING:
    from gpiozero import Factory

log = logging.getLogger(__name__)


class Simulated(Protocol):
    """What the world needs of a sensor type (`sensors.base.SensorType` satisfies it)."""

    @property
    def simulated(self) -> str | None:
        """ "module:function" that places the type's simulated device, or None (no hardware)."""


Placer = Callable[["SimWorld", SensorConfig[Any]], None]
"""Puts the simulated device of one configured sensor in the world. `Any`: each placer reads the
options of its own type, which it alone knows (typed in its signature)."""


def placer(path: str) -> Placer:
    """Resolve "module:function" (imported on first use: gpiozero only for GPIO types)."""
    found: Placer = pkgutil.resolve_name(path)
    return found


@dataclass(slots=True)
class Quantity:
    """A random walk around a set point with a slow swing; `value` is what chips measure."""

    value: float
    center: float
    spread: float
    lo: float
    hi: float
    noise: float

    def step(self, rng: random.Random, t: float, dt: float) -> None:
        target = self.center + self.spread * math.sin(t / 300.0 + self.center)
        self.value += (target - self.value) * min(dt / 60.0, 1.0) + rng.gauss(
            0, self.noise
        ) * math.sqrt(dt)
        self.value = min(max(self.value, self.lo), self.hi)


class Environment:
    """Physical quantities in base units: °C, %RH, hPa, lux, m, V."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.t = 0.0
        self.quantities: dict[str, Quantity] = {
            "temperature": Quantity(21.5, 21.5, 1.5, -40, 85, 0.05),
            "humidity": Quantity(45.0, 45.0, 5.0, 0, 100, 0.2),
            "pressure": Quantity(1013.25, 1013.25, 3.0, 300, 1100, 0.05),
            "illuminance": Quantity(320.0, 320.0, 150.0, 0, 65000, 5.0),
            "distance": Quantity(1.2, 1.2, 0.5, 0.05, 3.9, 0.02),
            "soil_voltage": Quantity(1.65, 1.65, 0.3, 0.0, 3.3, 0.01),
            "water_temperature": Quantity(18.0, 18.0, 1.0, -10, 100, 0.03),
            "cpu_temperature": Quantity(48.0, 48.0, 4.0, 20, 90, 0.3),
        }

    def __getattr__(self, name: str) -> float:
        try:
            value: float = self.__dict__["quantities"][name].value
            return value
        except KeyError:
            raise AttributeError(name) from None

    def set(self, name: str, value: float) -> None:
        """Tests pin a quantity to an exact value (a drift step moves it again)."""
        self.quantities[name].value = value

    def step(self, dt: float) -> None:
        self.t += dt
        for q in self.quantities.values():
            q.step(self.rng, self.t, dt)


class SimWorld:
    def __init__(
        self, root: Path | None = None, *, seed: int | None = None, frozen: bool = False
    ) -> None:
        self.rng = random.Random(seed)
        self.env = Environment(self.rng)
        self.frozen = frozen
        """Frozen: tick() leaves the environment alone, so tests see exact values."""
        self._tmp: MemoryTree | None = None
        if root is None:  # in RAM: the tree is rewritten every tick
            self._tmp = MemoryTree()
            root = self._tmp.path
        self.root = root
        self.fs = SimFS(root, self.env)
        self.buses: dict[int, SimI2CBus] = {}
        self._factory: Factory | None = None
        self.tickers: list[Callable[[float], None]] = []
        """Extra per-tick behaviour added by placers (a button pressed now and then)."""
        self._lock = threading.Lock()
        self.in_use = False
        """True once a configured sensor needs simulated hardware; until then nothing ticks,
        so a `demo`-only daemon (benchmarks) pays nothing for the simulation."""
        self.faults = FaultEngine(self)
        """`[sensors.mock]` and the fault panel: what each simulated device does wrong."""
        self._ticking = threading.Lock()
        self._closed = False
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    @property
    def factory(self) -> Factory:
        """gpiozero's MockFactory, made on first use: tests and tickers drive its pins."""
        if self._factory is None:
            from gpiozero.pins.mock import MockFactory

            self._factory = MockFactory()
        return self._factory

    def bus(self, number: int) -> SimI2CBus:
        with self._lock:
            if number not in self.buses:
                self.buses[number] = SimI2CBus(number)
            return self.buses[number]

    def hardware(self) -> Hardware:
        return Hardware(i2c=self.bus, pin_factory=lambda: self.factory, root=self.root)

    def populate(self, config: Config, types: Mapping[str, Simulated]) -> None:
        """Put a simulated device behind every configured sensor that needs one, with the faults
        its `[sensors.mock]` asks for (ConfigError naming the field if it cannot show them)."""
        for i, s in enumerate(config.sensors):
            where = types[s.type].simulated
            if where is not None and s.enabled:
                placer(where)(self, s)
                self.in_use = True
                self.faults.add(s, f"sensors[{i}]")

    def tick(self, dt: float) -> None:
        with self._ticking:
            if self._closed:
                return
            if not self.frozen:
                self.env.step(dt)
            self.fs.update(dt)
            for fn in self.tickers:
                fn(dt)

    def run(self, every: float) -> None:
        """Tick every `every` s on a daemon thread of its own until close(). The event loop,
        which a tick never needs, is not woken for it: a tick sent to its executor cost the
        loop a timer, a thread-pool job and a wakeup from it, with a task step each side."""

        def ticking() -> None:
            while not self._stop.wait(every):
                try:
                    self.tick(every)
                except Exception:
                    log.exception("simulated world tick failed")

        self._stop.clear()
        self._ticker = threading.Thread(target=ticking, name="sim-world", daemon=True)
        self._ticker.start()

    def stop(self, within_s: float = 2.0) -> None:
        """No more ticks; one in progress gets `within_s` to end (it takes milliseconds)."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(within_s)
            self._ticker = None

    def close(self) -> None:
        """Also waits for a tick still writing files in another thread: removing the tree under
        it fails ("Directory not empty"), and a tick after close writes nothing."""
        self.stop()
        self.faults.close()
        with self._ticking:
            self._closed = True
        if self._factory is not None:
            self._factory.close()
        if self._tmp is not None:
            self._tmp.cleanup()  # logs, never raises: a clean stop stays clean
            self._tmp = None
