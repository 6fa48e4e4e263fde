"""GPIO through gpiozero's own pin factories: the default one on a Pi, `MockFactory` in mock mode."""

from __future__ import annotations

from gpiozero import Device, Factory


def default_factory() -> Factory:
    """gpiozero's choice for this machine (lgpio on Raspberry Pi OS bookworm)."""
    return Device._default_pin_factory()


def mock_factory() -> Factory:
    """Simulated pins; the simulated world drives them with `drive_high()`/`drive_low()`."""
    from gpiozero.pins.mock import MockFactory

    return MockFactory()
