"""GPIO sensor types over gpiozero's MockFactory, with pins wired by `sim/gpio.py`.

Edges are driven with `world.factory.pin(n).drive_low()/drive_high()`. Button and contact edges
reach `push` synchronously (MockPin calls gpiozero's callbacks in the driving thread); the PIR
and the HC-SR04 go through gpiozero's queue threads, so those tests wait on an event, with a
timeout, instead of sleeping.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace

import pytest
from gpiozero import Factory
from waiting import wait_until

from pi_dashboard.config import Config
from pi_dashboard.errors import ConfigError, SensorError
from pi_dashboard.model import DeviceClass, Reading, StateClass, Value
from pi_dashboard.polling import Poller
from pi_dashboard.sensors.base import Sensor
from pi_dashboard.sensors.registry import TYPES
from pi_dashboard.sim.gpio import EchoPin
from pi_dashboard.sim.world import SimWorld
from pi_dashboard.state import State


class Pushes:
    """Collects what a sensor pushes (from any thread) and lets a test wait for a value."""

    def __init__(self) -> None:
        self.values: list[dict[str, Value]] = []

    def __call__(self, values: Mapping[str, Value]) -> None:
        self.values.append(dict(values))  # list.append is atomic: no lock

    def wait_for(self, expected: Mapping[str, Value]) -> None:
        wait_until(
            lambda: dict(expected) in self.values, what=lambda: f"{expected} in {self.values}"
        )


@pytest.fixture
def gpio_sensor(make_sensor: Callable[[str], Sensor]):
    """make_sensor, then setup() and watch(); every sensor is closed after the test."""
    made: list[Sensor] = []

    def make(text: str) -> tuple[Sensor, Pushes]:
        s = make_sensor(text)
        made.append(s)
        s.setup()
        pushes = Pushes()
        s.watch(pushes)
        return s, pushes

    yield make
    for s in made:
        s.close()


# --- button ----------------------------------------------------------------------------------


def test_button_press_and_release_push_at_once(gpio_sensor, world: SimWorld):
    s, pushes = gpio_sensor('[[sensors]]\nid = "b"\ntype = "button"\npin = 17\n')
    pin = world.factory.pin(17)
    assert s.read() == {"pressed": False, "presses": 0}

    pin.drive_low()  # pull-up wiring: pressing connects the pin to GND
    assert pushes.values == [{"pressed": True, "presses": 1}]  # no poll in between
    assert s.read() == {"pressed": True, "presses": 1}

    pin.drive_high()
    assert pushes.values[-1] == {"pressed": False}
    assert s.read() == {"pressed": False, "presses": 1}


def test_button_counts_presses(gpio_sensor, world: SimWorld):
    s, pushes = gpio_sensor('[[sensors]]\nid = "b"\ntype = "button"\npin = 5\n')
    pin = world.factory.pin(5)
    for _ in range(3):
        pin.drive_low()
        pin.drive_high()
    assert s.read()["presses"] == 3
    assert [v["presses"] for v in pushes.values if v["pressed"]] == [1, 2, 3]
    presses = next(c for c in s.channels if c.id == "presses")
    assert presses.state_class is StateClass.TOTAL_INCREASING


def test_button_with_pull_down_is_pressed_when_high(gpio_sensor, world: SimWorld):
    s, pushes = gpio_sensor('[[sensors]]\nid = "b"\ntype = "button"\npin = 6\npull_up = false\n')
    assert s.read()["pressed"] is False
    world.factory.pin(6).drive_high()
    assert pushes.values == [{"pressed": True, "presses": 1}]


def test_setup_is_idempotent_and_close_frees_the_pin(gpio_sensor, make_sensor, world: SimWorld):
    s, _ = gpio_sensor('[[sensors]]\nid = "b"\ntype = "button"\npin = 17\n')
    device = s.device
    s.setup()
    assert s.device is device
    s.close()
    with pytest.raises(SensorError):
        s.read()
    other = make_sensor('[[sensors]]\nid = "d"\ntype = "digital_in"\npin = 17\n')
    other.setup()  # the pin was released
    other.close()


# --- contact ---------------------------------------------------------------------------------


def test_contact_closed_door_reads_closed_and_opening_pushes(gpio_sensor, world: SimWorld):
    s, pushes = gpio_sensor('[[sensors]]\nid = "door"\ntype = "contact"\npin = 27\n')
    # the simulated door starts closed: the reed switch holds the pin at GND against the pull-up
    assert s.read() == {"open": False}
    world.factory.pin(27).drive_high()  # magnet gone, switch opens, pull-up wins
    assert pushes.values == [{"open": True}]
    assert s.read() == {"open": True}
    world.factory.pin(27).drive_low()
    assert pushes.values[-1] == {"open": False}
    assert s.channels[0].device_class is DeviceClass.DOOR


def test_contact_invert_means_open_when_circuit_closed(gpio_sensor, world: SimWorld):
    s, pushes = gpio_sensor(
        '[[sensors]]\nid = "w"\ntype = "contact"\npin = 26\ninvert = true\n'
        'device_class = "window"\n'
    )
    assert s.read() == {"open": False}  # normally-closed reed, door shut: circuit open, pin high
    world.factory.pin(26).drive_low()  # circuit closed
    assert pushes.values == [{"open": True}]
    assert s.read() == {"open": True}
    assert s.channels[0].device_class is DeviceClass.WINDOW


def test_contact_device_class_must_be_known(make_config):
    with pytest.raises(ConfigError) as e:
        make_config('[[sensors]]\nid = "c"\ntype = "contact"\npin = 4\ndevice_class = "lid"\n')
    assert e.value.field == "sensors[0].device_class"


# --- motion ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "queue", ["", "queue_len = 3\nsample_rate = 50\n"], ids=["edges", "sampled"]
)
def test_motion_edges_are_pushed(gpio_sensor, world: SimWorld, queue):
    s, pushes = gpio_sensor(f'[[sensors]]\nid = "pir"\ntype = "motion"\npin = 22\n{queue}')
    assert s.read() == {"motion": False}
    world.factory.pin(22).drive_high()  # the HC-SR501 raises OUT
    pushes.wait_for({"motion": True})
    assert s.read() == {"motion": True}
    world.factory.pin(22).drive_low()
    pushes.wait_for({"motion": False})
    assert s.channels[0].device_class is DeviceClass.MOTION


# --- digital_in ------------------------------------------------------------------------------


def test_digital_in_state_invert_and_device_class(gpio_sensor, world: SimWorld):
    s, pushes = gpio_sensor(
        '[[sensors]]\nid = "leak"\ntype = "digital_in"\npin = 12\ndevice_class = "moisture"\n'
    )
    assert s.read() == {"state": False}  # pull-down by default
    world.factory.pin(12).drive_high()
    assert pushes.values == [{"state": True}]
    assert s.channels[0].device_class is DeviceClass.MOISTURE

    s2, pushes2 = gpio_sensor(
        '[[sensors]]\nid = "ok"\ntype = "digital_in"\npin = 13\npull_up = true\ninvert = true\n'
    )
    # pull-up: active low, so an idle (high) pin is inactive, and inverted reads true
    assert s2.read() == {"state": True}
    world.factory.pin(13).drive_low()
    assert pushes2.values == [{"state": False}]


@pytest.mark.parametrize(
    "toml",
    [
        'type = "button"\npin = 17',
        'type = "contact"\npin = 27',
        'type = "digital_in"\npin = 5',
        'type = "motion"\npin = 22',
    ],
)
def test_switches_start_no_thread(gpio_sensor, toml):
    """Edge-driven: nothing wakes between edges (gpiozero's `Button` would add a hold thread
    that wakes ten times a second, its `MotionSensor` a thread sampling ten times a second)."""
    threads = threading.active_count()
    gpio_sensor(f'[[sensors]]\nid = "s"\n{toml}\n')
    assert threading.active_count() == threads


# --- distance --------------------------------------------------------------------------------


def test_distance_reads_the_simulated_distance(gpio_sensor, world: SimWorld):
    world.env.set("distance", 0.8)
    s, _ = gpio_sensor('[[sensors]]\nid = "sonar"\ntype = "distance"\ntrigger = 23\necho = 24\n')
    values = s.read()
    assert values["in_range"] is True
    assert values["distance"] == pytest.approx(0.8, abs=0.001)
    meta = next(c for c in s.channels if c.id == "distance")
    assert (meta.unit, meta.precision, meta.valid_range) == ("m", 3, (0.0, 2.0))


def test_distance_pings_only_when_polled(gpio_sensor, world: SimWorld):
    """gpiozero's DistanceSensor pings every 60 ms on a thread of its own; ours pings `queue_len`
    times per poll, from the poll's thread, and nothing runs in between."""
    world.env.set("distance", 1.2)
    threads = threading.active_count()
    s, _ = gpio_sensor(
        '[[sensors]]\nid = "sonar"\ntype = "distance"\ntrigger = 23\necho = 24\nqueue_len = 3\n'
    )
    trigger = world.factory.pin(23)
    pulses = lambda: sum(st.state for st in trigger.states)  # noqa: E731 - rising edges
    assert threading.active_count() == threads, "setup started a thread"
    assert pulses() == 0, "it pinged before any poll"
    assert s.read()["distance"] == pytest.approx(1.2, abs=0.001)
    assert pulses() == 3
    assert threading.active_count() == threads
    s.read()
    assert pulses() == 6


def test_distance_beyond_max_is_out_of_range(gpio_sensor, world: SimWorld):
    world.env.set("distance", 3.0)
    s, _ = gpio_sensor(
        '[[sensors]]\nid = "sonar"\ntype = "distance"\ntrigger = 23\necho = 24\n'
        "max_distance = 2.0\nqueue_len = 1\n"
    )
    assert s.read() == {"in_range": False}  # no distance rather than a made-up 2.0 m


@pytest.mark.filterwarnings("ignore::gpiozero.exc.DistanceSensorNoEcho")
def test_distance_without_echo_is_an_error(make_sensor, world: SimWorld):
    s = make_sensor(
        '[[sensors]]\nid = "sonar"\ntype = "distance"\ntrigger = 23\necho = 24\nqueue_len = 1\n'
    )
    trigger = world.factory.pin(23)
    assert isinstance(trigger, EchoPin)
    trigger.connected = False  # unplugged: pings go unanswered
    s.setup()
    try:
        with pytest.raises(SensorError, match="no echo from the HC-SR04"):
            s.read()
    finally:
        s.close()


def test_distance_pins_must_differ(make_config):
    with pytest.raises(ConfigError) as e:
        make_config('[[sensors]]\nid = "d"\ntype = "distance"\ntrigger = 23\necho = 23\n')
    assert e.value.field == "sensors[0].echo"


# --- configuration and conflicts -------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ('type = "button"\npin = 40', "sensors[0].pin"),
        ('type = "contact"\npin = -1', "sensors[0].pin"),
        ('type = "motion"\npin = 28', "sensors[0].pin"),
        ('type = "digital_in"\npin = 99', "sensors[0].pin"),
        ('type = "distance"\ntrigger = 40\necho = 24', "sensors[0].trigger"),
        ('type = "button"\npin = 17\nbounce_time = 5.0', "sensors[0].bounce_time"),
        ('type = "motion"\npin = 17\nthreshold = 1.0', "sensors[0].threshold"),
        ('type = "distance"\ntrigger = 23\necho = 24\nmax_distance = 0', "sensors[0].max_distance"),
    ],
)
def test_bad_options_name_the_field(make_config, table, field):
    with pytest.raises(ConfigError) as e:
        make_config(f'[[sensors]]\nid = "x"\n{table}\n')
    assert e.value.field == field
    if field.endswith("pin"):
        assert "BCM 0-27" in str(e.value)


def test_two_sensors_on_one_pin_fail_clearly_at_setup(make_config, world: SimWorld):
    config = make_config(
        '[[sensors]]\nid = "a"\ntype = "button"\npin = 17\n'
        '[[sensors]]\nid = "b"\ntype = "contact"\npin = 17\n'
    )
    world.populate(config, TYPES)
    first, second = (TYPES[c.type].create(c, world.hardware()) for c in config.sensors)
    first.setup()
    try:
        with pytest.raises(SensorError, match=r"GPIO17 is already in use"):
            second.setup()
    finally:
        first.close()
        second.close()


def test_pin_library_errors_become_one_line(make_config, world: SimWorld):
    (cfg,) = make_config('[[sensors]]\nid = "b"\ntype = "button"\npin = 17\n').sensors

    class LgpioError(Exception):
        pass

    LgpioError.__module__ = "lgpio"  # what lgpio raises for "GPIO busy"

    def busy() -> Factory:
        raise LgpioError("GPIO busy")

    s = TYPES["button"].create(cfg, replace(world.hardware(), pin_factory=busy))
    with pytest.raises(SensorError, match=r"^GPIO17: GPIO busy \(held by a kernel driver"):
        s.setup()

    def bug() -> Factory:
        raise KeyError("a bug")

    s = TYPES["button"].create(cfg, replace(world.hardware(), pin_factory=bug))
    with pytest.raises(KeyError):  # anything else is a bug and keeps its traceback
        s.setup()


# --- simulation ------------------------------------------------------------------------------


def test_frozen_world_tickers_leave_pins_alone(make_config, world: SimWorld):
    config = make_config(
        '[[sensors]]\nid = "b"\ntype = "button"\npin = 17\n'
        '[[sensors]]\nid = "door"\ntype = "contact"\npin = 27\n'
        '[[sensors]]\nid = "pir"\ntype = "motion"\npin = 22\n'
    )
    world.populate(config, TYPES)
    before = [world.factory.pin(n).state for n in (17, 27, 22)]
    world.tick(0.5)
    for _ in range(2000):  # ~17 simulated minutes
        for ticker in world.tickers:
            ticker(0.5)
    assert [world.factory.pin(n).state for n in (17, 27, 22)] == before
    assert all(len(world.factory.pin(n).states) == 1 for n in (17, 27, 22))  # never changed


def test_live_world_presses_the_button_and_opens_the_door(make_config, world: SimWorld):
    config = make_config(
        '[[sensors]]\nid = "b"\ntype = "button"\npin = 17\n'
        '[[sensors]]\nid = "door"\ntype = "contact"\npin = 27\n'
        '[[sensors]]\nid = "pir"\ntype = "motion"\npin = 22\n'
        '[[sensors]]\nid = "in"\ntype = "digital_in"\npin = 12\n'
    )
    world.populate(config, TYPES)
    sensors = [TYPES[c.type].create(c, world.hardware()) for c in config.sensors]
    for s in sensors:
        s.setup()  # the pull resistors are on: an open switch now reads as the pull says
    world.frozen = False
    levels: dict[int, set[bool]] = {17: set(), 27: set(), 22: set(), 12: set()}
    door_shut = 0
    try:
        for _ in range(2000):  # tickers only: the environment's drift is not tested here
            for ticker in world.tickers:
                ticker(0.5)
            for n, seen in levels.items():
                seen.add(world.factory.pin(n).state)
            door_shut += not sensors[1].read()["open"]
        assert sensors[0].read()["presses"] > 0
    finally:
        for s in sensors:
            s.close()
    assert all(seen == {True, False} for seen in levels.values()), levels
    assert door_shut > 1500  # a door is shut most of the time: open ~17 s every ~2 min


# --- with the real poller --------------------------------------------------------------------


async def test_poller_publishes_a_press_long_before_the_next_poll(
    make_config: Callable[[str], Config], world: SimWorld
):
    config = make_config('[[sensors]]\nid = "b"\ntype = "button"\npin = 17\ninterval = 10\n')
    world.populate(config, TYPES)
    state = State()
    readings: asyncio.Queue[Reading] = asyncio.Queue()
    state.subscribe(readings.put_nowait)
    poller = Poller(config, TYPES, world.hardware(), state)
    poller.start()
    try:
        first = await asyncio.wait_for(readings.get(), 2.0)  # the first poll, right away
        assert first.values == {"pressed": False, "presses": 0}
        t0 = time.monotonic()
        world.factory.pin(17).drive_low()
        edge = await asyncio.wait_for(readings.get(), 1.0)
        assert time.monotonic() - t0 < 1.0  # the next poll is 10 s away
        assert edge.values == {"pressed": True, "presses": 1}
        assert state.sensors["b"].channels["pressed"].value is True
        world.factory.pin(17).drive_high()
        release = await asyncio.wait_for(readings.get(), 1.0)
        assert release.values == {"pressed": False}
    finally:
        await poller.stop()
