"""ADS1115: config-register encoding and code -> volts at every gain, the driver against the
simulated register map (OS polling, byte order), range errors, and the input options."""

from __future__ import annotations

import errno

import pytest

from pi_dashboard.drivers import ads1115 as drv
from pi_dashboard.errors import ChipError, ConfigError
from pi_dashboard.model import DeviceClass
from pi_dashboard.polling import build_pipeline, display_meta
from pi_dashboard.sim.bus import SimI2CBus
from pi_dashboard.sim.chips.ads1115 import ADS1115Chip

SENSOR = '[[sensors]]\nid = "adc"\ntype = "ads1115"\n'
GAINS = (6.144, 4.096, 2.048, 1.024, 0.512, 0.256)


@pytest.fixture
def rig(world, clock):
    bus = SimI2CBus(1)
    chip = bus.attach(0x48, ADS1115Chip(world.env, clock=clock))
    return clock, chip, drv.ADS1115(bus, 0x48, sleep=clock.sleep, clock=clock)


# --- datasheet ---------------------------------------------------------------------------


@pytest.mark.parametrize("fsr", GAINS)
def test_code_to_volts_at_every_gain(fsr):
    # Table 3: +FS is 7FFFh = FSR * (2^15 - 1) / 2^15, -FS is 8000h = -FSR, 1 LSB = FSR / 2^15
    assert drv.volts(0x7FFF, fsr) == pytest.approx(fsr * 32767 / 32768)
    assert drv.volts(-0x8000, fsr) == pytest.approx(-fsr)
    assert drv.volts(1, fsr) == pytest.approx(fsr / 32768)
    assert drv.volts(16384, fsr) == pytest.approx(fsr / 2)
    assert drv.volts(0, fsr) == 0.0


def test_lsb_sizes_from_the_datasheet():
    # Table 3: 187.5 uV at +/-6.144 V ... 7.8125 uV at +/-0.256 V
    assert drv.volts(1, 6.144) == pytest.approx(187.5e-6)
    assert drv.volts(1, 4.096) == pytest.approx(125e-6)
    assert drv.volts(1, 0.256) == pytest.approx(7.8125e-6)


def test_conversion_register_is_big_endian_twos_complement():
    assert drv.code_from_bytes(0x7F, 0xFF) == 32767
    assert drv.code_from_bytes(0x80, 0x00) == -32768
    assert drv.code_from_bytes(0xFF, 0xFF) == -1
    assert drv.code_from_bytes(0x01, 0x00) == 256  # a little-endian slip would give 1


def test_config_words():
    # OS=1, MUX=100 (AIN0/GND), PGA=001 (4.096 V), MODE=1, DR=100 (128 SPS), COMP_QUE=11
    assert drv.single_ended_config(0, 4.096, 128) == 0xC383
    # OS=1, MUX=111 (AIN3/GND), PGA=101 (0.256 V), MODE=1, DR=111 (860 SPS), COMP_QUE=11
    assert drv.single_ended_config(3, 0.256, 860) == 0xFBE3
    assert drv.single_ended_config(1, 6.144, 8) == 0xD103


# --- driver against the simulated chip ----------------------------------------------------


@pytest.mark.parametrize("fsr", GAINS)
def test_round_trip_within_one_lsb_at_every_gain(rig, fsr):
    _, chip, driver = rig
    volts = fsr * 0.61
    chip.set_input(2, volts)
    assert driver.read_volts(2, fsr) == pytest.approx(volts, abs=fsr / 32768)


def test_ain0_follows_the_soil_probe_and_negative_codes_work(world, rig):
    _, chip, driver = rig
    world.env.set("soil_voltage", 1.2345)
    assert driver.read_volts(0, 2.048) == pytest.approx(1.2345, abs=2.048 / 32768)
    chip.set_input(3, -0.0123)  # a slightly negative input (allowed down to GND - 0.3 V)
    assert driver.read_volts(3, 0.256) == pytest.approx(-0.0123, abs=0.256 / 32768)


def test_driver_waits_for_the_os_bit(rig):
    clock, chip, driver = rig
    driver.read_volts(1, 4.096, data_rate=8)
    assert chip.conversions == 1
    assert clock.slept[0] == pytest.approx(1 / 8 * 1.1)  # conversion time plus oscillator margin
    assert chip.regs[1] & 0x7000 == 0x5000  # MUX = 101: AIN1 against GND


def test_os_bit_reads_zero_while_converting(rig):
    clock, _, driver = rig
    driver.write_register(drv.CONFIG_REGISTER, drv.single_ended_config(0, 4.096, 128))
    assert not driver.read_register(drv.CONFIG_REGISTER) & drv.OS
    clock.sleep(1 / 128)
    assert driver.read_register(drv.CONFIG_REGISTER) & drv.OS


def test_always_busy_is_measurement_not_ready(rig):
    clock, chip, driver = rig
    chip.always_busy = True
    start = clock.now
    with pytest.raises(ChipError, match="measurement not ready: AIN0 conversion still running"):
        driver.read_volts(0, 4.096)
    assert clock.now - start < 0.1


@pytest.mark.parametrize(("volts", "sign"), [(3.0, "+"), (-3.0, "-")])
def test_full_scale_is_input_out_of_range(rig, volts, sign):
    _, chip, driver = rig
    chip.set_input(1, volts)
    with pytest.raises(ChipError, match=rf"input out of range for gain: AIN1 is at \{sign}2.048 V"):
        driver.read_volts(1, 2.048)
    assert driver.read_volts(1, 4.096) == pytest.approx(volts, abs=4.096 / 32768)


# --- the sensor, built as the daemon builds it ----------------------------------------------

SOIL = (
    SENSOR
    + """inputs = [
  { channel = 0, gain = 4.096, name = "Soil moisture", kind = "moisture", unit = "%" },
  { channel = 1, gain = 2.048 },
]
[sensors.channels.ain0]
scale = -62.5
offset = 175.0
"""
)


def test_sensor_round_trip_and_channel_metadata(world, make_sensor):
    s = make_sensor(SOIL)
    assert s.worker == "i2c-1"
    world.env.set("soil_voltage", 2.0)
    world.bus(1).chips[0x48].set_input(1, 1.5)
    s.setup()
    values = s.read()
    assert values["ain0"] == pytest.approx(2.0, abs=4.096 / 32768)
    assert values["ain1"] == pytest.approx(1.5, abs=2.048 / 32768)
    soil, ain1 = s.channels
    assert (soil.id, soil.name, soil.unit, soil.device_class) == (
        "ain0",
        "Soil moisture",
        "%",
        DeviceClass.MOISTURE,
    )
    assert soil.precision == 1
    assert soil.valid_range == (-4.096, 4.096)  # polling checks it on the volts
    assert (ain1.id, ain1.name, ain1.unit, ain1.precision) == ("ain1", "AIN1", "V", 3)


def test_volts_become_percent_through_the_generic_channel_scale(make_config, make_sensor):
    config = make_config(SOIL)
    (cfg,) = config.sensors
    s = make_sensor(SOIL)
    soil = s.channels[0]
    pipeline = build_pipeline(soil, cfg, "sensors[0]")
    assert pipeline.process(2.0, now=0.0) == pytest.approx(50.0)  # 175 - 62.5 * 2.0
    assert display_meta(soil, cfg).unit == "%"


def test_default_reads_ain0_in_volts(world, make_sensor):
    s = make_sensor(SENSOR)
    world.env.set("soil_voltage", 0.75)
    s.setup()
    assert s.read() == {"ain0": pytest.approx(0.75, abs=4.096 / 32768)}


def test_sensor_unplugged_is_a_nack(world, make_sensor):
    s = make_sensor(SENSOR + "address = 0x4b\n")
    s.setup()
    world.bus(1).unplug(0x4B)
    with pytest.raises(OSError, match="Remote I/O") as e:
        s.read()
    assert e.value.errno == errno.EREMOTEIO


def test_sensor_out_of_range_is_an_error(world, make_sensor):
    s = make_sensor(SENSOR + "inputs = [{ channel = 2, gain = 0.256 }]\n")
    s.setup()
    world.bus(1).chips[0x48].set_input(2, 0.5)
    with pytest.raises(ChipError, match="input out of range for gain: AIN2"):
        s.read()


def test_sensor_always_busy(world, make_sensor, fake_time):
    s = fake_time(make_sensor(SENSOR))
    s.setup()
    world.bus(1).chips[0x48].always_busy = True
    with pytest.raises(ChipError, match="measurement not ready"):
        s.read()


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ("address = 0x47\n", "sensors[0].address", "0x47 is not a valid address for ads1115 "
         "(0x48, 0x49, 0x4a, 0x4b)"),
        ("data_rate = 100\n", "sensors[0].data_rate", "must be one of 8, 16, 32, 64, 128"),
        ("inputs = [{ channel = 4 }]\n", "sensors[0].inputs[0].channel", "AIN0..AIN3"),
        ("inputs = [{ channel = 0, gain = 3.3 }]\n", "sensors[0].inputs[0].gain",
         "must be one of 6.144, 4.096, 2.048, 1.024, 0.512, 0.256"),
        ("inputs = [{ channel = 0, kind = \"door\" }]\n", "sensors[0].inputs[0].kind", "voltage"),
        ("inputs = [{ channel = 1 }, { channel = 1 }]\n", "sensors[0].inputs[1].channel",
         "AIN1 is already read by inputs[0]"),
        ("inputs = []\n", "sensors[0].inputs", "at least one input"),
        ("inputs = [{ channel = 0, volts = 5 }]\n", "sensors[0].inputs[0].volts", "unknown key"),
    ],
)  # fmt: skip
def test_config_errors_name_the_field(make_config, extra, field, message):
    with pytest.raises(ConfigError) as e:
        make_config(SENSOR + extra)
    assert e.value.field == field
    assert message in str(e.value)


def test_channel_keys_follow_the_inputs(make_config):
    make_config(SOIL)
    with pytest.raises(ConfigError, match=r"unknown channel \(known: ain0, ain1\)"):
        make_config(SOIL + "[sensors.channels.ain2]\nscale = 2.0\n")
