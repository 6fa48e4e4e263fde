"""Mock-mode GPIO: the world's `MockFactory` pins wired to simulated switches, a PIR and an HC-SR04.

Circuits, not answers: a closed switch holds its pin at the rail it is wired to whatever the pull
resistor says, a PIR drives its output pin, and an HC-SR04's echo pulse lasts the sound's round
trip to `world.env.distance`, so gpiozero's own edge timing measures it. Tickers press the button,
open the door and walk past the PIR now and then; in a frozen world they do nothing, and tests
drive pins themselves (`world.factory.pin(17).drive_low()`).

Imports `world` only for type checking, so `sim/world.py` imports this module at its top and
lists the `place_*` functions in its `PLACERS`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from gpiozero.pins.mock import MockPin, MockTriggerPin

from pi_dashboard.config import SensorConfig

if TYPE_CHECKING:
    from pi_dashboard.sim.world import SimWorld

SPEED_OF_SOUND = 343.26
"""m/s in air at about 20 °C: the figure gpiozero's DistanceSensor converts with."""


class WiredPin(MockPin):
    """An input pin with something outside the Pi on it.

    `level` is what that thing forces onto the line (True = 3.3 V, False = GND); None means it
    forces nothing (an open switch) and the pull resistor decides, as on a real pin."""

    level: bool | None = None

    def _set_pull(self, value: str) -> None:
        super()._set_pull(value)
        self._settle()

    def force(self, level: bool | None) -> None:
        self.level = level
        self._settle()

    def _settle(self) -> None:
        if self._function != "input":
            return
        level = self.level
        if level is None:
            if self._pull == "floating":
                return
            level = self._pull == "up"
        if level:
            self.drive_high()
        else:
            self.drive_low()


class EchoPin(MockTriggerPin):
    """HC-SR04: a rising TRIG makes ECHO high for the round trip to `distance()` metres.

    gpiozero's `MockTriggerPin` sleeps for the echo time, and a sleep overshoots by a tenth of a
    millisecond or so (2 cm); the last millisecond here is a busy wait, good to well under 1 mm.
    `connected = False` unplugs the module: pings go unanswered."""

    SPIN_S = 0.001

    def __init__(
        self,
        factory: object,
        info: object,
        echo_pin: MockPin | None = None,
        echo_time: float = 0.04,
        distance: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(factory, info, echo_pin=echo_pin, echo_time=echo_time)
        self.distance = distance
        self.connected = True

    def _echo(self) -> None:
        if not self.connected or self.echo_pin is None:
            return
        if self.distance is not None:
            self.echo_time = 2.0 * self.distance() / SPEED_OF_SOUND
        time.sleep(0.0005)  # the 8-cycle 40 kHz burst goes out before ECHO rises
        start = time.monotonic()
        self.echo_pin.drive_high()
        end = start + self.echo_time
        if end - time.monotonic() > self.SPIN_S:
            time.sleep(end - time.monotonic() - self.SPIN_S)
        while time.monotonic() < end:
            pass
        self.echo_pin.drive_low()


def _closed_level(pull_up: bool) -> bool:
    """A switch wired for the internal pull-up goes to GND; one for the pull-down goes to 3V3."""
    return not pull_up


def _pin(world: SimWorld, number: int) -> WiredPin | None:
    """None when another simulated device already sits on that pin: the sensor's setup will
    fail with gpiozero's "already in use", as on a real Pi; the sim adds nothing to that."""
    pin = world.factory.pin(number, pin_class=WiredPin)
    return pin if isinstance(pin, WiredPin) else None


class Presser:
    """A person pressing the button every `mean_gap_s` on average, holding it `hold_s`."""

    def __init__(
        self,
        world: SimWorld,
        pin: WiredPin,
        pull_up: bool,
        mean_gap_s: float = 20.0,
        hold_s: float = 0.3,
    ) -> None:
        self.world, self.pin, self.closed = world, pin, _closed_level(pull_up)
        self.mean_gap_s, self.hold_s = mean_gap_s, hold_s
        self.release_in: float | None = None

    def __call__(self, dt: float) -> None:
        if self.world.frozen:
            return
        if self.release_in is not None:
            self.release_in -= dt
            if self.release_in <= 0:  # released on the first tick after hold_s
                self.pin.force(None)
                self.release_in = None
        elif self.world.rng.random() < dt / self.mean_gap_s:
            self.pin.force(self.closed)
            self.release_in = self.hold_s


class Door:
    """A door opened every `mean_gap_s` on average and left open 5-30 s; its reed switch
    (normally open, or normally closed when the sensor says `invert`) follows the magnet."""

    def __init__(
        self, world: SimWorld, pin: WiredPin, pull_up: bool, invert: bool, mean_gap_s: float = 120.0
    ) -> None:
        self.world, self.pin = world, pin
        self.closed_level, self.invert = _closed_level(pull_up), invert
        self.mean_gap_s = mean_gap_s
        self.close_in: float | None = None
        self.set_open(False)

    def set_open(self, is_open: bool) -> None:
        circuit_closed = is_open == self.invert
        self.pin.force(self.closed_level if circuit_closed else None)

    def __call__(self, dt: float) -> None:
        if self.world.frozen:
            return
        if self.close_in is not None:
            self.close_in -= dt
            if self.close_in <= 0:
                self.set_open(False)
                self.close_in = None
        elif self.world.rng.random() < dt / self.mean_gap_s:
            self.set_open(True)
            self.close_in = self.world.rng.uniform(5.0, 30.0)


class Pir:
    """HC-SR501 with the jumper on H (retriggering): OUT high while someone moves and for
    `hold_s` (the Tx potentiometer) after, then ~3 s blind before it can trigger again."""

    LOCK_S = 3.0

    def __init__(
        self, world: SimWorld, pin: WiredPin, mean_gap_s: float = 45.0, hold_s: float = 5.0
    ) -> None:
        self.world, self.pin = world, pin
        self.mean_gap_s, self.hold_s = mean_gap_s, hold_s
        self.moving_for = 0.0
        self.high_for = 0.0
        self.locked_for = 0.0
        pin.force(False)

    def __call__(self, dt: float) -> None:
        if self.world.frozen:
            return
        rng = self.world.rng
        if self.moving_for > 0:
            self.moving_for -= dt
        elif rng.random() < dt / self.mean_gap_s:
            self.moving_for = rng.uniform(2.0, 15.0)
        if self.locked_for > 0:
            self.locked_for -= dt
            return
        if self.moving_for > 0:
            self.high_for = self.hold_s
        elif self.high_for > 0:
            self.high_for -= dt
            if self.high_for <= 0:
                self.locked_for = self.LOCK_S
        self.pin.force(self.high_for > 0)


def place_button(world: SimWorld, cfg: SensorConfig) -> None:
    o = cfg.options
    if (pin := _pin(world, o.pin)) is not None:
        world.tickers.append(Presser(world, pin, o.pull_up))


def place_contact(world: SimWorld, cfg: SensorConfig) -> None:
    o = cfg.options
    if (pin := _pin(world, o.pin)) is not None:
        world.tickers.append(Door(world, pin, o.pull_up, o.invert))


def place_motion(world: SimWorld, cfg: SensorConfig) -> None:
    if (pin := _pin(world, cfg.options.pin)) is not None:
        world.tickers.append(Pir(world, pin))


def place_digital_in(world: SimWorld, cfg: SensorConfig) -> None:
    _pin(world, cfg.options.pin)  # left to its pull resistor; tests drive it


def place_distance(world: SimWorld, cfg: SensorConfig) -> None:
    o = cfg.options
    echo = world.factory.pin(o.echo)
    world.factory.pin(
        o.trigger, pin_class=EchoPin, echo_pin=echo, distance=lambda: world.env.distance
    )
