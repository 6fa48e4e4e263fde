"""pi-dashboard: one small process that polls Raspberry Pi sensors, live in a browser."""

from pathlib import Path

__version__ = "0.2.0"
"""The one place the version lives (pyproject.toml reads it): importlib.metadata costs ~25 ms of
startup on a laptop and several times that on a Pi Zero."""

PROTOCOL_VERSION = 3
"""Version of the public wire protocol (docs/protocol.md); bumped on any incompatible change."""


def data_dir(name: str) -> Path:
    """A top-level folder of the checkout (`static`, `systemd`) that the wheel ships inside the
    package: there when installed, else beside the package (a checkout or an editable install).

    Found from `__file__`, not `importlib.resources`: on 3.11 a package folder without
    `__init__.py` comes back as a MultiplexedPath, which is not a path aiohttp can serve."""
    here = Path(__file__).resolve().parent
    installed = here / name
    return installed if installed.is_dir() else here.parent / name
