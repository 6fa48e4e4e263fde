"""SHT4x: datasheet formulas, the driver against the simulated chip, and every failure path."""

from __future__ import annotations

import errno

import pytest

from pi_dashboard.drivers import sht4x as drv
from pi_dashboard.drivers.sensirion import crc8, unpack_words
from pi_dashboard.errors import ChipError, ConfigError
from pi_dashboard.sensors.sht4x import identify
from pi_dashboard.sim.bus import SimI2CBus
from pi_dashboard.sim.chips.sht3x import SHT3xChip
from pi_dashboard.sim.chips.sht4x import SHT4xChip

T_RES = 175 / 65535
RH_RES = 125 / 65535
SENSOR = '[[sensors]]\nid = "s"\ntype = "sht4x"\n'


@pytest.fixture
def rig(world, clock):
    bus = SimI2CBus(1)
    chip = bus.attach(0x44, SHT4xChip(world.env, serial=0x12345678, clock=clock))
    driver = drv.SHT4x(bus, 0x44, sleep=clock.sleep, clock=clock)
    return clock, chip, driver


# --- datasheet formulas ------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "celsius"), [(0, -45.0), (0xFFFF, 130.0), (0x6666, 25.0)])
def test_temperature_formula(raw, celsius):
    assert drv.temperature_c(raw) == pytest.approx(celsius, abs=1e-9)


@pytest.mark.parametrize(
    ("raw", "percent"),
    [
        (0x8000, -6 + 125 * 0x8000 / 65535),  # 56.5009...
        (0x3146, -6 + 125 * 0x3146 / 65535),
        (0, 0.0),  # -6 %RH cropped to 0
        (0x0C49, 0.0),  # just under 0 %RH before cropping
        (0xFFFF, 100.0),  # 119 %RH cropped to 100
        (0xD916, 100.0),  # just over 100 %RH
    ],
)
def test_humidity_formula_is_cropped(raw, percent):
    assert drv.humidity_percent(raw) == pytest.approx(percent, abs=1e-9)


def test_crc_mismatch_names_the_word():
    t = bytes([0x66, 0x66, crc8(b"\x66\x66")])
    with pytest.raises(ChipError, match=r"CRC mismatch on humidity word \(got 0x00, expected 0x"):
        unpack_words(t + b"\x80\x00\x00", ("temperature", "humidity"))


# --- driver against the simulated chip ----------------------------------------------------


def test_driver_round_trip_serial_and_commands(world, rig):
    clock, chip, driver = rig
    world.env.set("temperature", 31.07)
    world.env.set("humidity", 37.5)
    assert driver.setup() == 0x12345678
    m = driver.measure()
    assert m.temperature_c == pytest.approx(31.07, abs=T_RES)
    assert m.humidity_percent == pytest.approx(37.5, abs=RH_RES)
    assert chip.commands == [
        drv.CMD_SOFT_RESET,
        drv.CMD_READ_SERIAL,
        drv.CMD_MEASURE_HIGH_PRECISION,
    ]
    assert drv.SOFT_RESET_S in clock.slept
    assert drv.MAX_MEASUREMENT_S["high"] in clock.slept


@pytest.mark.parametrize(("precision", "command"), [("medium", 0xF6), ("low", 0xE0)])
def test_precision_selects_the_command(rig, precision, command):
    clock, chip, default = rig
    driver = drv.SHT4x(default.bus, 0x44, precision=precision, sleep=clock.sleep, clock=clock)
    driver.measure()
    assert chip.commands[-1] == command
    assert drv.MAX_MEASUREMENT_S[precision] in clock.slept


@pytest.mark.parametrize("humidity", [0.5, 99.5])
def test_round_trip_near_the_ends_of_the_range(world, rig, humidity):
    _, _, driver = rig
    world.env.set("humidity", humidity)
    assert driver.measure().humidity_percent == pytest.approx(humidity, abs=RH_RES)


def test_always_busy_is_measurement_not_ready(rig):
    clock, chip, driver = rig
    driver.setup()
    chip.always_busy = True
    start = clock.now
    with pytest.raises(ChipError, match="measurement not ready"):
        driver.measure()
    assert clock.now - start < 0.1


def test_corrupt_crc_in_setup_names_the_serial_word(rig):
    _, chip, driver = rig
    chip.corrupt_crc = True
    with pytest.raises(ChipError, match="CRC mismatch on serial number high word"):
        driver.setup()


def test_identify_tells_sht4x_from_sht3x(world):
    bus = SimI2CBus(1)
    bus.attach(0x44, SHT4xChip(world.env))
    bus.attach(0x45, SHT3xChip(world.env))
    assert identify(bus, 0x44) is True
    assert identify(bus, 0x45) is False


# --- the sensor, built as the daemon builds it ----------------------------------------------


def test_sensor_round_trip_at_address_0x46(world, make_sensor):
    s = make_sensor(SENSOR + "address = 0x46\n")
    world.env.set("temperature", 4.2)
    world.env.set("humidity", 71.0)
    s.setup()
    values = s.read()
    assert values["temperature"] == pytest.approx(4.2, abs=T_RES)
    assert values["humidity"] == pytest.approx(71.0, abs=RH_RES)
    assert s.serial == world.bus(1).chips[0x46].serial


def test_sensor_unplugged_is_a_nack(world, make_sensor):
    s = make_sensor(SENSOR)
    s.setup()
    world.bus(1).unplug(0x44)
    with pytest.raises(OSError, match="Remote I/O") as e:
        s.read()
    assert e.value.errno == errno.EREMOTEIO


def test_sensor_corrupt_crc(world, make_sensor):
    s = make_sensor(SENSOR)
    s.setup()
    world.bus(1).chips[0x44].corrupt_crc = True
    with pytest.raises(ChipError, match="CRC mismatch on temperature word"):
        s.read()


def test_sensor_always_busy(world, make_sensor, fake_time):
    s = fake_time(make_sensor(SENSOR))
    s.setup()
    world.bus(1).chips[0x44].always_busy = True
    with pytest.raises(ChipError, match="measurement not ready"):
        s.read()


def test_channel_keys_checked_at_load(make_config):
    with pytest.raises(ConfigError, match="unknown channel"):
        make_config(SENSOR + "[sensors.channels.rh]\nscale = 1.0\n")
