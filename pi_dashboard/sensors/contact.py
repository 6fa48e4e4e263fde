"""`contact`: a door or window reed switch (magnet contact) on a GPIO pin, via gpiozero's
`DigitalInputDevice` (its `Button` adds a hold thread that wakes ten times a second).

A normally-open reed switch is closed while its magnet sits next to it, so the usual wiring
(switch between the pin and GND, internal pull-up) reads "circuit closed" for a closed door.
Normally-closed switches, or wiring where closed means open, set `invert = true`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pi_dashboard.model import ChannelMeta, DeviceClass
from pi_dashboard.sensors.base import SensorType
from pi_dashboard.sensors.gpio import BinaryInput, check_bounce, check_pin

ContactClass = Literal["door", "window", "garage_door", "opening"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactOptions:
    pin: int
    """BCM GPIO number; the switch's other lead goes to GND (or 3V3 with `pull_up = false`)."""
    pull_up: bool = True
    bounce_time: float = 0.1
    """Reed switches bounce for a few ms, a slammed door longer; 0 turns debouncing off."""
    invert: bool = False
    """False: open when the circuit is open (normally-open reed). True: open when it is closed."""
    device_class: ContactClass = "door"

    def __post_init__(self) -> None:
        check_pin("pin", self.pin)
        check_bounce("bounce_time", self.bounce_time)


class ContactSensor(BinaryInput[ContactOptions]):
    channel = ChannelMeta(
        id="open",
        name="Open",
        unit=None,
        device_class=DeviceClass.DOOR,
        state_class=None,
        precision=0,
        binary=True,
    )

    def state(self, active: bool) -> bool:
        # active is "circuit closed": a closed normally-open reed is a closed door
        return active == self.options.invert


TYPE = SensorType(
    name="contact",
    description="Door/window reed switch on a GPIO pin (gpiozero input device): open or closed.",
    options=ContactOptions,
    sensor=ContactSensor,
    default_interval=10.0,
    min_interval=0.1,
    simulated="pi_dashboard.sim.gpio:place_contact",
)
