"""DHT22/DHT11 through the kernel's IIO files: good reads, the bounded retry on real EIO reads
(the simulated attribute links to /proc/self/mem), device lookup, and plausibility."""

from __future__ import annotations

import errno

import pytest

from pi_dashboard.drivers.dht import RETRY_PAUSE_S
from pi_dashboard.errors import ConfigError, SensorError
from pi_dashboard.sim.iio import iio


def dht(make_sensor, world, extra="gpio = 4", type_="dht22"):
    sensor = make_sensor(f'[[sensors]]\nid = "h"\ntype = "{type_}"\n{extra}\n')
    return sensor, next(iter(iio(world).devices.values()))


class Sleeps:
    """The injected sleep: records every pause and can act on the world during one."""

    def __init__(self, on_sleep=None):
        self.calls: list[float] = []
        self.on_sleep = on_sleep

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.on_sleep:
            self.on_sleep(len(self.calls))


def test_simulated_failure_is_a_real_eio(make_sensor, world):
    _, dev = dht(make_sensor, world)
    dev.failing = True
    dev.update()
    with pytest.raises(OSError) as e:  # noqa: PT011 - the errno is the point
        (dev.path / "in_temp_input").read_text()
    assert e.value.errno == errno.EIO


def test_good_read(make_sensor, world):
    sensor, dev = dht(make_sensor, world)
    world.env.set("temperature", 23.44)
    world.env.set("humidity", 51.26)
    world.tick(0)
    assert (dev.path / "name").read_text() == "dht11@4\n"
    assert (dev.path / "in_temp_input").read_text() == "23400\n"  # DHT22: tenths
    sensor.sleep = Sleeps()
    assert sensor.read() == {"temperature": 23.4, "humidity": 51.3}
    assert sensor.sleep.calls == []
    assert sensor.worker == "dht-h"


def test_dht11_reads_whole_units(make_sensor, world):
    sensor, _ = dht(make_sensor, world, type_="dht11")
    world.env.set("temperature", 23.44)
    world.env.set("humidity", 51.6)
    world.tick(0)
    assert sensor.read() == {"temperature": 23.0, "humidity": 52.0}
    assert [c.precision for c in sensor.channels] == [0, 0]


def test_eio_twice_then_a_value(make_sensor, world):
    sensor, dev = dht(make_sensor, world)
    world.env.set("temperature", 19.0)
    dev.failing = True
    world.tick(0)

    def heal(n):
        if n == 2:
            dev.failing = False
            dev.update()

    sensor.sleep = Sleeps(heal)
    assert sensor.read() == {"temperature": 19.0, "humidity": 45.0}
    assert sensor.sleep.calls == [RETRY_PAUSE_S, RETRY_PAUSE_S]  # 3 tries, 2 s apart


def test_always_eio_gives_up_after_n_tries_without_spinning(make_sensor, world):
    sensor, dev = dht(make_sensor, world, extra="gpio = 4\ntries = 4\ninterval = 15")
    dev.failing = True
    world.tick(0)
    sensor.sleep = Sleeps()
    with pytest.raises(SensorError, match=r"^no valid reading after 4 tries \(EIO\)$"):
        sensor.read()
    assert sensor.sleep.calls == [RETRY_PAUSE_S] * 3
    assert RETRY_PAUSE_S >= 2.0  # the DHT22 needs 2 s between measurements


def test_tries_are_cut_to_fit_the_read_timeout(make_sensor, world):
    sensor, dev = dht(make_sensor, world, extra="gpio = 4\ntries = 5\ninterval = 2")
    dev.failing = True
    world.tick(0)
    sensor.sleep = Sleeps()
    with pytest.raises(SensorError, match=r"after 1 try \(EIO\)"):
        sensor.read()
    assert sensor.sleep.calls == []


def test_implausible_values_count_as_failed_tries(make_sensor, world):
    sensor, dev = dht(make_sensor, world, type_="dht11")
    world.env.set("temperature", 60.0)  # the simulated DHT11 clamps to its 0..50 °C ...
    world.tick(0)
    (dev.path / "in_temp_input").write_text("61000\n")  # ... but a garbled frame need not
    sensor.sleep = Sleeps()
    with pytest.raises(SensorError, match="implausible DHT11 temperature 61 °C"):
        sensor.read()
    assert len(sensor.sleep.calls) == 2


@pytest.mark.parametrize(
    ("extra", "found"),
    [("gpio = 17", "dht11@11"), ("device = 0", "dht11@4"), ('device = "dht11@1b"', "dht11@1b")],
)
def test_device_lookup(make_config, world, extra, found):
    from pi_dashboard.sensors.dht import DhtSensor

    devices = iio(world)
    devices.add_dht("dht22", name="dht11@4")
    devices.add_dht("dht22", name="dht11@11")
    devices.add_dht("dht22", name="dht11@1b")
    config = make_config(f'[[sensors]]\nid = "h"\ntype = "dht22"\n{extra}\n')
    sensor = DhtSensor(config.sensors[0], world.hardware())
    assert sensor.find_device().name() == found


def test_lookup_errors_say_what_is_there(make_config, world):
    from pi_dashboard.sensors.dht import DhtSensor

    def sensor(extra):
        config = make_config(f'[[sensors]]\nid = "h"\ntype = "dht22"\n{extra}\n')
        return DhtSensor(config.sensors[0], world.hardware())

    with pytest.raises(SensorError, match=r"found: none\); is dtoverlay=dht11,gpiopin=4 in"):
        sensor("").setup()
    iio(world).add_dht("dht22", name="dht11@4")
    iio(world).add_dht("dht22", name="dht11@11")
    with pytest.raises(SensorError, match=r"several DHT devices \(dht11@4, dht11@11\): set gpio"):
        sensor("").setup()
    with pytest.raises(SensorError, match=r"no dht11@16 \(GPIO 22\) .*,gpiopin=22 in"):
        sensor("gpio = 22").setup()


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ("gpio = 60", "sensors[0].gpio", "not a BCM GPIO"),
        ("gpio = 4\ndevice = 0", "sensors[0].device", "not both"),
        ("tries = 0", "sensors[0].tries", "1 to 10"),
        ("interval = 1", "sensors[0].interval", "too short"),
    ],
)
def test_config_errors(make_config, extra, field, message):
    with pytest.raises(ConfigError, match=message) as e:
        make_config(f'[[sensors]]\nid = "h"\ntype = "dht22"\n{extra}\n')
    assert e.value.field == field
