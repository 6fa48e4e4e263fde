"""`motion`: a PIR motion detector (HC-SR501 and clones) on a GPIO pin, via gpiozero.

The HC-SR501 drives its OUT pin to 3.3 V itself while it sees motion and holds it for its delay
time (the Tx potentiometer), so no pull-up and no divider are needed. With `queue_len = 1` (the
default: the module filters already) OUT's edges are taken as they come, through gpiozero's
`DigitalInputDevice`; its `MotionSensor` would sample the pin on a thread of its own,
`sample_rate` times a second, forever. A longer queue uses `MotionSensor`, which averages that
many samples and fires `when_motion`/`when_no_motion` from its thread. Either way, the edges are
pushed at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gpiozero import DigitalInputDevice, Factory, MotionSensor

from pi_dashboard.errors import FieldError
from pi_dashboard.model import ChannelMeta, DeviceClass, Value
from pi_dashboard.sensors.base import SensorType
from pi_dashboard.sensors.gpio import PinSensor, check_pin

CHANNELS = (
    ChannelMeta(
        id="motion",
        name="Motion",
        unit=None,
        device_class=DeviceClass.MOTION,
        state_class=None,
        precision=0,
        binary=True,
    ),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class MotionOptions:
    pin: int
    """BCM GPIO number the PIR's OUT pin is wired to."""
    pull_up: bool = False
    """The HC-SR501 drives OUT both ways; the default pull-down only keeps an unplugged pin low."""
    queue_len: int = 1
    """Samples averaged before deciding; 1 takes OUT's edges as they come (the PIR filters)."""
    sample_rate: float = 10.0
    """With `queue_len` > 1, samples per second on gpiozero's queue thread."""
    threshold: float = 0.5
    """Fraction of queued samples that must be high to count as motion."""

    def __post_init__(self) -> None:
        check_pin("pin", self.pin)
        if not 1 <= self.queue_len <= 100:
            raise FieldError("queue_len", f"must be between 1 and 100, got {self.queue_len}")
        if not 0.5 <= self.sample_rate <= 1000.0:
            raise FieldError(
                "sample_rate", f"must be between 0.5 and 1000 Hz, got {self.sample_rate:g}"
            )
        if not 0.0 < self.threshold < 1.0:
            raise FieldError(
                "threshold", f"must be between 0 and 1 (exclusive), got {self.threshold:g}"
            )


class MotionSensorGpio(PinSensor[MotionOptions]):
    @classmethod
    def channels_for(cls, options: MotionOptions) -> tuple[ChannelMeta, ...]:
        return CHANNELS

    def create_device(self, factory: Factory) -> DigitalInputDevice | MotionSensor:
        o = self.options
        if o.queue_len == 1:  # one sample is the pin itself: its edges, with no sampling thread
            out = DigitalInputDevice(o.pin, pull_up=o.pull_up, pin_factory=factory)
            out.when_activated = lambda: self.emit({"motion": True})
            out.when_deactivated = lambda: self.emit({"motion": False})
            return out
        pir = MotionSensor(
            o.pin,
            pull_up=o.pull_up,
            queue_len=o.queue_len,
            sample_rate=o.sample_rate,
            threshold=o.threshold,
            pin_factory=factory,
        )
        pir.when_motion = lambda: self.emit({"motion": True})
        pir.when_no_motion = lambda: self.emit({"motion": False})
        return pir

    def read(self) -> Mapping[str, Value]:
        # MotionSensor blocks until its queue has filled once: queue_len / sample_rate after setup
        return {"motion": bool(self.device.is_active)}


TYPE = SensorType(
    name="motion",
    description="PIR motion detector such as the HC-SR501 on a GPIO pin (gpiozero).",
    options=MotionOptions,
    sensor=MotionSensorGpio,
    default_interval=10.0,
    min_interval=0.1,
    simulated="pi_dashboard.sim.gpio:place_motion",
)
