"""Composition root: the one module that knows whether the hardware is real or simulated."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from pi_dashboard.config import Config
from pi_dashboard.demo import demo_config, load  # noqa: F401 - also imported from here
from pi_dashboard.hw import Hardware
from pi_dashboard.hw.gpio import default_factory
from pi_dashboard.hw.i2c import I2CBusOpener
from pi_dashboard.polling import Poller
from pi_dashboard.sensors.base import SensorType
from pi_dashboard.sensors.registry import TYPES
from pi_dashboard.state import State
from pi_dashboard.web import keys
from pi_dashboard.web.admission import middlewares
from pi_dashboard.web.live import LiveNamespace, broadcaster, create_sio, shutdown
from pi_dashboard.web.mockfaults import setup_mock_routes
from pi_dashboard.web.routes import setup_routes, static_dir

if TYPE_CHECKING:  # imported at run time only in mock mode, or by `scan`
    from pi_dashboard.scan import ScanResult
    from pi_dashboard.sim.world import SimWorld

log = logging.getLogger(__name__)

SIM_TICK_S = 0.5


def real_hardware() -> tuple[Hardware, I2CBusOpener]:
    opener = I2CBusOpener()
    factory_cache: list[object] = []

    def pin_factory():  # created on first use: a Pi without GPIO sensors never opens gpiochip
        if not factory_cache:
            factory_cache.append(default_factory())
        return factory_cache[0]

    return Hardware(i2c=opener, pin_factory=pin_factory, root=Path("/"), mock=False), opener


def create_app(
    config: Config,
    *,
    mock: bool = False,
    world: SimWorld | None = None,
    types: Mapping[str, SensorType] = TYPES,
    max_backoff: float = 30.0,
) -> web.Application:
    """Build the whole daemon as an aiohttp Application; the CLI and the tests both start here.

    Raises ConfigError for anything the config gets wrong, before a port is bound.
    """
    closers: list[object] = []
    if mock or world is not None:
        mock = True
        if world is None:
            from pi_dashboard.sim.world import SimWorld

            world = SimWorld()
            world.populate(config)
            closers.append(world)
        hardware = world.hardware()
    else:
        hardware, opener = real_hardware()
        closers.append(opener)
        ignored = [s.id for s in config.sensors if s.mock is not None]
        if ignored:
            log.warning(
                "[sensors.mock] of %s ignored: faults exist in mock mode only", ", ".join(ignored)
            )

    state = State()
    poller = Poller(config, types, hardware, state, max_backoff=max_backoff)

    app = web.Application(middlewares=middlewares(config.server))
    app[keys.CONFIG] = config
    app[keys.STATE] = state
    app[keys.STATIC_DIR] = static_dir()
    app[keys.CLIENTS] = set()
    app[keys.MOCK] = mock
    sio = create_sio(config.server)
    app[keys.SIO] = sio
    sio.register_namespace(LiveNamespace(state, app[keys.CLIENTS]))
    sio.attach(app)
    setup_routes(app)
    if world is not None:
        app[keys.MOCK_FAULTS] = world.faults
        setup_mock_routes(app)

    async def hardware_ctx(_app: web.Application) -> AsyncIterator[None]:
        ticker = None
        if world is not None and world.in_use:
            ticker = asyncio.create_task(_tick(world), name="sim-world")
        yield
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        for c in closers:
            c.close()  # type: ignore[attr-defined]

    async def poller_ctx(_app: web.Application) -> AsyncIterator[None]:
        poller.start()
        yield
        await poller.stop()

    app.cleanup_ctx.extend([hardware_ctx, poller_ctx, broadcaster])
    app.on_shutdown.append(shutdown)
    return app


async def _tick(world: SimWorld) -> None:
    """Advance the simulated room off the event loop: it writes files, as the kernel would.

    Cancelled, it lets a tick in progress finish (briefly) so the tree is not removed under it."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(SIM_TICK_S)
        tick = loop.run_in_executor(None, world.tick, SIM_TICK_S)
        try:
            await asyncio.shield(tick)
        except asyncio.CancelledError:
            await asyncio.wait((tick,), timeout=SIM_TICK_S)
            raise
        except Exception:
            log.exception("simulated world tick failed")


def scan(*, mock: bool, config: Config | None = None) -> ScanResult:
    """What answers on this machine's buses; in mock mode, on the simulated ones of `config`."""
    from smbus2 import SMBus

    from pi_dashboard.scan import ScanResult, scan_i2c

    result = ScanResult()
    world: SimWorld | None = None
    if mock:
        from pi_dashboard.sim.world import SimWorld

        world = SimWorld()
        world.populate(config or demo_config())
        openers = {n: (lambda b=b: b) for n, b in world.buses.items()}
        root = world.root
    else:
        root = Path("/")
        openers = {}
        for dev in sorted(Path("/dev").glob("i2c-*")):
            suffix = dev.name.removeprefix("i2c-")
            if suffix.isdigit():
                openers[int(suffix)] = lambda n=int(suffix): SMBus(n)
    try:
        result.buses = sorted(openers)
        result.i2c, result.bus_errors = scan_i2c(openers, TYPES)
        result.buses = [b for b in result.buses if b not in result.bus_errors]
        result.onewire, result.iio = _scan_sysfs(root)
    finally:
        if world is not None:
            world.close()
    return result


def _scan_sysfs(root: Path) -> tuple[list[str], list[tuple[str, str]]]:
    w1 = root / "sys/bus/w1/devices"
    onewire = sorted(p.name for p in w1.glob("*-*") if not p.name.startswith("w1_bus_master"))
    iio = []
    for dev in sorted((root / "sys/bus/iio/devices").glob("iio:device*")):
        try:
            iio.append((dev.name, (dev / "name").read_text().strip()))
        except OSError:
            iio.append((dev.name, "?"))
    return onewire, iio
