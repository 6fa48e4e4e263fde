"""pi-dashboard: one small process that polls Raspberry Pi sensors and shows them live in a browser."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pi-dashboard")
except PackageNotFoundError:  # running from a checkout that is not installed
    __version__ = "0.0.0+unknown"

PROTOCOL_VERSION = 1
"""Version of the public wire protocol (docs/protocol.md); bumped on any incompatible change."""
