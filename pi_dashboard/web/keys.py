"""Every `web.AppKey` in one place: state lives on the Application, never in module globals."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import socketio
from aiohttp import web

from pi_dashboard.config import Config
from pi_dashboard.history.service import History
from pi_dashboard.state import State
from pi_dashboard.web.assets import Assets


class FaultController(Protocol):
    """Mock mode's fault injection as the web layer sees it; app.py passes sim's FaultEngine, so
    web never imports sim. Entries are JSON-ready dicts (docs/protocol.md, /api/mock/faults)."""

    def describe(self) -> list[dict[str, object]]: ...

    def get(self, sensor: str) -> dict[str, object] | None: ...

    def update(self, sensor: str, changes: Mapping[str, object]) -> dict[str, object]:
        """Raises ConfigError naming the key for a bad or unsupported fault."""
        ...

    def clear(self, sensor: str) -> dict[str, object]: ...


CONFIG = web.AppKey("config", Config)
STATE = web.AppKey("state", State)
SIO = web.AppKey("sio", socketio.AsyncServer)
STATIC_DIR = web.AppKey("static_dir", Path)
ASSETS = web.AppKey("assets", Assets)
"""static/, compressed in memory and named by release (web/assets.py)."""
CLIENTS = web.AppKey("clients", set)
MOCK = web.AppKey("mock", bool)
STARTED = web.AppKey("started", float)
"""time.monotonic() when the app was built: uptime must not jump with the wall clock."""
MOCK_FAULTS = web.AppKey("mock_faults", FaultController)
"""Only in mock mode."""
HISTORY = web.AppKey("history", History)
"""Absent when history is off (no data directory, or `[history] enabled = false`)."""
