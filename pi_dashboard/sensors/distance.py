"""`distance`: an HC-SR04 ultrasonic rangefinder on two GPIO pins, pinged when a poll asks.

HC-SR04 datasheet (Elec Freaks), "Timing diagram": a 10 µs pulse on TRIG sends an 8-cycle 40 kHz
burst, and ECHO then stays high for the sound's round trip (range = high time x 340 m/s / 2);
"we suggest to use over 60ms measurement cycle". ECHO is a 5 V output: it needs a divider (or a
3.3 V HC-SR04P) before it meets a Pi pin.

gpiozero's `DistanceSensor` pings every 60 ms on a thread of its own for as long as it exists,
whatever the poll interval: 15 pings a second, each waking the Pi, to report one median every few
seconds. `Rangefinder` does gpiozero's ping (same pins, edge timestamps and lock) only when a poll
asks: `queue_len` pings 60 ms apart, and their median. A ping answered from `max_distance` or
farther means nothing is in range, so `distance` is left out and `in_range` turns false.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from gpiozero import CompositeDevice, DigitalOutputDevice, DistanceSensor, Factory, InputDevice

from pi_dashboard.config import SensorConfig
from pi_dashboard.errors import FieldError, SensorError
from pi_dashboard.hw import Hardware
from pi_dashboard.model import ChannelMeta, DeviceClass, Value
from pi_dashboard.sensors.base import SensorType
from pi_dashboard.sensors.gpio import GpioSensor, check_pin

SPEED_OF_SOUND = 343.26
"""m/s in air at 20 °C, as gpiozero's DistanceSensor converts."""
CYCLE_S = 0.06
"""The datasheet's measurement cycle: a ping earlier than this may hear the last one's echo."""
ECHO_WAIT_S = 0.1
"""gpiozero's wait for the echo to rise and fall (the datasheet leaves the pre-rise time open)."""
TRIGGER_S = 0.00001
"""The datasheet's 10 µs TRIG pulse."""
GIVE_UP_AFTER = 3
"""Unanswered pings in a row that end a poll: the sensor is not answering."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DistanceOptions:
    trigger: int
    """BCM GPIO number wired to TRIG (a 3.3 V output is enough for the HC-SR04's input)."""
    echo: int
    """BCM GPIO number wired to ECHO through the 5 V -> 3.3 V divider."""
    max_distance: float = 2.0
    """Metres; anything farther (or no echo at all) reads as out of range. HC-SR04: up to 4 m."""
    queue_len: int = 5
    """Pings per poll, 60 ms apart, whose median is reported: more is steadier but slower."""

    def __post_init__(self) -> None:
        check_pin("trigger", self.trigger)
        check_pin("echo", self.echo)
        if self.echo == self.trigger:
            raise FieldError("echo", f"must differ from trigger (both are GPIO{self.echo})")
        if not 0.1 <= self.max_distance <= 6.0:
            raise FieldError(
                "max_distance", f"must be between 0.1 and 6 m, got {self.max_distance:g}"
            )
        if not 1 <= self.queue_len <= 30:
            raise FieldError("queue_len", f"must be between 1 and 30, got {self.queue_len}")


class Rangefinder(CompositeDevice):
    """An HC-SR04 on gpiozero pins that pings only when asked (`measure`), from the caller's
    thread: no background thread, nothing on the bus between polls."""

    def __init__(self, *, trigger: int, echo: int, pin_factory: Factory) -> None:
        trig = DigitalOutputDevice(trigger, pin_factory=pin_factory)
        try:
            echo_dev = InputDevice(echo, pull_up=False, pin_factory=pin_factory)
        except Exception:
            trig.close()
            raise
        super().__init__(trigger=trig, echo=echo_dev, pin_factory=pin_factory)
        self._edge = threading.Event()
        self._rise: float | None = None
        self._fall: float | None = None
        pin = echo_dev.pin
        pin.edges = "both"
        pin.bounce = None
        pin.when_changed = self._changed

    def _changed(self, ticks: float, level: bool) -> None:
        """gpiozero calls this on each ECHO edge, with the edge's own timestamp."""
        if level:
            self._rise = ticks
        else:
            self._fall = ticks
            self._edge.set()

    def ping(self) -> float | None:
        """One measurement in metres, as gpiozero's DistanceSensor takes it; None: no echo."""
        with DistanceSensor.ECHO_LOCK:  # two HC-SR04s never ping at once (gpiozero's own lock)
            self._edge.clear()
            self._rise = self._fall = None
            self.trigger.on()
            time.sleep(TRIGGER_S)
            self.trigger.off()
            if not self._edge.wait(ECHO_WAIT_S) or self._rise is None or self._fall is None:
                return None
            high = self.pin_factory.ticks_diff(self._fall, self._rise)
        return high * SPEED_OF_SOUND / 2.0

    def measure(self, pings: int) -> list[float]:
        """Up to `pings` answered pings, one measurement cycle apart."""
        got: list[float] = []
        missed = 0
        for i in range(pings):
            if i:
                time.sleep(CYCLE_S)
            d = self.ping()
            if d is not None:
                got.append(d)
                missed = 0
            else:
                missed += 1
                if missed >= GIVE_UP_AFTER:
                    break
        return got


class Distance(GpioSensor[DistanceOptions]):
    def __init__(self, config: SensorConfig[DistanceOptions], hardware: Hardware) -> None:
        super().__init__(config, hardware)
        # its own thread: a poll of `queue_len` pings takes queue_len x 60 ms
        self.worker = f"distance-{config.id}"

    @classmethod
    def channels_for(cls, options: DistanceOptions) -> tuple[ChannelMeta, ...]:
        return (
            ChannelMeta(
                id="distance",
                name="Distance",
                unit="m",
                device_class=DeviceClass.DISTANCE,
                precision=3,
                valid_range=(0.0, options.max_distance),
            ),
            ChannelMeta(
                id="in_range",
                name="In range",
                unit=None,
                state_class=None,
                precision=0,
                binary=True,
            ),
        )

    @property
    def pins(self) -> tuple[int, ...]:
        return (self.options.trigger, self.options.echo)

    def create_device(self, factory: Factory) -> Rangefinder:
        o = self.options
        return Rangefinder(trigger=o.trigger, echo=o.echo, pin_factory=factory)

    def read(self) -> Mapping[str, Value]:
        dev = self.device
        assert isinstance(dev, Rangefinder)
        o = self.options
        got = dev.measure(o.queue_len)
        if not got:
            raise SensorError(
                f"no echo from the HC-SR04 (TRIG on GPIO{o.trigger}, ECHO on GPIO{o.echo}): "
                "check wiring, its 5 V supply and the echo divider"
            )
        d = statistics.median(got)
        if d >= o.max_distance:
            return {"in_range": False}
        return {"distance": d, "in_range": True}


TYPE = SensorType(
    name="distance",
    description="HC-SR04 ultrasonic distance sensor on two GPIO pins, pinged at each poll.",
    options=DistanceOptions,
    sensor=Distance,
    default_interval=2.0,
    min_interval=0.1,
    simulated="pi_dashboard.sim.gpio:place_distance",
)
