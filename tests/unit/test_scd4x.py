"""SCD4x: the datasheet's worked examples, the driver against the simulated chip, the sensor as the
daemon builds it, and every failure path."""

from __future__ import annotations

import errno
import logging

import pytest

from pi_dashboard.drivers import scd4x as drv
from pi_dashboard.drivers.sensirion import crc8, pack_words
from pi_dashboard.errors import ChipError, ConfigError
from pi_dashboard.sensors.scd4x import identify
from pi_dashboard.sim.bus import SimI2CBus
from pi_dashboard.sim.chips.scd4x import SCD4xChip
from pi_dashboard.sim.world import Quantity

T_RES = 175 / 65536
RH_RES = 100 / 65536
SENSOR = '[[sensors]]\nid = "co2"\ntype = "scd4x"\n'


@pytest.fixture
def rig(world, clock):
    world.env.quantities["co2"] = Quantity(800.0, 800.0, 0.0, 400.0, 5000.0, 0.0)
    bus = SimI2CBus(1)
    chip = bus.attach(0x62, SCD4xChip(world.env, clock=clock))
    driver = drv.SCD4x(bus, 0x62, sleep=clock.sleep, clock=clock)
    return clock, chip, driver


# --- the datasheet's examples (sections 3.5.2, 3.6, 3.9.2, 3.11) --------------------------


def test_read_measurement_example_500_ppm_25_c_37_percent():
    """Section 3.5.2: response 0x01f4 0x33, 0x6667 0xa2, 0x5eb9 0x3c."""
    m = drv.parse_measurement(bytes.fromhex("01f433 6667a2 5eb93c"))
    assert m.co2_ppm == 500
    assert m.temperature_c == pytest.approx(25.0, abs=0.01)
    assert m.humidity_percent == pytest.approx(37.0, abs=0.01)


def test_set_temperature_offset_example_5_4_c():
    """Section 3.6.1: write 0x241d, then 0x07e6 0x48."""
    assert drv.offset_word(5.4) == 0x07E6
    assert pack_words((0x07E6,)) == bytes.fromhex("07e648")


def test_get_temperature_offset_example_6_2_c():
    """Section 3.6.2: response 0x0912 0x63."""
    assert crc8(b"\x09\x12") == 0x63
    assert drv.offset_c(0x0912) == pytest.approx(6.2, abs=0.01)


def test_serial_number_example(rig):
    """Section 3.9.2: response 0xf896 0x31, 0x9f07 0xc2, 0x3bbe 0x89 (the simulated chip's CRCs
    are computed apart from the driver's)."""
    _, chip, driver = rig
    assert chip.serial == 0xF8969F073BBE
    assert driver.read_serial() == 273325796834238
    assert [crc8(w.to_bytes(2, "big")) for w in (0xF896, 0x9F07, 0x3BBE)] == [0x31, 0xC2, 0x89]


def test_crc_example_beef():
    """Section 3.11: CRC(0xBEEF) = 0x92."""
    assert crc8(b"\xbe\xef") == 0x92


# --- driver against the simulated chip ----------------------------------------------------


def test_setup_stops_first_then_configures_and_starts(world, rig):
    clock, chip, driver = rig
    chip.write(drv.CMD_START_PERIODIC_MEASUREMENT.to_bytes(2, "big"))  # left running before
    driver.temperature_offset, driver.altitude = 5.4, 250
    assert driver.setup() == chip.serial
    assert chip.commands[1:] == [
        drv.CMD_STOP_PERIODIC_MEASUREMENT,
        drv.CMD_GET_SERIAL_NUMBER,
        drv.CMD_SET_TEMPERATURE_OFFSET,
        drv.CMD_SET_SENSOR_ALTITUDE,
        drv.CMD_START_PERIODIC_MEASUREMENT,
    ]
    assert drv.STOP_S in clock.slept
    assert (chip.offset_word, chip.altitude) == (0x07E6, 250)
    driver.command(drv.CMD_STOP_PERIODIC_MEASUREMENT)
    clock.sleep(drv.STOP_S)
    assert driver.read_temperature_offset() == pytest.approx(5.4, abs=T_RES)


def test_configuration_while_measuring_is_refused(rig):
    """What `setup` stops first for: the chip NACKs configuration commands while measuring."""
    _, _, driver = rig
    driver.command(drv.CMD_START_PERIODIC_MEASUREMENT)
    with pytest.raises(OSError, match="Remote I/O") as e:
        driver.set_temperature_offset(4.0)
    assert e.value.errno == errno.EREMOTEIO


def test_a_result_every_period_read_out_once(world, rig):
    clock, _, driver = rig
    world.env.set("temperature", 21.3)
    world.env.set("humidity", 48.0)
    world.env.set("co2", 1234.0)
    driver.setup()
    assert not driver.data_ready()
    clock.sleep(drv.PERIOD_S)
    assert driver.data_ready()
    m = driver.read_measurement()
    assert m.co2_ppm == 1234
    assert m.temperature_c == pytest.approx(21.3, abs=T_RES)  # self-heating minus the offset
    assert m.humidity_percent == pytest.approx(48.0, abs=RH_RES)
    assert not driver.data_ready()
    with pytest.raises(ChipError, match="measurement not ready"):
        driver.read_measurement()  # nothing new: NACKed, for a bounded time only


def test_low_power_measures_every_30_s(rig):
    clock, _, driver = rig
    driver.low_power = True
    driver.setup()
    clock.sleep(drv.PERIOD_S)
    assert not driver.data_ready()
    clock.sleep(drv.LOW_POWER_PERIOD_S - drv.PERIOD_S)
    assert driver.data_ready()


def test_corrupt_crc_names_the_word(rig):
    clock, chip, driver = rig
    driver.setup()
    clock.sleep(drv.PERIOD_S)
    chip.corrupt_crc = True
    with pytest.raises(ChipError, match="CRC mismatch on CO2 word"):
        driver.read_measurement()


def test_identify_answers_idle_and_measuring(world):
    """scan runs beside the daemon, which keeps the sensor measuring."""
    bus = SimI2CBus(1)
    chip = bus.attach(0x62, SCD4xChip(world.env))  # on the real clock, as identify is
    assert identify(bus, 0x62)
    drv.SCD4x(bus).command(drv.CMD_START_PERIODIC_MEASUREMENT)
    assert identify(bus, 0x62)
    chip.corrupt_crc = True
    assert not identify(bus, 0x62)


# --- the sensor, built as the daemon builds it ----------------------------------------------


@pytest.fixture
def sensor(world, make_sensor, fake_time):
    def make(extra: str = ""):
        s = fake_time(make_sensor(SENSOR + extra))
        world.env.set("co2", 900.0)
        return s

    return make


def test_sensor_first_poll_has_nothing_then_a_result(world, clock, sensor):
    s = sensor()
    s.setup()
    assert s.read() == {}  # the first result comes one period after the start
    clock.sleep(drv.PERIOD_S)
    values = s.read()
    assert values["co2"] == 900
    assert values["temperature"] == pytest.approx(world.env.temperature, abs=T_RES)
    assert values["humidity"] == pytest.approx(world.env.humidity, abs=RH_RES)
    assert s.serial == world.bus(1).chips[0x62].serial


def test_sensor_that_stops_producing_is_an_error(clock, sensor):
    """A poll with nothing new is normal; three periods of nothing are not."""
    s = sensor()
    s.setup()
    clock.sleep(drv.PERIOD_S)
    assert s.read()
    s.driver.command(drv.CMD_STOP_PERIODIC_MEASUREMENT)  # as if the chip had reset itself
    clock.sleep(drv.PERIOD_S)
    assert s.read() == {}
    clock.sleep(2 * drv.PERIOD_S + 1)
    with pytest.raises(ChipError, match="no new measurement for 16 s"):
        s.read()


def test_sensor_zero_ppm_leaves_co2_out_logged_once(world, clock, sensor, caplog):
    s = sensor()
    s.setup()
    world.env.set("co2", 0.0)
    caplog.set_level(logging.INFO, logger="pi_dashboard.sensors.base")
    for _ in range(2):
        clock.sleep(drv.PERIOD_S)
        values = s.read()
        assert "co2" not in values
        assert "temperature" in values
    world.env.set("co2", 700.0)
    clock.sleep(drv.PERIOD_S)
    assert s.read()["co2"] == 700
    assert [r.getMessage() for r in caplog.records] == [
        "sensor co2: channel co2 failed: the sensor reported 0 ppm",
        "sensor co2: channel co2 recovered",
    ]


def test_sensor_unplugged_is_a_nack(world, sensor):
    s = sensor()
    s.setup()
    world.bus(1).unplug(0x62)
    with pytest.raises(OSError, match="Remote I/O") as e:
        s.read()
    assert e.value.errno == errno.EREMOTEIO


def test_sensor_answers_late(world, clock, sensor):
    s = sensor()
    s.setup()
    clock.sleep(drv.PERIOD_S)
    world.bus(1).chips[0x62].always_busy = True
    with pytest.raises(ChipError, match="measurement not ready"):
        s.read()


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ("address = 0x61\n", "address", "0x61 is not a valid address for scd4x (0x62)"),
        ("temperature_offset = 25.0\n", "temperature_offset", "must be 0 to 20 °C, got 25"),
        ("altitude = 4000\n", "altitude", "must be 0 to 3000 m, got 4000"),
        ("interval = 2\n", "interval", "2 s is too short for scd4x (at least 5 s)"),
        ("[sensors.channels.co2_ppm]\nscale = 1.0\n", "channels.co2_ppm", "unknown channel"),
    ],
)
def test_config_errors_name_the_field(make_config, extra, field, message):
    with pytest.raises(ConfigError) as e:
        make_config(SENSOR + extra)
    assert e.value.field == f"sensors[0].{field}"
    assert message in e.value.message
