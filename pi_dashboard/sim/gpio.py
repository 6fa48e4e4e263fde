"""Mock-mode GPIO: the world's `MockFactory` pins wired to simulated switches, a PIR and an HC-SR04.

Circuits, not answers: a closed switch holds its pin at the rail it is wired to whatever the pull
resistor says, a PIR drives its output pin, and an HC-SR04's echo pulse lasts the sound's round
trip to `world.env.distance`, so gpiozero's own edge timing measures it. Tickers press the button,
open the door, trip the generic input and walk past the PIR now and then; in a frozen world they
do nothing, and tests drive pins themselves (`world.factory.pin(17).drive_low()`).

The GPIO sensor types name their `place_*` function here (`SensorType.simulated`), so gpiozero
is imported only for configs with a GPIO sensor. What each reads of the options is spelled out as
a protocol: sim never imports the sensor types.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from gpiozero.pins.mock import MockPin, MockTriggerPin, PinState

from pi_dashboard.config import SensorConfig

if TYPE_CHECKING:
    from pi_dashboard.sim.world import SimWorld


class OnPin(Protocol):
    """A switch or module output on one pin (button, contact, digital_in, motion)."""

    @property
    def pin(self) -> int: ...

    @property
    def pull_up(self) -> bool: ...


class ContactWiring(OnPin, Protocol):
    @property
    def invert(self) -> bool: ...


class EchoWiring(Protocol):
    """An HC-SR04's two pins."""

    @property
    def trigger(self) -> int: ...

    @property
    def echo(self) -> int: ...


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


class EchoLinePin(MockPin):
    """The HC-SR04's ECHO line. Its edges carry the time they happen, as the kernel stamps GPIO
    line events (gpiozero's lgpio pins pass those stamps on), not the time the simulating thread
    got to run: a loaded test machine must not turn 0.8 m into 1.2 m."""

    _at: float | None = None
    _state: bool  # MockPin's (gpiozero ships no type information)
    _last_change: float

    def drive_at(self, level: bool, t: float) -> None:
        self._at = t
        try:
            if level:
                self.drive_high()
            else:
                self.drive_low()
        finally:
            self._at = None

    def _change_state(self, value: bool) -> bool:
        if self._at is None:
            changed: bool = super()._change_state(value)
            return changed
        if self._state == value:
            return False
        self._state = value
        self.states.append(PinState(self._at - self._last_change, value))
        self._last_change = self._at
        return True


class EchoPin(MockTriggerPin):
    """HC-SR04's TRIG: a rising edge makes ECHO high for the round trip to `distance()` metres.

    gpiozero's `MockTriggerPin` starts a thread per ping and times the pulse by when that thread
    wakes up from a sleep, which is 2 cm late on an idle machine and metres late on a busy one.
    With an `EchoLinePin` both edges are driven at once, in the pinging thread, each stamped
    with the time it happens (rise after the burst, fall a round trip later): exact, and no
    thread or sleep per ping. `connected = False` unplugs the module: pings go unanswered."""

    BURST_S = 0.0005
    """The 8-cycle 40 kHz burst goes out before ECHO rises."""

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

    def _set_state(self, value: bool) -> None:
        echo = self.echo_pin
        if not isinstance(echo, EchoLinePin):
            super()._set_state(value)  # gpiozero's own: a thread per ping
            return
        MockPin._set_state(self, value)
        if value and self.connected:
            if self.distance is not None:
                self.echo_time = 2.0 * self.distance() / SPEED_OF_SOUND
            rise = time.monotonic() + self.BURST_S
            echo.drive_at(True, rise)
            echo.drive_at(False, rise + self.echo_time)

    def _echo(self) -> None:
        if self.connected:
            super()._echo()


def _closed_level(pull_up: bool) -> bool:
    """A switch wired for the internal pull-up goes to GND; one for the pull-down goes to 3V3."""
    return not pull_up


def _pin(world: SimWorld, number: int) -> WiredPin | None:
    """None when another simulated device already sits on that pin: the sensor's setup will
    fail with gpiozero's "already in use", as on a real Pi; the sim adds nothing to that."""
    pin = world.factory.pin(number, pin_class=WiredPin)
    return pin if isinstance(pin, WiredPin) else None


class Switch:
    """Someone working a switch now and then: every `mean_gap_s` on average, for `hold_s` (a
    (min, max) range). `closed_at_rest` is the switch's state the rest of the time: a door's
    normally-open reed is closed while the door is shut; a button is open until pressed."""

    def __init__(
        self,
        world: SimWorld,
        pin: WiredPin,
        *,
        pull_up: bool,
        mean_gap_s: float,
        hold_s: tuple[float, float],
        closed_at_rest: bool = False,
    ) -> None:
        self.world, self.pin = world, pin
        self.closed_level = _closed_level(pull_up)
        self.mean_gap_s, self.hold_s, self.closed_at_rest = mean_gap_s, hold_s, closed_at_rest
        self.release_in: float | None = None
        self.set(active=False)

    def set(self, *, active: bool) -> None:
        closed = active != self.closed_at_rest
        self.pin.force(self.closed_level if closed else None)

    def __call__(self, dt: float) -> None:
        if self.world.frozen:
            return
        rng = self.world.rng
        if self.release_in is not None:
            self.release_in -= dt
            if self.release_in <= 0:  # let go on the first tick after the hold time
                self.set(active=False)
                self.release_in = None
        elif rng.random() < dt / self.mean_gap_s:
            self.set(active=True)
            self.release_in = rng.uniform(*self.hold_s)


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


def place_button(world: SimWorld, cfg: SensorConfig[OnPin]) -> None:
    o = cfg.options
    if (pin := _pin(world, o.pin)) is not None:  # a press every ~20 s, held 0.3 s
        world.tickers.append(
            Switch(world, pin, pull_up=o.pull_up, mean_gap_s=20.0, hold_s=(0.3, 0.3))
        )


def place_contact(world: SimWorld, cfg: SensorConfig[ContactWiring]) -> None:
    o = cfg.options
    if (pin := _pin(world, o.pin)) is not None:  # opened every ~2 min, left open 5-30 s
        # a normally-open reed is closed while the door is shut; `invert` means normally closed
        door = Switch(
            world,
            pin,
            pull_up=o.pull_up,
            mean_gap_s=120.0,
            hold_s=(5.0, 30.0),
            closed_at_rest=not o.invert,
        )
        world.tickers.append(door)


def place_motion(world: SimWorld, cfg: SensorConfig[OnPin]) -> None:
    if (pin := _pin(world, cfg.options.pin)) is not None:
        world.tickers.append(Pir(world, pin))


def place_digital_in(world: SimWorld, cfg: SensorConfig[OnPin]) -> None:
    o = cfg.options
    if (pin := _pin(world, o.pin)) is not None:  # a module's output, active every ~minute
        world.tickers.append(
            Switch(world, pin, pull_up=o.pull_up, mean_gap_s=60.0, hold_s=(2.0, 10.0))
        )


def place_distance(world: SimWorld, cfg: SensorConfig[EchoWiring]) -> None:
    o = cfg.options
    echo = world.factory.pin(o.echo, pin_class=EchoLinePin)
    world.factory.pin(
        o.trigger, pin_class=EchoPin, echo_pin=echo, distance=lambda: world.env.distance
    )
