"""Every `web.AppKey` in one place: state lives on the Application, never in module globals."""

from __future__ import annotations

from pathlib import Path

import socketio
from aiohttp import web

from pi_dashboard.config import Config
from pi_dashboard.history.service import History
from pi_dashboard.state import State

CONFIG = web.AppKey("config", Config)
STATE = web.AppKey("state", State)
SIO = web.AppKey("sio", socketio.AsyncServer)
STATIC_DIR = web.AppKey("static_dir", Path)
CLIENTS = web.AppKey("clients", set)
MOCK = web.AppKey("mock", bool)
HISTORY = web.AppKey("history", History)
"""Absent when history is off (no data directory, or `[history] enabled = false`)."""
