"""`button`: a push button (any momentary switch) from a GPIO pin to GND, via gpiozero.

gpiozero's `DigitalInputDevice` rather than its `Button`: the same edges and pull-up, without
`Button`'s hold thread, which wakes ten times a second for `when_held`, which we do not use.
Presses are pushed the moment gpiozero sees the edge; `presses` counts them since the daemon
started (a `total_increasing` counter, as Home Assistant would keep it), so a press shorter than
the poll interval is never lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gpiozero import DigitalInputDevice, Factory

from pi_dashboard.config import SensorConfig
from pi_dashboard.hw import Hardware
from pi_dashboard.model import ChannelMeta, StateClass, Value
from pi_dashboard.sensors.base import SensorType
from pi_dashboard.sensors.gpio import PinSensor, check_bounce, check_pin

CHANNELS = (
    ChannelMeta(
        id="pressed", name="Pressed", unit=None, state_class=None, precision=0, binary=True
    ),
    ChannelMeta(
        id="presses",
        name="Presses",
        unit=None,
        state_class=StateClass.TOTAL_INCREASING,
        precision=0,
        valid_range=(0.0, 1e12),
    ),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ButtonOptions:
    pin: int
    """BCM GPIO number the button connects to GND (or to 3V3 with `pull_up = false`)."""
    pull_up: bool = True
    """Use the Pi's internal pull-up: wire the button to GND. False: pull-down, wire it to 3V3."""
    bounce_time: float = 0.05
    """Seconds to ignore further edges after one (contact bounce); 0 turns debouncing off."""

    def __post_init__(self) -> None:
        check_pin("pin", self.pin)
        check_bounce("bounce_time", self.bounce_time)


class ButtonSensor(PinSensor[ButtonOptions]):
    def __init__(self, config: SensorConfig[ButtonOptions], hardware: Hardware) -> None:
        super().__init__(config, hardware)
        self._presses = 0

    @classmethod
    def channels_for(cls, options: ButtonOptions) -> tuple[ChannelMeta, ...]:
        return CHANNELS

    def create_device(self, factory: Factory) -> DigitalInputDevice:
        o = self.options
        button = DigitalInputDevice(
            o.pin, pull_up=o.pull_up, bounce_time=o.bounce_time or None, pin_factory=factory
        )
        button.when_activated = self._pressed
        button.when_deactivated = self._released
        return button

    def _pressed(self) -> None:
        with self._lock:
            self._presses += 1
            presses = self._presses
        self.emit({"pressed": True, "presses": presses})

    def _released(self) -> None:
        self.emit({"pressed": False})

    def read(self) -> Mapping[str, Value]:
        pressed = bool(self.device.is_active)
        with self._lock:
            return {"pressed": pressed, "presses": self._presses}


TYPE = SensorType(
    name="button",
    description="Push button on a GPIO pin (gpiozero input device): pressed state and press count.",
    options=ButtonOptions,
    sensor=ButtonSensor,
    default_interval=10.0,
    min_interval=0.1,
    simulated="pi_dashboard.sim.gpio:place_button",
)
