"""Composition root: the one module that knows whether the hardware is real or simulated."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from pi_dashboard import __version__
from pi_dashboard.config import Config, default_node
from pi_dashboard.demo import demo_config
from pi_dashboard.history.service import History
from pi_dashboard.history.store import SeriesInfo
from pi_dashboard.hw import Hardware
from pi_dashboard.hw.gpio import default_factory
from pi_dashboard.hw.i2c import I2CBusOpener
from pi_dashboard.model import ChannelMeta, DeviceClass
from pi_dashboard.polling import Poller
from pi_dashboard.sensors.base import Types
from pi_dashboard.sensors.registry import TYPES
from pi_dashboard.state import State
from pi_dashboard.web import keys
from pi_dashboard.web.admission import middlewares
from pi_dashboard.web.auth import Auth, auth_middleware, setup_auth
from pi_dashboard.web.integrations import setup_integration_routes
from pi_dashboard.web.live import LiveNamespace, broadcaster, create_sio, shutdown
from pi_dashboard.web.mockfaults import setup_mock_routes
from pi_dashboard.web.policy import cors_preflight, setup_policy
from pi_dashboard.web.routes import setup_routes, static_dir

if TYPE_CHECKING:  # imported at run time only in mock mode, by `scan`, or to replay
    from gpiozero import Factory

    from pi_dashboard.history.replay import Recording
    from pi_dashboard.scan import ScanResult
    from pi_dashboard.sim.world import SimWorld
    from pi_dashboard.web.credentials import CredentialFile

log = logging.getLogger(__name__)

SIM_TICK_S = (0.5, 2.0)
"""The simulated world's tick, shortest and longest: see `sim_tick`."""


def sim_tick(config: Config, types: Types) -> float:
    """Half the shortest interval of a sensor on simulated hardware, within SIM_TICK_S.

    Each tick rewrites the simulated /sys and /proc files that changed, which is most of what
    mock mode costs at idle; the world need not change faster than anything reads it."""
    intervals = [s.interval for s in config.sensors if s.enabled and types[s.type].simulated]
    shortest = min(intervals, default=2 * SIM_TICK_S[1])
    return min(max(shortest / 2, SIM_TICK_S[0]), SIM_TICK_S[1])


def real_hardware() -> tuple[Hardware, I2CBusOpener]:
    opener = I2CBusOpener()
    factory_cache: list[Factory] = []

    def pin_factory() -> Factory:  # on first use: a Pi without GPIO sensors never opens gpiochip
        if not factory_cache:
            factory_cache.append(default_factory())
        return factory_cache[0]

    return Hardware(i2c=opener, pin_factory=pin_factory, root=Path("/")), opener


def create_app(
    config: Config,
    *,
    mock: bool = False,
    world: SimWorld | None = None,
    types: Types = TYPES,
    max_backoff: float = 30.0,
    history: History | None = None,
    replay: Recording | None = None,
    speed: float = 1.0,
    credentials: CredentialFile | None = None,
) -> web.Application:
    """Build the whole daemon as an aiohttp Application; the CLI and the tests both start here.

    Raises ConfigError for anything the config gets wrong, before a port is bound.
    `credentials`: where `[server.auth]` finds the password and tokens (the data directory).
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
            world.populate(config, types)
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
    clients: set[str] = set()
    links: dict[str, Callable[[], Mapping[str, object]]] = {}
    metrics = None
    if config.metrics.enabled:  # prometheus_client only then; the poller feeds its histograms
        from pi_dashboard.integrations.metrics import Metrics

        metrics = Metrics(state, node=_node_id(config), clients=lambda: len(clients), links=links)
    poller = Poller(
        config, types, hardware, state, max_backoff=max_backoff, sink=sink,
        observe=metrics.observe_poll if metrics is not None else None,
    )  # fmt: skip

    auth = Auth(config.server.auth, credentials) if config.server.auth.enabled else None
    guards = [cors_preflight(config.server)] if config.server.cors_origins else []
    if auth is not None:
        guards.append(auth_middleware(auth))
    app = web.Application(middlewares=middlewares(config.server, guards))
    setup_policy(app, config.server)
    app[keys.CONFIG] = config
    app[keys.STATE] = state
    app[keys.STATIC_DIR] = static_dir()
    app[keys.CLIENTS] = clients
    app[keys.MOCK] = mock
    sio = create_sio(config.server)
    app[keys.SIO] = sio
    recent = history.recent if history is not None else None
    sio.register_namespace(LiveNamespace(state, app[keys.CLIENTS], recent=recent, gate=auth))
    sio.attach(app)
    setup_routes(app)
    setup_auth(app, auth)
    setup_integration_routes(app)
    if metrics is not None:
        app[keys.METRICS] = metrics
    if world is not None:
        app[keys.MOCK_FAULTS] = world.faults
        setup_mock_routes(app)

    async def hardware_ctx(_app: web.Application) -> AsyncIterator[None]:
        ticking = world if world is not None and world.in_use else None
        if ticking is not None:
            ticking.run(sim_tick(config, types))  # on a thread of its own: the loop is not woken
        yield
        if ticking is not None:
            ticking.stop()
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
    _add_integrations(app, config, state, history, mock, links)
    app.on_shutdown.append(shutdown)
    return app


def _node_id(config: Config) -> str:
    """This daemon's node id: `[mqtt] node`, else the host name."""
    return config.mqtt.node_id if config.mqtt is not None else default_node()


def _add_integrations(
    app: web.Application,
    config: Config,
    state: State,
    history: History | None,
    mock: bool,
    links: dict[str, Callable[[], Mapping[str, object]]],
) -> None:
    """Each integration only when configured; each loads its library (aiomqtt,
    prometheus_client, zeroconf) only then. Started after the poller, so stopped before it."""
    mqtt = config.mqtt
    mqtt_link = None
    if mqtt is not None and mqtt.enabled:
        from pi_dashboard.integrations.mqtt import MqttLink, NodeInfo, run_link
        from pi_dashboard.integrations.remote import RemoteNodes
        from pi_dashboard.integrations.topics import Topics

        node = mqtt.node_id
        info = NodeInfo(
            node=node,
            name=config.server.title if config.server.title != "pi-dashboard" else node,
            model=_board_model(mock),
            version=__version__,
            url=mqtt.url or f"http://{socket.gethostname()}.local:{config.server.port}/",
        )
        remote = None
        if mqtt.follow:
            remote = RemoteNodes(
                state,
                Topics(mqtt.prefix, node),
                max_nodes=mqtt.max_nodes,
                max_sensors=mqtt.max_sensors_per_node,
                record=history.record if history is not None else None,
            )
        link = mqtt_link = MqttLink(mqtt, state, info, incoming=remote.handle if remote else None)
        app[keys.MQTT] = link
        links["mqtt"] = link.stats

        async def mqtt_ctx(_app: web.Application) -> AsyncIterator[None]:
            async for _ in run_link(link, state):
                yield

        app.cleanup_ctx.append(mqtt_ctx)

    if config.alerts.enabled:
        from pi_dashboard.alerts import Alerts, run_alerts

        alerts = Alerts(config.alerts, state)
        app[keys.ALERTS] = alerts
        # Levels: run_alerts subscribes alerts.on_transition to State's thresholds, which feeds
        # alerts.on_level(LevelChange(...)) (docs/integrations.md, "Thresholds and alerts").

        async def alerts_ctx(_app: web.Application) -> AsyncIterator[None]:
            async for _ in run_alerts(alerts):
                yield

        app.cleanup_ctx.append(alerts_ctx)
        if config.alerts.notify:  # aiohttp's client and the notifiers only then
            from pi_dashboard.integrations.notify import run_notifiers
            from pi_dashboard.integrations.topics import Topics

            publish = mqtt_link.publish if mqtt_link is not None else None
            topic = Topics(mqtt.prefix, mqtt.node_id).alerts() if mqtt is not None else ""
            dashboard = mqtt_link.info.url if mqtt_link is not None else None

            async def notify_ctx(_app: web.Application) -> AsyncIterator[None]:
                async for _ in run_notifiers(
                    alerts, config.alerts.notify, node=_node_id(config), url=dashboard,
                    mqtt_publish=publish, mqtt_topic=topic,
                ):  # fmt: skip
                    yield

            app.cleanup_ctx.append(notify_ctx)
    mdns = config.mdns
    host = config.server.host
    local_only = host.startswith("127.") or host in ("::1", "localhost")
    if mdns.enabled or (mdns.enabled is None and not mock and not local_only):
        from pi_dashboard.integrations.mdns import Announcement, announce, lan_addresses

        interfaces = list(mdns.interfaces) or None
        addresses = interfaces or ([host] if host not in ("0.0.0.0", "::", "") else lan_addresses())
        who = config.server.title if config.server.title != "pi-dashboard" else "pi-dashboard"
        announcement = Announcement(
            name=mdns.name or f"{who} on {socket.gethostname().split('.')[0]}",
            port=config.server.port,
            addresses=tuple(addresses),
            node=_node_id(config),
            version=__version__,
        )

        async def mdns_ctx(_app: web.Application) -> AsyncIterator[None]:
            async for _ in announce(announcement, interfaces):
                yield

        app.cleanup_ctx.append(mdns_ctx)


def _board_model(mock: bool) -> str:
    """What Home Assistant shows as the device's model."""
    if mock:
        return "Raspberry Pi (simulated)"
    try:
        return Path("/proc/device-tree/model").read_text(errors="replace").strip("\0\n ") or "?"
    except OSError:
        return "Linux computer"


def series_of(state: State) -> list[SeriesInfo]:
    """Every channel State knows, as history registers it."""
    return [
        info
        for sid, s in state.sensors.items()
        if not s.node
        for cid in s.channels
        if (info := describe_channel(state, sid, cid)) is not None
    ]


def describe_channel(state: State, sensor: str, channel: str) -> SeriesInfo | None:
    s = state.sensors.get(sensor)
    ch = s.channels.get(channel) if s is not None else None
    if s is None or ch is None:
        return None
    m = ch.meta
    return SeriesInfo(
        sensor=s.id, channel=channel, node=s.node, unit=m.unit, name=m.name,
        kind=m.device_class.value, precision=m.precision, binary=m.binary, interval_s=s.interval,
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
            history.record(sensor, ts, out)
        state.publish_values(sensor, ts, out)

    async def ctx(_app: web.Application) -> AsyncIterator[None]:
        log.info("replaying %s at %gx", recording.source, speed)
        task = asyncio.create_task(play(recording, publish, speed=speed), name="replay")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx


def scan(*, mock: bool, config: Config | None = None) -> ScanResult:
    """What answers on this machine's buses; in mock mode, on the simulated ones of `config`."""
    from smbus2 import SMBus

    from pi_dashboard.scan import ScanResult, scan_i2c

    result = ScanResult()
    world: SimWorld | None = None
    if mock:
        from pi_dashboard.sim.world import SimWorld

        world = SimWorld()
        world.populate(config or demo_config(), TYPES)
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
