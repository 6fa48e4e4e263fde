"""`distance`: an HC-SR04 ultrasonic rangefinder on two GPIO pins, via gpiozero's `DistanceSensor`.

HC-SR04 datasheet (Elec Freaks), "Timing diagram": a 10 µs pulse on TRIG sends an 8-cycle 40 kHz
burst, and ECHO then stays high for the sound's round trip (range = high time x 340 m/s / 2).
ECHO is a 5 V output: it needs a divider (or a 3.3 V HC-SR04P) before it meets a Pi pin.

gpiozero pings on its own queue thread (one ping per ~60 ms) and keeps the median of the last
`queue_len` results; a poll reports that median. A result at `max_distance` means no echo came
back from within range, so `distance` is left out and `in_range` turns false.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

from gpiozero import DistanceSensor, Factory
from gpiozero.exc import PWMSoftwareFallback

from pi_dashboard.config import SensorConfig
from pi_dashboard.errors import FieldError, SensorError
from pi_dashboard.hw import Hardware
from pi_dashboard.model import ChannelMeta, DeviceClass, Value
from pi_dashboard.sensors.base import SensorType
from pi_dashboard.sensors.gpio import GpioSensor, check_pin

PING_S = 0.1
"""gpiozero pings every 60 ms plus the echo time (at most ~35 ms for an HC-SR04)."""
ECHO_STALE_S = 1.0
"""No echo for this long while gpiozero pings every ~60 ms: the sensor is gone."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DistanceOptions:
    trigger: int
    """BCM GPIO number wired to TRIG (a 3.3 V output is enough for the HC-SR04's input)."""
    echo: int
    """BCM GPIO number wired to ECHO through the 5 V -> 3.3 V divider."""
    max_distance: float = 2.0
    """Metres; anything farther (or no echo at all) reads as out of range. HC-SR04: up to 4 m."""
    queue_len: int = 5
    """Pings whose median is reported: more is steadier but slower to follow movement."""

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


def channels_for(o: DistanceOptions) -> tuple[ChannelMeta, ...]:
    return (
        ChannelMeta(
            id="distance",
            name="Distance",
            unit="m",
            device_class=DeviceClass.DISTANCE,
            precision=3,
            valid_range=(0.0, o.max_distance),
        ),
        ChannelMeta(
            id="in_range", name="In range", unit=None, state_class=None, precision=0, binary=True
        ),
    )


class EchoWatchingDistanceSensor(DistanceSensor):
    """gpiozero's `DistanceSensor`, also counting answered pings and noting the last one.

    Its queue keeps old results forever once pings stop getting answers, so an unplugged sensor
    would go on reporting its last distance; `_read` is the hook SmoothedInputDevice subclasses
    override, and the only place that knows whether a ping was answered."""

    last_echo: float = 0.0

    def __init__(self, *, queue_len: int, **kwargs: object) -> None:
        # set before super() starts the queue thread that pings
        self.answered = 0
        self.settled = threading.Event()
        """Set once `queue_len` pings were answered: from then on the median is a full one."""
        self._settle_after = queue_len
        super().__init__(queue_len=queue_len, **kwargs)

    def _read(self) -> float | None:
        ratio = super()._read()
        if ratio is not None:
            self.last_echo = time.monotonic()
            self.answered += 1
            if self.answered >= self._settle_after:
                self.settled.set()
        return ratio


class Distance(GpioSensor):
    def __init__(self, config: SensorConfig, hardware: Hardware) -> None:
        super().__init__(config, hardware)
        self.options: DistanceOptions = config.options
        self._channels = channels_for(self.options)
        self._settled_by = 0.0

    @property
    def channels(self) -> tuple[ChannelMeta, ...]:
        return self._channels

    @property
    def pins(self) -> tuple[int, ...]:
        return (self.options.trigger, self.options.echo)

    def create_device(self, factory: Factory) -> EchoWatchingDistanceSensor:
        o = self.options
        with warnings.catch_warnings():
            # "use the pigpio pin factory": pigpio does not run on a Pi 5 or under bookworm's lgpio
            warnings.simplefilter("ignore", PWMSoftwareFallback)
            dev = EchoWatchingDistanceSensor(
                echo=o.echo,
                trigger=o.trigger,
                max_distance=o.max_distance,
                queue_len=o.queue_len,
                partial=True,
                pin_factory=factory,
            )
        # the first read waits for a full queue, but not past a default read timeout (2 s)
        self._settled_by = time.monotonic() + min(PING_S * (o.queue_len + 2), 1.0)
        return dev

    def read(self) -> Mapping[str, Value]:
        dev: EchoWatchingDistanceSensor = self.device  # type: ignore[assignment]
        o = self.options
        dev.settled.wait(max(self._settled_by - time.monotonic(), 0.0))
        if dev.answered == 0:
            raise SensorError(
                f"no echo from the HC-SR04 (TRIG on GPIO{o.trigger}, ECHO on GPIO{o.echo}): "
                "check wiring, its 5 V supply and the echo divider"
            )
        age = time.monotonic() - dev.last_echo
        if age > ECHO_STALE_S:
            raise SensorError(
                f"no echo from the HC-SR04 for {age:.1f} s (ECHO on GPIO{o.echo}): check wiring"
            )
        ratio = dev.value
        if ratio >= 1.0:
            return {"in_range": False}
        return {"distance": ratio * o.max_distance, "in_range": True}


TYPE = SensorType(
    name="distance",
    options=DistanceOptions,
    create=Distance,
    description="HC-SR04 ultrasonic distance sensor on two GPIO pins (gpiozero DistanceSensor).",
    default_interval=2.0,
    min_interval=0.1,
    channel_ids=lambda _o: ("distance", "in_range"),
)
