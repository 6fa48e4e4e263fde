"""On a real Pi with chips wired: every sensor in $PI_DASHBOARD_HW_CONFIG reads `ok` through the
real buses. Deselected by default (`-m "not hardware"`); run on the Pi with

    PI_DASHBOARD_HW_CONFIG=/etc/pi-dashboard/config.toml .venv/bin/python -m pytest -m hardware
"""

from __future__ import annotations

import os

import pytest
from waiting import until

from pi_dashboard.app import real_hardware
from pi_dashboard.demo import load
from pi_dashboard.model import Status
from pi_dashboard.polling import Poller
from pi_dashboard.sensors.registry import TYPES
from pi_dashboard.state import State

pytestmark = pytest.mark.hardware


async def test_every_configured_sensor_reads_ok():
    path = os.environ.get("PI_DASHBOARD_HW_CONFIG")
    if not path:
        pytest.fail("set PI_DASHBOARD_HW_CONFIG to the config of what is wired to this Pi")
    config = load(path)
    hardware, opener = real_hardware()
    state = State()
    poller = Poller(config, TYPES, hardware, state)
    poller.start()
    try:
        await until(
            lambda: all(s.status is Status.OK for s in state.sensors.values()),
            limit=max(s.interval for s in config.sensors) * 3 + 5,
            what=lambda: f"not ok: { {s.id: s.error for s in state.sensors.values()} }",
        )
    finally:
        await poller.stop()
        opener.close()
