"""GPIO through gpiozero's own pin factories: the default on a Pi, `MockFactory` in mock mode."""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gpiozero import Factory

log = logging.getLogger(__name__)


def default_factory() -> Factory:
    """gpiozero's choice for this machine (lgpio on Raspberry Pi OS bookworm).

    gpiozero warns once per factory it could not load; those go to the debug log instead of
    stderr, and a machine with none gets one error line from the sensor that asked."""
    from gpiozero import Device
    from gpiozero.exc import PinFactoryFallback

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PinFactoryFallback)
        try:
            return Device._default_pin_factory()
        finally:
            for w in caught:
                log.debug("%s", w.message)
