"""Real servers on loopback ports: the same `create_app` the daemon uses, on a simulated world."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from live_daemon import start_daemon  # noqa: F401 (a fixture: the daemon as a subprocess)

from pi_dashboard.app import create_app
from pi_dashboard.config import Config
from pi_dashboard.sensors.registry import TYPES
from pi_dashboard.sim.world import SimWorld
from pi_dashboard.web.keys import CONFIG
from pi_dashboard.web.server import GuardedSite, start_site

StartServer = Callable[[str], Awaitable[TestServer]]


@pytest.fixture
def start_server(aiohttp_server, world: SimWorld, make_config) -> StartServer:
    """TOML text -> a running server (its URL is `str(server.make_url("/"))`)."""

    async def start(text: str) -> TestServer:
        config: Config = make_config(text)
        world.populate(config, TYPES)
        app = create_app(config, world=world, max_backoff=0.5)
        return await aiohttp_server(app)

    return start


SENSOR = '[[sensors]]\nid = "d"\ntype = "demo"\ninterval = 0.2\n'


@pytest.fixture
async def listen(
    world: SimWorld, make_config
) -> AsyncIterator[Callable[..., Awaitable[GuardedSite]]]:
    """`[server]` TOML lines (and sensors) -> a GuardedSite on 127.0.0.1, the daemon's own
    listener with every limit (its port in `site.port`)."""
    runners: list[web.AppRunner] = []

    async def start(server_toml: str, sensors: str = SENSOR) -> GuardedSite:
        config = make_config(f'[server]\nhost = "127.0.0.1"\nport = 0\n{server_toml}\n{sensors}')
        world.populate(config, TYPES)
        app = create_app(config, world=world)
        runner = web.AppRunner(app, shutdown_timeout=0.5)
        await runner.setup()
        runners.append(runner)
        site = await start_site(runner, app[CONFIG].server)
        site.port = runner.addresses[0][1]  # type: ignore[attr-defined]
        return site

    yield start
    for r in runners:
        await r.cleanup()


Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli() -> Cli:
    """`pi-dashboard ARGS...` as a user runs it: a subprocess, its exit code and output."""

    def run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # type: ignore[call-overload]
            [sys.executable, "-m", "pi_dashboard", *args],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            check=False,
            **kwargs,
        )

    return run
