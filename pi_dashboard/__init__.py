"""pi-dashboard: one small process that polls Raspberry Pi sensors, live in a browser."""

__version__ = "0.1.0"
"""The one place the version lives (pyproject.toml reads it): importlib.metadata costs ~25 ms of
startup on a laptop and several times that on a Pi Zero."""

PROTOCOL_VERSION = 2
"""Version of the public wire protocol (docs/protocol.md); bumped on any incompatible change."""
