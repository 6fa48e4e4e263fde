"""On a real Pi with chips wired: every sensor in $PI_DASHBOARD_HW_CONFIG reads `ok` through the
real buses. Deselected by default (`-m "not hardware"`); run on the Pi with

    PI_DASHBOARD_HW_CONFIG=/etc/pi-dashboard/config.toml .venv/bin/python -m pytest -m hardware
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest

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
        deadline = time.monotonic() + max(s.interval for s in config.sensors) * 3 + 5
        while any(s.status is not Status.OK for s in state.sensors.values()):
            if time.monotonic() > deadline:
                failing = {s.id: s.error for s in state.sensors.values() if s.error}
                pytest.fail(f"not ok: {failing}")
            await asyncio.sleep(0.2)
    finally:
        await poller.stop()
        opener.close()
