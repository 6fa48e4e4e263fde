"""Composition root: the one module that knows whether the hardware is real or simulated."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from pi_dashboard.config import Config
from pi_dashboard.demo import demo_config, load  # noqa: F401 - also imported from here
from pi_dashboard.history.service import History
from pi_dashboard.history.store import SeriesInfo
from pi_dashboard.hw import Hardware
from pi_dashboard.hw.gpio import default_factory
from pi_dashboard.hw.i2c import I2CBusOpener
from pi_dashboard.model import ChannelMeta, DeviceClass
from pi_dashboard.polling import Poller
from pi_dashboard.sensors.base import SensorType
from pi_dashboard.sensors.registry import TYPES
from pi_dashboard.state import State
from pi_dashboard.web import keys
from pi_dashboard.web.admission import middlewares
from pi_dashboard.web.live import LiveNamespace, broadcaster, create_sio, shutdown
from pi_dashboard.web.mockfaults import setup_mock_routes
from pi_dashboard.web.routes import setup_routes, static_dir

if TYPE_CHECKING:  # imported at run time only in mock mode, by `scan`, or to replay
    from pi_dashboard.history.replay import Recording
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
    history: History | None = None,
    replay: Recording | None = None,
    speed: float = 1.0,
) -> web.Application:
    """Build the whole daemon as an aiohttp Application; the CLI and the tests both start here.

    Raises ConfigError for anything the config gets wrong, before a port is bound.
    """
    closers: list[object] = []
    if replay is not None:  # the recording's sensors instead of the config's
        config = replace(config, sensors=())
        mock = True
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

    state = State(config)
    if replay is not None:
        _add_replayed(state, replay)
    sink = history.record if history is not None else None
    poller = Poller(config, types, hardware, state, max_backoff=max_backoff, sink=sink)

    app = web.Application(middlewares=middlewares(config.server))
    app[keys.CONFIG] = config
    app[keys.STATE] = state
    app[keys.STATIC_DIR] = static_dir()
    app[keys.CLIENTS] = set()
    app[keys.MOCK] = mock
    sio = create_sio(config.server)
    app[keys.SIO] = sio
    recent = history.recent if history is not None else None
    sio.register_namespace(LiveNamespace(state, app[keys.CLIENTS], recent=recent))
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

    if history is not None:
        app[keys.HISTORY] = history
        app.cleanup_ctx.append(_history_ctx(history, state))
    app.cleanup_ctx.extend([hardware_ctx, poller_ctx, broadcaster])
    if replay is not None:
        app.cleanup_ctx.append(_replay_ctx(replay, speed, state, history))
    app.on_shutdown.append(shutdown)
    return app


def series_of(state: State) -> list[SeriesInfo]:
    """Every channel State knows, as history registers it."""
    return [
        info
        for sid in state.sensors
        for cid in state.sensors[sid].channels
        if (info := describe_channel(state, sid, cid)) is not None
    ]


def describe_channel(state: State, sensor: str, channel: str) -> SeriesInfo | None:
    s = state.sensors.get(sensor)
    ch = s.channels.get(channel) if s is not None else None
    if s is None or ch is None:
        return None
    m = ch.meta
    return SeriesInfo(
        sensor=sensor, channel=channel, unit=m.unit, name=m.name, kind=m.device_class.value,
        precision=m.precision, binary=m.binary, interval_s=s.interval,
    )  # fmt: skip


def _history_ctx(
    history: History, state: State
) -> Callable[[web.Application], AsyncIterator[None]]:
    """First in, last out: open before polling starts (the latest values come from the database,
    so a restarted Pi shows its last readings at once), flush after polling stopped."""

    async def ctx(_app: web.Application) -> AsyncIterator[None]:
        history.set_describe(lambda s, c: describe_channel(state, s, c))
        latest = await history.start(series_of(state))
        for (sid, cid), (ts, value) in latest.items():
            ch = state.sensors[sid].channels.get(cid) if sid in state.sensors else None
            if ch is not None and ch.value is None:
                ch.value = bool(value) if ch.meta.binary else value
                ch.ts = ts
        yield
        await history.stop()

    return ctx


def _add_replayed(state: State, recording: Recording) -> None:
    kinds = {k.value for k in DeviceClass}
    for sensor, infos in recording.sensors().items():
        channels = [
            ChannelMeta(
                id=i.channel,
                name=i.name or i.channel,
                unit=i.unit,
                precision=i.precision,
                binary=i.binary,
                device_class=DeviceClass(i.kind) if i.kind in kinds else DeviceClass.NONE,
            )
            for i in infos
        ]
        every = min(i.interval_s for i in infos)
        state.add_sensor(id=sensor, type="replay", name=sensor, interval=every, channels=channels)


def _replay_ctx(
    recording: Recording, speed: float, state: State, history: History | None
) -> Callable[[web.Application], AsyncIterator[None]]:
    from pi_dashboard.history.replay import play

    def publish(sensor: str, ts: float, values: dict[str, float]) -> None:
        s = state.sensors[sensor]
        out = {c: bool(v) if s.channels[c].meta.binary else v for c, v in values.items()}
        if history is not None:
            history.record(sensor, ts, out)  # type: ignore[arg-type]
        state.publish_values(sensor, ts, out)  # type: ignore[arg-type]

    async def ctx(_app: web.Application) -> AsyncIterator[None]:
        log.info("replaying %s at %gx", recording.source, speed)
        task = asyncio.create_task(play(recording, publish, speed=speed), name="replay")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx


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
