"""`digital_in`: any on/off signal on a GPIO pin (gpiozero's `DigitalInputDevice`), user-labelled.

For modules with a digital output that have no type of their own: a rain or water-leak probe's
comparator output, a vibration switch, an optocoupled mains detector. `device_class` tells the
dashboard (and a Home Assistant export) what "on" means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from gpiozero import DigitalInputDevice, Factory

from pi_dashboard.model import ChannelMeta, DeviceClass, Value
from pi_dashboard.sensors.base import SensorType
from pi_dashboard.sensors.gpio import PinSensor, check_bounce, check_pin

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

DEVICE_CLASSES: dict[str, DeviceClass] = {
    "none": DeviceClass.NONE,
    "door": DeviceClass.DOOR,
    "window": DeviceClass.WINDOW,
    "garage_door": DeviceClass.GARAGE_DOOR,
    "opening": DeviceClass.OPENING,
    "motion": DeviceClass.MOTION,
    "occupancy": DeviceClass.OCCUPANCY,
    "presence": DeviceClass.PRESENCE,
    "moisture": DeviceClass.MOISTURE,
    "vibration": DeviceClass.VIBRATION,
    "power": DeviceClass.POWER_BINARY,
    "problem": DeviceClass.PROBLEM,
}


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


class DigitalIn(PinSensor[DigitalInOptions]):
    @classmethod
    def channels_for(cls, options: DigitalInOptions) -> tuple[ChannelMeta, ...]:
        return (
            ChannelMeta(
                id="state",
                name="State",
                unit=None,
                device_class=DEVICE_CLASSES[options.device_class],
                state_class=None,
                precision=0,
                binary=True,
            ),
        )

    def create_device(self, factory: Factory) -> DigitalInputDevice:
        o = self.options
        dev = DigitalInputDevice(
            o.pin, pull_up=o.pull_up, bounce_time=o.bounce_time or None, pin_factory=factory
        )
        dev.when_activated = lambda: self.emit({"state": not o.invert})
        dev.when_deactivated = lambda: self.emit({"state": o.invert})
        return dev

    def read(self) -> Mapping[str, Value]:
        return {"state": bool(self.device.is_active) != self.options.invert}


TYPE = SensorType(
    name="digital_in",
    description="Generic on/off input on a GPIO pin (gpiozero DigitalInputDevice).",
    options=DigitalInOptions,
    sensor=DigitalIn,
    default_interval=10.0,
    min_interval=0.1,
    simulated="pi_dashboard.sim.gpio:place_digital_in",
)
