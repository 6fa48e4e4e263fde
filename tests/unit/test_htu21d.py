"""HTU21D / Si7021: the datasheet's CRC examples and formulas, the driver against the simulated
chip (no-hold NACKs, status bits, user register), and the failure paths."""

from __future__ import annotations

import errno

import pytest

from pi_dashboard.drivers import htu21d as drv
from pi_dashboard.drivers.sensirion import crc8, unpack_words
from pi_dashboard.errors import ChipError, ConfigError
from pi_dashboard.sim.bus import SimI2CBus
from pi_dashboard.sim.chips.htu21d import HEATER, HTU21DChip
from pi_dashboard.sim.chips.sensirion import crc8_word

T_RES = 175.72 / 16384  # 14-bit temperature
RH_RES = 125 / 4096  # 12-bit humidity
SENSOR = '[[sensors]]\nid = "bath"\ntype = "htu21d"\n'


@pytest.fixture
def rig(world, clock):
    bus = SimI2CBus(1)
    chip = bus.attach(0x40, HTU21DChip(world.env, clock=clock))
    return clock, chip, drv.HTU21D(bus, 0x40, sleep=clock.sleep, clock=clock)


@pytest.mark.parametrize(
    ("data", "crc"), [(b"\xdc", 0x79), (b"\x68\x3a", 0x7C), (b"\x4e\x85", 0x6B)]
)
def test_crc_datasheet_examples(data, crc):
    # polynomial x^8 + x^5 + x^4 + 1, initialisation 0x00 (not the SHT3x's 0xFF)
    assert crc8(data, init=drv.CRC_INIT) == crc
    if len(data) == 2:
        assert crc8_word(int.from_bytes(data, "big"), init=0x00) == crc


def test_formulas_mask_the_status_bits():
    # 0x683A: status bits 10 cleared -> 0x6838 = 26680 -> 24.69 °C
    assert drv.temperature_c(0x683A) == pytest.approx(-46.85 + 175.72 * 26680 / 65536)
    assert drv.temperature_c(0x683A) == pytest.approx(24.69, abs=0.01)
    # 0x4E85: status bits cleared -> 0x4E84 = 20100 -> 32.34 %RH
    assert drv.humidity_percent(0x4E85) == pytest.approx(-6 + 125 * 20100 / 65536)
    assert drv.humidity_percent(0x4E85) == pytest.approx(32.34, abs=0.01)
    assert drv.humidity_percent(0x0000) == 0.0  # -6 % cropped
    assert drv.humidity_percent(0xFFFF) == 100.0  # 119 % cropped


def test_crc_mismatch_names_the_word():
    with pytest.raises(
        ChipError, match=r"CRC mismatch on humidity word \(got 0x00, expected 0x6b\)"
    ):
        unpack_words(b"\x4e\x85\x00", ("humidity",), init=0x00)


def test_driver_round_trip_and_commands(world, rig):
    clock, chip, driver = rig
    world.env.set("temperature", 19.87)
    world.env.set("humidity", 55.5)
    assert driver.setup() == 0x02
    m = driver.measure()
    assert m.temperature_c == pytest.approx(19.87, abs=T_RES)
    assert m.humidity_percent == pytest.approx(55.5, abs=RH_RES)
    assert chip.commands == [0xFE, 0xE7, 0xF3, 0xF5]
    assert drv.SOFT_RESET_S in clock.slept
    assert drv.MAX_T_MEASUREMENT_S in clock.slept
    assert drv.MAX_RH_MEASUREMENT_S in clock.slept


def test_setup_switches_off_a_heater_that_survived_the_reset(rig):
    _, chip, driver = rig
    chip.user_register |= HEATER
    assert not driver.setup() & drv.ENABLE_HEATER
    assert not chip.user_register & HEATER
    assert chip.commands[-1] == drv.WRITE_USER_REGISTER


def test_always_busy_is_measurement_not_ready(rig):
    clock, chip, driver = rig
    driver.setup()
    chip.always_busy = True
    start = clock.now
    with pytest.raises(ChipError, match="measurement not ready"):
        driver.measure()
    assert clock.now - start < 0.2


def test_sensor_round_trip(world, make_sensor, fake_time):
    s = fake_time(make_sensor(SENSOR))
    assert s.worker == "i2c-1"
    world.env.set("temperature", 30.0)
    world.env.set("humidity", 12.0)
    s.setup()
    values = s.read()
    assert values["temperature"] == pytest.approx(30.0, abs=T_RES)
    assert values["humidity"] == pytest.approx(12.0, abs=RH_RES)


def test_sensor_corrupt_crc(world, make_sensor, fake_time):
    s = fake_time(make_sensor(SENSOR))
    s.setup()
    world.bus(1).chips[0x40].corrupt_crc = True
    with pytest.raises(ChipError, match="CRC mismatch on temperature word"):
        s.read()


def test_sensor_unplugged_is_a_nack(world, make_sensor):
    s = make_sensor(SENSOR)
    world.bus(1).unplug(0x40)
    with pytest.raises(OSError, match="Remote I/O") as e:
        s.setup()
    assert e.value.errno == errno.EREMOTEIO


def test_channel_keys_checked_at_load(make_config):
    with pytest.raises(ConfigError, match="unknown channel"):
        make_config(SENSOR + "[sensors.channels.temp]\noffset = 1.0\n")
