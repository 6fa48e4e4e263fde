"""Shared fixtures: a simulated world (buses, pins, sysfs), configs from TOML text, sensors built
exactly as the daemon builds them. Only hardware is simulated; everything else is the real thing."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mqtt_broker import broker  # noqa: F401 (a fixture: a real Mosquitto for MQTT tests)

from pi_dashboard.config import Config, parse_config
from pi_dashboard.sensors.base import Sensor
from pi_dashboard.sensors.registry import TYPES
from pi_dashboard.sim.world import SimWorld


@pytest.fixture(autouse=True, scope="session")
def _history_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test ever writes history to ~: a daemon started without --data-dir (and every
    subprocess, which inherits the environment) keeps it in pytest's tmp."""
    old = os.environ.get("PI_DASHBOARD_DATA_DIR")
    os.environ["PI_DASHBOARD_DATA_DIR"] = str(tmp_path_factory.mktemp("history"))
    yield
    if old is None:
        del os.environ["PI_DASHBOARD_DATA_DIR"]
    else:
        os.environ["PI_DASHBOARD_DATA_DIR"] = old


@pytest.fixture
def world(tmp_path: Path) -> Iterator[SimWorld]:
    """A frozen simulated room: quantities stay where a test puts them (`world.env.set(...)`)."""
    w = SimWorld(tmp_path / "root", seed=1234, frozen=True)
    yield w
    w.close()


@pytest.fixture
def make_config() -> Callable[[str], Config]:
    """TOML text -> validated Config, through the same loader the daemon uses."""

    def make(text: str) -> Config:
        return parse_config(tomllib.loads(text), TYPES, source="<test>")

    return make


@pytest.fixture
def make_sensor(world: SimWorld, make_config: Callable[[str], Config]) -> Callable[[str], Sensor]:
    """One `[[sensors]]` table as TOML -> the sensor, its simulated device placed in `world`."""

    def make(text: str) -> Sensor:
        config = make_config(text)
        (cfg,) = config.sensors
        world.populate(config, TYPES)
        return TYPES[cfg.type].create(cfg, world.hardware())

    return make
