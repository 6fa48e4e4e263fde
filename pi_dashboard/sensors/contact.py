"""`contact`: a door or window reed switch (magnet contact) on a GPIO pin, via gpiozero's
`DigitalInputDevice` (its `Button` adds a hold thread that wakes ten times a second).

A normally-open reed switch is closed while its magnet sits next to it, so the usual wiring
(switch between the pin and GND, internal pull-up) reads "circuit closed" for a closed door.
Normally-closed switches, or wiring where closed means open, set `invert = true`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from gpiozero import DigitalInputDevice, Factory

from pi_dashboard.model import ChannelMeta, DeviceClass, Value
from pi_dashboard.sensors.base import SensorType
from pi_dashboard.sensors.gpio import PinSensor, check_bounce, check_pin

ContactClass = Literal["door", "window", "garage_door", "opening"]

DEVICE_CLASSES: dict[str, DeviceClass] = {
    "door": DeviceClass.DOOR,
    "window": DeviceClass.WINDOW,
    "garage_door": DeviceClass.GARAGE_DOOR,
    "opening": DeviceClass.OPENING,
}


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


class ContactSensor(PinSensor[ContactOptions]):
    @classmethod
    def channels_for(cls, options: ContactOptions) -> tuple[ChannelMeta, ...]:
        return (
            ChannelMeta(
                id="open",
                name="Open",
                unit=None,
                device_class=DEVICE_CLASSES[options.device_class],
                state_class=None,
                precision=0,
                binary=True,
            ),
        )

    def create_device(self, factory: Factory) -> DigitalInputDevice:
        o = self.options
        switch = DigitalInputDevice(
            o.pin, pull_up=o.pull_up, bounce_time=o.bounce_time or None, pin_factory=factory
        )
        # gpiozero's "active" is "circuit closed"; which of those means open is `invert`'s call
        switch.when_activated = lambda: self.emit({"open": self._is_open(closed=True)})
        switch.when_deactivated = lambda: self.emit({"open": self._is_open(closed=False)})
        return switch

    def _is_open(self, *, closed: bool) -> bool:
        return closed if self.options.invert else not closed

    def read(self) -> Mapping[str, Value]:
        return {"open": self._is_open(closed=bool(self.device.is_active))}


TYPE = SensorType(
    name="contact",
    description="Door/window reed switch on a GPIO pin (gpiozero input device): open or closed.",
    options=ContactOptions,
    sensor=ContactSensor,
    default_interval=10.0,
    min_interval=0.1,
    simulated="pi_dashboard.sim.gpio:place_contact",
)
