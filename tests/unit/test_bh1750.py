"""BH1750: the datasheet's worked example and MTreg maths, the driver against the simulated chip's
opcode state machine, saturation, and the failure paths."""

from __future__ import annotations

import errno

import pytest

from pi_dashboard.drivers import bh1750 as drv
from pi_dashboard.errors import ChipError, ConfigError
from pi_dashboard.sim.bus import SimI2CBus
from pi_dashboard.sim.chips.bh1750 import BH1750Chip

SENSOR = '[[sensors]]\nid = "light"\ntype = "bh1750"\n'


@pytest.fixture
def chip(world, clock):
    return BH1750Chip(world.env, clock=clock)


def driver_for(chip, clock, **kw):
    bus = SimI2CBus(1)
    bus.attach(0x23, chip)
    return drv.BH1750(bus, 0x23, sleep=clock.sleep, **kw)


# --- datasheet ---------------------------------------------------------------------------


def test_datasheet_worked_example():
    # "I2C Bus Access": High Byte 1000_0011, Low Byte 1001_0000
    # -> (2^15 + 2^9 + 2^8 + 2^7 + 2^4) / 1.2 = 28067 lx
    raw = (0b1000_0011 << 8) | 0b1001_0000
    assert raw == 2**15 + 2**9 + 2**8 + 2**7 + 2**4 == 33680
    assert round(drv.lux(raw)) == 28067


@pytest.mark.parametrize(
    ("mtreg", "opcodes"),
    [(69, (0x42, 0x65)), (31, (0x40, 0x7F)), (254, (0x47, 0x7E)), (138, (0x44, 0x6A))],
)
def test_change_measurement_time_opcodes(mtreg, opcodes):
    # 01000_MT[7,6,5] then 011_MT[4,3,2,1,0]
    assert drv.change_measurement_time(mtreg) == opcodes


def test_mtreg_and_mode2_scale_the_result():
    assert drv.lux(1200) == pytest.approx(1000.0)
    assert drv.lux(1200, mtreg=138) == pytest.approx(500.0)  # twice the time, twice the counts
    assert drv.lux(1200, mode="high2") == pytest.approx(500.0)  # half-lux steps
    assert drv.lux(1200, mode="high2", mtreg=31) == pytest.approx(1000.0 * 69 / 31 / 2)


def test_measurement_time_scales_with_mtreg():
    assert drv.measurement_time_s() == pytest.approx(0.180)
    assert drv.measurement_time_s(mtreg=138) == pytest.approx(0.360)
    assert drv.measurement_time_s(mode="low", mtreg=69) == pytest.approx(0.024)


@pytest.mark.parametrize("mtreg", [30, 255])
def test_mtreg_outside_the_datasheet_range_is_refused(mtreg):
    with pytest.raises(ValueError, match="MTreg"):
        drv.change_measurement_time(mtreg)


# --- driver against the simulated chip ----------------------------------------------------


def test_setup_and_measure_opcodes(world, chip, clock):
    driver = driver_for(chip, clock)
    world.env.set("illuminance", 1234.5)
    driver.setup()
    assert chip.opcodes == [drv.POWER_ON, drv.RESET, 0x42, 0x65]
    assert driver.measure() == pytest.approx(1234.5, abs=1 / 1.2)
    assert chip.opcodes[4:] == [drv.POWER_ON, drv.ONE_TIME_H_RESOLUTION_MODE]
    assert clock.slept == [pytest.approx(0.180)]  # the maximum measurement time, not the typical
    assert not chip.powered  # one-time mode powered itself down


@pytest.mark.parametrize(
    ("mode", "mtreg", "resolution"),
    [("high", 69, 1 / 1.2), ("high2", 254, 69 / 254 / 1.2 / 2), ("low", 31, 69 / 31 / 1.2)],
)
def test_round_trip_in_every_mode(world, chip, clock, mode, mtreg, resolution):
    driver = driver_for(chip, clock, mode=mode, mtreg=mtreg)
    world.env.set("illuminance", 987.6)
    driver.setup()
    assert chip.mtreg == mtreg
    assert driver.measure() == pytest.approx(987.6, abs=resolution)


def test_a_driver_that_does_not_wait_reads_stale_data(world, chip, clock):
    # the chip has no ready flag: reading early returns the previous result (0 after reset)
    driver = driver_for(chip, clock)
    world.env.set("illuminance", 500.0)
    driver.setup()
    driver.opcode(drv.POWER_ON)
    driver.opcode(drv.ONE_TIME_H_RESOLUTION_MODE)
    assert driver.read_raw() == 0
    clock.sleep(0.180)
    assert driver.read_raw() == round(500.0 * 1.2)


def test_saturation_is_an_error_with_advice(world, chip, clock):
    driver = driver_for(chip, clock)
    world.env.set("illuminance", 60000.0)  # above 65535 / 1.2 = 54612 lx at MTreg 69
    driver.setup()
    with pytest.raises(
        ChipError,
        match=r"saturated: .*\(about 54612 lx\); lower mtreg \(31 reaches about 121555 lx\)",
    ):
        driver.measure()
    wide = driver_for(BH1750Chip(world.env, clock=clock), clock, mtreg=31)
    wide.setup()
    assert wide.measure() == pytest.approx(60000.0, abs=69 / 31 / 1.2)


# --- the sensor, built as the daemon builds it ----------------------------------------------


def test_sensor_round_trip(world, make_sensor):
    s = make_sensor(SENSOR + 'mode = "low"\n')  # 24 ms per read keeps the test quick
    assert s.worker == "i2c-1"
    world.env.set("illuminance", 4321.0)
    s.setup()
    assert s.read()["illuminance"] == pytest.approx(4321.0, abs=1 / 1.2)
    (meta,) = s.channels
    assert meta.unit == "lx"
    assert meta.valid_range == (0.0, pytest.approx(54611.7, abs=0.1))


def test_sensor_saturated_via_fake_clock(world, make_sensor, fake_time):
    s = fake_time(make_sensor(SENSOR + "address = 0x5c\n"))
    world.env.set("illuminance", 65000.0)
    s.setup()
    with pytest.raises(ChipError, match="saturated"):
        s.read()


def test_sensor_unplugged_is_a_nack(world, make_sensor):
    s = make_sensor(SENSOR)
    world.bus(1).unplug(0x23)
    with pytest.raises(OSError, match="Remote I/O") as e:
        s.setup()
    assert e.value.errno == errno.EREMOTEIO


def test_bad_mtreg_and_mode(make_config):
    with pytest.raises(ConfigError, match=r"sensors\[0\]\.mtreg: must be 31\.\.254"):
        make_config(SENSOR + "mtreg = 300\n")
    with pytest.raises(ConfigError, match=r"sensors\[0\]\.mode"):
        make_config(SENSOR + 'mode = "ultra"\n')


def test_channel_keys_checked_at_load(make_config):
    make_config(SENSOR + "[sensors.channels.illuminance]\nscale = 1.1\n")
    with pytest.raises(ConfigError, match="unknown channel"):
        make_config(SENSOR + "[sensors.channels.lux]\nscale = 1.1\n")
