"""What every GPIO sensor type shares: pin checks, one gpiozero device per sensor, edge pushes.

gpiozero is the driver here, as smbus2 plus `drivers/` are for I2C: each type builds one gpiozero
device (`DigitalInputDevice`, `MotionSensor`, ...) with the pin factory the composition root
injected (`Hardware.pin_factory`), never the class-wide `Device.pin_factory`. Edges arrive on
gpiozero's threads and go straight to `push`, which is thread-safe; `read()` reports the current
state on every poll, so a missed edge heals at the next poll.
"""

from __future__ import annotations

import re
import threading
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import replace
from typing import ClassVar, Generic, Protocol, TypeVar

from gpiozero import Device, DigitalInputDevice, Factory
from gpiozero.exc import BadPinFactory, GPIOPinInUse, GPIOZeroError

from pi_dashboard.config import SensorConfig
from pi_dashboard.errors import FieldError, SensorError
from pi_dashboard.hw import Hardware
from pi_dashboard.model import ChannelMeta, DeviceClass, Value
from pi_dashboard.sensors.base import Push, Sensor

BCM_PINS = range(28)
"""GPIO0..GPIO27 on the 40-pin header, by Broadcom (BCM) number, as gpiozero numbers them."""


def check_pin(field: str, pin: int) -> None:
    if pin not in BCM_PINS:
        raise FieldError(
            field,
            f"{pin} is not a GPIO number (BCM 0-27; use GPIO numbers such as 17, "
            "not physical header pin numbers)",
        )


def check_bounce(field: str, seconds: float) -> None:
    if not 0.0 <= seconds <= 1.0:
        raise FieldError(field, f"must be between 0 and 1 second, got {seconds:g}")


OptionsT = TypeVar("OptionsT")


class GpioSensor(Sensor[OptionsT], Generic[OptionsT]):
    """One gpiozero device, created by `setup()` once and kept until `close()`.

    All GPIO sensors share the "gpio" worker: their reads are quick pin-state lookups, and the
    pin factory is then only ever touched from one of our threads (plus gpiozero's own)."""

    worker = "gpio"

    def __init__(self, config: SensorConfig[OptionsT], hardware: Hardware) -> None:
        super().__init__(config, hardware)
        self._device: Device | None = None
        self._push: Push | None = None
        self._lock = threading.Lock()
        """Guards state shared between gpiozero's callback threads and the worker (counters)."""

    @property
    @abstractmethod
    def pins(self) -> tuple[int, ...]:
        """The BCM pins this sensor claims, for error messages."""

    @abstractmethod
    def create_device(self, factory: Factory) -> Device:
        """Build the gpiozero device on `factory` and hook up its edge callbacks."""

    def setup(self) -> None:
        if self._device is not None:
            return
        try:
            factory = self.hardware.pin_factory()
            self._device = self.create_device(factory)
        except GPIOPinInUse as e:
            m = re.search(r"pin (\S+) is already in use", str(e))
            which = m.group(1) if m else "/".join(f"GPIO{p}" for p in self.pins)
            raise SensorError(
                f"{which} is already in use (by another sensor in this config, or another program)"
            ) from None
        except BadPinFactory as e:
            raise SensorError(
                f"no GPIO on this machine ({e}): on a Pi, apt install python3-lgpio; "
                "elsewhere, use --mock to simulate"
            ) from None
        except GPIOZeroError as e:
            raise SensorError(f"GPIO setup failed: {e}") from None
        except Exception as e:
            # lgpio (gpiozero's pin library on bookworm) raises its own `lgpio.error`, e.g.
            # "GPIO busy" when a kernel driver (w1-gpio, an overlay) or another program holds it
            if type(e).__module__ != "lgpio":
                raise
            pins = "/".join(f"GPIO{p}" for p in self.pins)
            raise SensorError(
                f"{pins}: {e} (held by a kernel driver or another program?)"
            ) from None

    @property
    def device(self) -> Device:
        if self._device is None:
            raise SensorError("not set up")
        return self._device

    def watch(self, push: Push) -> None:
        self._push = push

    def emit(self, values: Mapping[str, Value]) -> None:
        """Called from gpiozero's threads on an edge; before `watch()` edges only show at polls."""
        push = self._push
        if push is not None:
            push(values)

    def close(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            device.close()


class OnPin(Protocol):
    """Options of a device on one pin."""

    @property
    def pin(self) -> int: ...


PinOptionsT = TypeVar("PinOptionsT", bound=OnPin)


class PinSensor(GpioSensor[PinOptionsT]):
    """A device on one pin (`pin`): buttons, switches, PIRs, digital outputs of modules."""

    @property
    def pins(self) -> tuple[int, ...]:
        return (self.options.pin,)


BINARY_CLASSES: dict[str, DeviceClass] = {
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
"""The `device_class` names an on/off input may take in the config (each type a subset)."""


class InputOnPin(OnPin, Protocol):
    """Options of an on/off input read through gpiozero's `DigitalInputDevice`."""

    @property
    def pull_up(self) -> bool: ...
    @property
    def bounce_time(self) -> float: ...
    @property
    def invert(self) -> bool: ...
    @property
    def device_class(self) -> str: ...


InputOptionsT = TypeVar("InputOptionsT", bound=InputOnPin)


class BinaryInput(PinSensor[InputOptionsT]):
    """One on/off channel from a `DigitalInputDevice`, pushed on every edge and read at polls.

    gpiozero's "active" is "circuit closed" (pin LOW with the pull-up); what that means for the
    channel is each type's `state()`."""

    channel: ClassVar[ChannelMeta]
    """The one channel, with `device_class` filled in from the options."""

    @classmethod
    def channels_for(cls, options: InputOptionsT) -> tuple[ChannelMeta, ...]:
        return (replace(cls.channel, device_class=BINARY_CLASSES[options.device_class]),)

    def state(self, active: bool) -> bool:
        return active != self.options.invert

    def create_device(self, factory: Factory) -> DigitalInputDevice:
        o = self.options
        dev = DigitalInputDevice(
            o.pin, pull_up=o.pull_up, bounce_time=o.bounce_time or None, pin_factory=factory
        )
        dev.when_activated = lambda: self.emit({self.channel.id: self.state(True)})
        dev.when_deactivated = lambda: self.emit({self.channel.id: self.state(False)})
        return dev

    def read(self) -> Mapping[str, Value]:
        return {self.channel.id: self.state(bool(self.device.is_active))}
