"""SHT3x: datasheet vectors, the driver against the simulated chip, and every failure path."""

from __future__ import annotations

import errno

import pytest

from pi_dashboard.drivers import sht3x as drv
from pi_dashboard.drivers.sensirion import crc8, read_when_ready, unpack_words
from pi_dashboard.errors import ChipError, ConfigError
from pi_dashboard.hw.i2c import i2c_msg
from pi_dashboard.sensors.sht3x import identify
from pi_dashboard.sim.bus import SimI2CBus
from pi_dashboard.sim.chips.sensirion import crc8_word
from pi_dashboard.sim.chips.sht3x import HEATER_ON, SHT3xChip
from pi_dashboard.sim.chips.sht4x import SHT4xChip

T_RES = 175 / 65535
RH_RES = 100 / 65535
SENSOR = '[[sensors]]\nid = "s"\ntype = "sht3x"\n'


@pytest.fixture
def rig(world, clock):
    bus = SimI2CBus(1)
    chip = bus.attach(0x44, SHT3xChip(world.env, clock=clock))
    driver = drv.SHT3x(bus, 0x44, sleep=clock.sleep, clock=clock)
    return clock, chip, driver


# --- datasheet vectors ---------------------------------------------------------------------


def test_crc_datasheet_example():
    # Table 20: CRC(0xBEEF) = 0x92, both in the driver and (computed differently) in the sim
    assert crc8(bytes([0xBE, 0xEF])) == 0x92
    assert crc8_word(0xBEEF) == 0x92
    assert crc8(bytes([0x00, 0x00])) == 0x81


@pytest.mark.parametrize(
    ("raw", "celsius"),
    [(0, -45.0), (0xFFFF, 130.0), (0x6666, 25.0), (0x3FFF, -45 + 175 * 0x3FFF / 65535)],
)
def test_temperature_formula(raw, celsius):
    assert drv.temperature_c(raw) == pytest.approx(celsius, abs=1e-9)


@pytest.mark.parametrize(("raw", "percent"), [(0, 0.0), (0xFFFF, 100.0), (0x8000, 50.000763)])
def test_humidity_formula(raw, percent):
    assert drv.humidity_percent(raw) == pytest.approx(percent, abs=1e-6)


def test_crc_mismatch_names_the_word():
    good_t = bytes([0x66, 0x66, crc8(b"\x66\x66")])
    bad_rh = bytes([0x80, 0x00, 0x12])
    with pytest.raises(ChipError, match=r"CRC mismatch on humidity word \(got 0x12, expected 0x"):
        unpack_words(good_t + bad_rh, ("temperature", "humidity"))
    assert unpack_words(good_t + bytes([0x80, 0x00, crc8(b"\x80\x00")]), ("t", "rh")) == (
        0x6666,
        0x8000,
    )


# --- driver against the simulated chip ----------------------------------------------------


def test_driver_round_trip_and_commands(world, rig):
    clock, chip, driver = rig
    world.env.set("temperature", 23.456)
    world.env.set("humidity", 61.23)
    driver.setup()
    m = driver.measure()
    assert m.temperature_c == pytest.approx(23.456, abs=T_RES)
    assert m.humidity_percent == pytest.approx(61.23, abs=RH_RES)
    assert chip.commands == [
        drv.CMD_SOFT_RESET,
        drv.CMD_HEATER_DISABLE,
        drv.CMD_READ_STATUS,
        drv.CMD_MEASURE_HIGH_REP,
    ]
    assert drv.MAX_MEASUREMENT_S["high"] in clock.slept  # waited the datasheet's maximum


@pytest.mark.parametrize(
    ("repeatability", "command"), [("medium", 0x240B), ("low", 0x2416), ("high", 0x2400)]
)
def test_repeatability_selects_the_command(rig, repeatability, command):
    clock, chip, default = rig
    driver = drv.SHT3x(
        default.bus, 0x44, repeatability=repeatability, sleep=clock.sleep, clock=clock
    )
    driver.measure()
    assert chip.commands[-1] == command


def test_setup_turns_a_left_on_heater_off(rig):
    _, chip, driver = rig
    chip.status |= HEATER_ON
    status = driver.setup()
    assert not status & drv.STATUS_HEATER_ON
    assert not chip.status & HEATER_ON


def test_read_too_early_is_nacked_then_retried(rig):
    clock, _, driver = rig
    driver.command(drv.CMD_MEASURE_HIGH_REP)
    with pytest.raises(OSError, match="Remote I/O") as e:  # NACKed while measuring
        driver.bus.i2c_rdwr(i2c_msg.read(0x44, 6))
    assert e.value.errno == errno.EREMOTEIO
    data = read_when_ready(driver.bus, 0x44, 6, max_duration_s=0.0, sleep=clock.sleep, clock=clock)
    assert len(data) == 6
    assert len(clock.slept) > 2  # polled until the conversion finished


def test_always_busy_is_measurement_not_ready(rig):
    clock, chip, driver = rig
    driver.setup()
    chip.always_busy = True
    start = clock.now
    with pytest.raises(ChipError, match="measurement not ready"):
        driver.measure()
    assert clock.now - start < 0.1  # bounded, not forever


def test_corrupt_crc_in_setup_names_the_status_word(rig):
    _, chip, driver = rig
    chip.corrupt_crc = True
    with pytest.raises(ChipError, match="CRC mismatch on status word"):
        driver.setup()


def test_identify_tells_sht3x_from_sht4x(world):
    bus = SimI2CBus(1)
    bus.attach(0x44, SHT3xChip(world.env))
    bus.attach(0x45, SHT4xChip(world.env))
    assert identify(bus, 0x44) is True
    assert identify(bus, 0x45) is False


# --- the sensor, built as the daemon builds it ----------------------------------------------


def test_sensor_round_trip(world, make_sensor):
    s = make_sensor(SENSOR)
    assert s.worker == "i2c-1"
    world.env.set("temperature", -12.5)
    world.env.set("humidity", 88.8)
    s.setup()
    values = s.read()
    assert values["temperature"] == pytest.approx(-12.5, abs=T_RES)
    assert values["humidity"] == pytest.approx(88.8, abs=RH_RES)
    assert [c.id for c in s.channels] == ["temperature", "humidity"]


def test_sensor_unplugged_is_a_nack(world, make_sensor):
    s = make_sensor(SENSOR)
    s.setup()
    world.bus(1).unplug(0x44)
    with pytest.raises(OSError, match="Remote I/O") as e:
        s.read()
    assert e.value.errno == errno.EREMOTEIO
    with pytest.raises(OSError, match="Remote I/O"):
        s.setup()
    world.bus(1).plug(0x44)
    s.setup()
    assert set(s.read()) == {"temperature", "humidity"}


def test_sensor_corrupt_crc_names_the_temperature_word(world, make_sensor):
    s = make_sensor(SENSOR)
    s.setup()
    world.bus(1).chips[0x44].corrupt_crc = True
    with pytest.raises(ChipError, match=r"CRC mismatch on temperature word \(got 0x.., expected"):
        s.read()


def test_sensor_always_busy(world, make_sensor, fake_time):
    s = fake_time(make_sensor(SENSOR + 'repeatability = "low"\n'))
    s.setup()
    world.bus(1).chips[0x44].always_busy = True
    with pytest.raises(ChipError, match="measurement not ready"):
        s.read()


def test_bad_repeatability(make_config):
    with pytest.raises(ConfigError, match=r"sensors\[0\]\.repeatability"):
        make_config(SENSOR + 'repeatability = "ultra"\n')


def test_channel_keys_checked_at_load(make_config):
    with pytest.raises(ConfigError, match="unknown channel") as e:
        make_config(SENSOR + "[sensors.channels.temprature]\noffset = -0.5\n")
    assert e.value.field == "sensors[0].channels.temprature"
    make_config(SENSOR + "[sensors.channels.temperature]\noffset = -0.5\n")
