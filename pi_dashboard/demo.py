"""The built-in demo config (`make run` without a config file); `load()` falls back to it.

Apart from app.py so that `run` can read its config and bind the port before it imports the web
stack: a busy port then fails in a fraction of a second.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pi_dashboard.config import Config, load_config, parse_config
from pi_dashboard.sensors.base import Types
from pi_dashboard.sensors.registry import TYPES


def demo_config(types: Types = TYPES) -> Config:
    """The built-in configuration `make run` uses when no config file is given."""
    from importlib.resources import files  # ~1 ms: only the built-in config needs it

    text = files("pi_dashboard").joinpath("demo.toml").read_text(encoding="utf-8")
    return parse_config(tomllib.loads(text), types, source="<built-in demo config>")


def load(path: str | Path | None, types: Types = TYPES) -> Config:
    """The config a command runs with, validated: what loads is complete (config.py's one path)."""
    return demo_config(types) if path is None else load_config(path, types)
