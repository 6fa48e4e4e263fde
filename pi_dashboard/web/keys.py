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


class Integration(Protocol):
    """An integration as the web layer sees it (integrations/*.py): counters for /api/health."""

    def stats(self) -> dict[str, object]: ...


class Exporter(Protocol):
    """/metrics as the web layer sees it (integrations/metrics.py)."""

    def render(self, accept: str) -> tuple[bytes, str]:
        """(body, content type) for the scraper's Accept header."""
        ...


class AlertsView(Protocol):
    """/api/alerts as the web layer sees it (alerts.py)."""

    def to_json(self) -> dict[str, object]: ...

    def counts(self) -> dict[str, int]:
        """{"active", "warn", "alarm"}: for /api/health and the page's header."""
        ...


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
MQTT = web.AppKey("mqtt", Integration)
"""Only with `[mqtt]`: the broker link (integrations/mqtt.py)."""
METRICS = web.AppKey("metrics", Exporter)
"""Only with `[metrics] enabled = true`."""
ALERTS = web.AppKey("alerts", AlertsView)
"""Only with `[alerts] enabled` (the default)."""
