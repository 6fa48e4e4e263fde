"""`digital_in`: any on/off signal on a GPIO pin (gpiozero's `DigitalInputDevice`), user-labelled.

For modules with a digital output that have no type of their own: a rain or water-leak probe's
comparator output, a vibration switch, an optocoupled mains detector. `device_class` tells the
dashboard (and a Home Assistant export) what "on" means.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pi_dashboard.model import ChannelMeta, DeviceClass
from pi_dashboard.sensors.base import SensorType
from pi_dashboard.sensors.gpio import BinaryInput, check_bounce, check_pin

InputClass = Literal[
    "none",
    "door",
    "window",
    "garage_door",
    "opening",
    "motion",
    "occupancy",
    "presence",
    "moisture",
    "vibration",
    "power",
    "problem",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class DigitalInOptions:
    pin: int
    pull_up: bool = False
    """True: internal pull-up, and the input counts as on while the pin is LOW (active low)."""
    bounce_time: float = 0.0
    """Seconds to ignore further edges after one; 0 (the default) turns debouncing off."""
    invert: bool = False
    """Report the opposite of what the pin level and `pull_up` say."""
    device_class: InputClass = "none"

    def __post_init__(self) -> None:
        check_pin("pin", self.pin)
        check_bounce("bounce_time", self.bounce_time)


class DigitalIn(BinaryInput[DigitalInOptions]):
    channel = ChannelMeta(
        id="state",
        name="State",
        unit=None,
        device_class=DeviceClass.NONE,
        state_class=None,
        precision=0,
        binary=True,
    )


TYPE = SensorType(
    name="digital_in",
    description="Generic on/off input on a GPIO pin (gpiozero DigitalInputDevice).",
    options=DigitalInOptions,
    sensor=DigitalIn,
    default_interval=10.0,
    min_interval=0.1,
    simulated="pi_dashboard.sim.gpio:place_digital_in",
)
