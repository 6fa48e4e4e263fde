"""Hardware backends. Drivers receive a `Hardware` and never know if it is real or simulated."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pi_dashboard.hw.i2c import I2CBus

if TYPE_CHECKING:  # gpiozero is imported only by configs with GPIO sensors
    from gpiozero import Factory


@dataclass(frozen=True, slots=True, kw_only=True)
class Hardware:
    """Everything a sensor may touch, injected by the composition root (`app.py`)."""

    i2c: Callable[[int], I2CBus]
    """Open (or reuse) I2C bus N; one shared handle per bus, as smbus2's best practices advise."""
    pin_factory: Callable[[], Factory]
    """gpiozero pin factory, created on first use so a laptop without GPIO never touches one."""
    root: Path = Path("/")
    """Where /sys and /proc live: `/` on a Pi, a generated tree in mock mode."""
