"""BME280 / BMP280: the driver's compensation against the datasheets' worked example, then the
sensor (built as the daemon builds it) -> driver -> SimI2CBus -> simulated chip, and every failure.

The simulated chip turns the room into raw codes with the datasheet's *integer* formulas (4.2.3)
while the driver compensates with the *double* ones (8.1): a round trip checks one against the
other, and both against the chip's resolution.
"""

from __future__ import annotations

import errno
import logging
import struct

import pytest

from pi_dashboard.drivers.bme280 import (
    BME280,
    BMP280,
    Calibration,
    compensate_humidity,
    compensate_pressure,
    compensate_temperature,
    max_measurement_time_ms,
    parse_calibration,
)
from pi_dashboard.errors import ChipError, ConfigError
from pi_dashboard.sensors.registry import TYPES
from pi_dashboard.sim.chips.bme280 import SimBME280, SimBMP280, Trimming

# BMP280 datasheet (BST-BMP280-DS001) 3.12, the worked example's trimming values.
EXAMPLE = Calibration(
    dig_T1=27504, dig_T2=26435, dig_T3=-1000,
    dig_P1=36477, dig_P2=-10685, dig_P3=3024, dig_P4=2855, dig_P5=140,
    dig_P6=-7, dig_P7=15500, dig_P8=-14600, dig_P9=6000,
    dig_H1=75, dig_H2=362, dig_H3=0, dig_H4=313, dig_H5=50, dig_H6=30,
)  # fmt: skip

BME = '[[sensors]]\nid = "room"\ntype = "bme280"\n'
BMP = '[[sensors]]\nid = "baro"\ntype = "bmp280"\naddress = 0x77\n'

# Round-trip tolerances at the default x1 oversampling, filter off (datasheet 3.4.2/3.4.3: 16-bit
# temperature and pressure, 16-bit humidity always). The sim reports the code nearest the room's
# value, so the error is half a code step plus what the integer formulas it inverts lose against
# the driver's doubles:
T_TOL = 0.005  # °C: half of 0.0050 °C per x1 code + adc_T >> 3 in the int32 formula (~0.0025)
P_TOL = 0.02  # hPa: half of 2.62 Pa per x1 code (1.31 Pa) + integer-vs-double t_fine (< 0.5 Pa)
H_TOL = 0.01  # %RH: half of ~0.006 %RH per code + the int32 formula's >> 15 and 1/1024 output


@pytest.fixture
def build(make_sensor, world, fake_time):
    """TOML -> sensor with its simulated chip placed; `chip=` swaps in another chip there."""

    def make(text: str, *, chip: SimBME280 | None = None):
        sensor = make_sensor(text)
        if chip is not None:
            o = sensor.config.options
            world.bus(o.bus).attach(o.address, chip)
        return fake_time(sensor)

    return make


def set_room(world, temperature: float, humidity: float, pressure: float) -> None:
    world.env.set("temperature", temperature)
    world.env.set("humidity", humidity)
    world.env.set("pressure", pressure)


# --- compensation: the datasheet's numbers ----------------------------------------------------


def test_datasheet_worked_example():
    """BMP280 3.12: adc_T 519888 -> 25.08 °C, t_fine 128422; adc_P 415148 -> 100653.27 Pa."""
    temperature, t_fine = compensate_temperature(EXAMPLE, 519888)
    assert t_fine == 128422
    assert round(temperature, 2) == 25.08
    assert temperature == pytest.approx(25.0825, abs=1e-4)
    pressure = compensate_pressure(EXAMPLE, 415148, t_fine)
    # The table's 100653.27 used the unrounded t_fine; with the integer t_fine the double formula
    # gives 100653.258. A wrong constant or sign would be off by pascals, not hundredths.
    assert pressure == pytest.approx(100653.27, abs=0.02)
    assert round(pressure) == 100653  # the datasheet's 32-bit integer result


def test_calibration_unpacking_with_the_shared_h4_h5_nibbles():
    calib00 = struct.pack(
        "<HhhHhhhhhhhh",
        27504,
        26435,
        -1000,
        36477,
        -10685,
        3024,
        2855,
        140,
        -7,
        15500,
        -14600,
        6000,
    ) + bytes([0x00, 75])
    # H2 = 362, H3 = 0, H4 = 313 (0x139: 0xE4 = 0x13, 0xE5[3:0] = 9), H5 = 50 (0x032: 0xE5[7:4] = 2,
    # 0xE6 = 0x03), H6 = 30
    cal = parse_calibration(calib00, [0x6A, 0x01, 0x00, 0x13, 0x29, 0x03, 30])
    assert cal == EXAMPLE
    # 12-bit two's complement: H4 = -5 (0xFFB), H5 = -3 (0xFFD), and a negative H6 (-2).
    neg = parse_calibration(calib00, [0x6A, 0x01, 0x00, 0xFF, 0xDB, 0xFF, 0xFE])
    assert (neg.dig_H4, neg.dig_H5, neg.dig_H6) == (-5, -3, -2)
    # a BMP280 has no humidity block
    assert parse_calibration(calib00).dig_H2 == 0


def test_humidity_is_clamped_to_0_100():
    _, t_fine = compensate_temperature(EXAMPLE, 519888)
    assert compensate_humidity(EXAMPLE, 0, t_fine) == 0.0
    assert compensate_humidity(EXAMPLE, 0xFFFF, t_fine) == 100.0
    assert 0.0 < compensate_humidity(EXAMPLE, 0x6000, t_fine) < 100.0


def test_pressure_division_by_zero_is_an_error_not_zero():
    blank_p1 = Calibration(**{**_fields(EXAMPLE), "dig_P1": 0})
    with pytest.raises(ChipError, match=r"pressure compensation divides by zero \(dig_P1 = 0\)"):
        compensate_pressure(blank_p1, 415148, 128422)


def _fields(cal: Calibration) -> dict[str, int]:
    return {name: getattr(cal, name) for name in Calibration.__dataclass_fields__}


def test_max_measurement_time_follows_appendix_b():
    assert max_measurement_time_ms(1, 1, 1) == pytest.approx(9.3)
    assert max_measurement_time_ms(1, 4, 0) == pytest.approx(13.325)  # the datasheet's example
    assert max_measurement_time_ms(16, 16, 16) == pytest.approx(112.8)


# --- round trips through the simulated chip -----------------------------------------------------


@pytest.mark.parametrize(
    ("temperature", "humidity", "pressure"),
    [(-10.0, 5.0, 900.0), (21.37, 50.0, 1013.25), (60.0, 95.0, 1090.0), (-40.0, 0.5, 300.0)],
)
def test_bme280_round_trip(build, world, clock, temperature, humidity, pressure):
    s = build(BME)
    s.setup()
    set_room(world, temperature, humidity, pressure)
    values = s.read()
    assert set(values) == {"temperature", "humidity", "pressure"}
    assert values["temperature"] == pytest.approx(temperature, abs=T_TOL)
    assert values["humidity"] == pytest.approx(humidity, abs=H_TOL)
    assert values["pressure"] == pytest.approx(pressure, abs=P_TOL)
    # forced mode: the driver slept the datasheet maximum for x1/x1/x1 before the first poll
    assert clock.slept[-1] == pytest.approx(0.0093)


def test_follows_the_room_from_read_to_read(build, world):
    s = build(BME)
    readings = []
    for t in (18.0, 18.5, 25.25):
        set_room(world, t, 40.0, 1000.0)
        readings.append(s.read()["temperature"])
    assert readings == pytest.approx([18.0, 18.5, 25.25], abs=T_TOL)


def test_bmp280_reads_only_temperature_and_pressure(build, world):
    s = build(BMP)
    assert [c.id for c in s.channels] == ["temperature", "pressure"]
    assert s.worker == "i2c-1"
    set_room(world, 21.37, 50.0, 1013.25)
    values = s.read()
    assert set(values) == {"temperature", "pressure"}
    assert values["temperature"] == pytest.approx(21.37, abs=T_TOL)
    assert values["pressure"] == pytest.approx(1013.25, abs=P_TOL)
    assert isinstance(world.bus(1).chips[0x77], SimBMP280)


def test_setup_soft_resets_and_waits_for_the_nvm_copy(build, world, clock):
    s = build(BME)
    chip = world.bus(1).chips[0x76]
    s.setup()
    s.setup()  # idempotent: polling calls it again after every failure
    assert chip.resets == 2
    assert clock.slept.count(0.002) == 2  # datasheet t_startup after each reset
    assert s.read()["pressure"] == pytest.approx(world.env.pressure, abs=P_TOL)


def test_oversampling_and_filter_reach_the_chip(build, world, clock):
    s = build(
        BME + "oversampling_temperature = 16\noversampling_pressure = 8\n"
        "oversampling_humidity = 2\niir_filter = 4\n"
    )
    s.read()
    regs = world.bus(1).chips[0x76].regs
    assert regs[0xF4] >> 5 == 0b101  # osrs_t x16
    assert (regs[0xF4] >> 2) & 0b111 == 0b100  # osrs_p x8
    assert regs[0xF4] & 0b11 == 0b00  # back in sleep mode after the forced conversion
    assert regs[0xF2] == 0b010  # osrs_h x2
    assert (regs[0xF5] >> 2) & 0b111 == 0b010  # filter coefficient 4
    # 1.25 + 2.3 * 16 + (2.3 * 8 + 0.575) + (2.3 * 2 + 0.575) ms
    assert clock.slept[-1] == pytest.approx(0.0622)


def test_iir_filter_smooths_a_step(build, world):
    s = build(BME + "iir_filter = 2\n")
    set_room(world, 20.0, 50.0, 1000.0)
    assert s.read()["temperature"] == pytest.approx(20.0, abs=T_TOL)  # the first sample seeds it
    world.env.set("temperature", 30.0)
    # coefficient 2: halfway per sample (datasheet 3.4.4), in the near-linear raw domain
    assert s.read()["temperature"] == pytest.approx(25.0, abs=0.05)
    assert s.read()["temperature"] == pytest.approx(27.5, abs=0.05)


def test_a_chip_slower_than_its_datasheet_maximum_is_polled_until_ready(build, world, clock):
    s = build(BME)
    s.setup()
    world.bus(1).chips[0x76].extra_conversion_s = 0.005  # typical 8 ms + 5 ms > 9.3 ms maximum
    set_room(world, 22.0, 45.0, 1005.0)
    before = len(clock.slept)
    assert s.read()["temperature"] == pytest.approx(22.0, abs=T_TOL)
    assert len(clock.slept) - before > 1  # slept the maximum, then polled `measuring` again


# --- failures: an error with a message, never a number ------------------------------------------


def test_unplugged_chip_is_a_nack_then_recovers(build, world):
    s = build(BME)
    s.read()
    world.bus(1).unplug(0x76)
    with pytest.raises(OSError, match="Remote I/O error") as e:
        s.read()
    assert e.value.errno == errno.EREMOTEIO  # 121, what smbus2 raises on a Pi
    with pytest.raises(OSError, match="Remote I/O error"):
        s.setup()
    world.bus(1).plug(0x76)
    s.setup()
    assert s.read()["humidity"] == pytest.approx(world.env.humidity, abs=H_TOL)


def test_bmp280_where_a_bme280_is_configured(build, world, clock):
    s = build(BME, chip=SimBMP280(world.env))
    with pytest.raises(ChipError) as e:
        s.setup()
    assert str(e.value) == 'chip id 0x58 at 0x76 is a BMP280, not a BME280: use type = "bmp280"'
    with pytest.raises(ChipError):
        s.read()  # read() sets up first: still an error, not a number


def test_bme280_where_a_bmp280_is_configured(build, world):
    s = build(BMP, chip=SimBME280(world.env))
    with pytest.raises(
        ChipError, match=r'0x60 at 0x77 is a BME280, not a BMP280: use type = "bme280"'
    ):
        s.setup()


@pytest.mark.parametrize(
    ("chip_id", "message"),
    [
        (0x61, "chip id 0x61 at 0x76 is a BME680, not a BME280 (expected 0x60)"),
        (0x00, "chip id 0x00 at 0x76 is not a BME280 (expected 0x60)"),
    ],
)
def test_other_chip_ids(build, world, chip_id, message):
    s = build(BME)
    world.bus(1).chips[0x76].regs[0xD0] = chip_id
    with pytest.raises(ChipError) as e:
        s.setup()
    assert str(e.value) == message


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("skip_temperature", r"^temperature was not measured \(raw 0x80000 = skipped\)"),
        ("skip_pressure", r"^pressure was not measured \(raw 0x80000 = skipped\)"),
    ],
)
def test_skipped_temperature_or_pressure_fails_the_read(build, world, flag, message):
    s = build(BME)
    s.setup()
    setattr(world.bus(1).chips[0x76], flag, True)
    with pytest.raises(ChipError, match=message):
        s.read()


def test_skipped_humidity_loses_only_humidity(build, world, caplog):
    """Datasheet 5.4.3: osrs_h = 000 skips humidity and its output reads 0x8000 (4: hum_msb/lsb
    at 0xFD/0xFE in the burst). Temperature and pressure of that same burst still stand."""
    set_room(world, 21.5, 55.0, 1002.0)
    s = build(BME)
    s.setup()
    chip = world.bus(1).chips[0x76]
    chip.skip_humidity = True
    with caplog.at_level(logging.INFO, logger="pi_dashboard.sensors.base"):
        values = s.read()
        assert chip.regs[0xFD:0xFF] == b"\x80\x00"
        assert list(values) == ["temperature", "pressure"]
        assert values["temperature"] == pytest.approx(21.5, abs=T_TOL)
        assert values["pressure"] == pytest.approx(1002.0, abs=P_TOL)
        assert list(s.read()) == ["temperature", "pressure"]  # logged once, not per read
        chip.skip_humidity = False
        values = s.read()
        assert values["humidity"] == pytest.approx(55.0, abs=H_TOL)
    assert [r.getMessage() for r in caplog.records] == [
        "sensor room: channel humidity failed: humidity was not measured "
        "(raw 0x8000 = skipped): the chip lost its settings?",
        "sensor room: channel humidity recovered",
    ]


def test_stuck_measuring_bit_times_out(build, world, clock):
    s = build(BME)
    s.setup()
    world.bus(1).chips[0x76].stuck_measuring = True
    start = clock.now
    with pytest.raises(ChipError) as e:
        s.read()
    assert str(e.value) == (
        "measurement not ready after 19 ms (status 0x08, datasheet maximum 9.3 ms)"
    )
    assert clock.now - start == pytest.approx(0.0186, abs=0.0012)  # bounded: twice the maximum


def test_blank_calibration_is_refused(build, world):
    s = build(BME, chip=SimBME280(world.env, trimming=Trimming(T1=0, P1=0)))
    with pytest.raises(ChipError, match=r"calibration data is blank \(dig_T1 = 0, dig_P1 = 0\)"):
        s.setup()


# --- configuration --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        (
            "oversampling_pressure = 3",
            "oversampling_pressure",
            "must be one of 1, 2, 4, 8, 16, got 3",
        ),
        (
            "oversampling_humidity = 0",
            "oversampling_humidity",
            "must be one of 1, 2, 4, 8, 16, got 0",
        ),
        ("iir_filter = 5", "iir_filter", "must be one of 0, 2, 4, 8, 16 (0 = off), got 5"),
        ("interval = 0.5", "interval", "0.5 s is too short for bme280 (at least 1 s)"),
    ],
)
def test_bad_options(make_config, line, field, message):
    with pytest.raises(ConfigError) as e:
        make_config(BME + line + "\n")
    assert e.value.field == f"sensors[0].{field}"
    assert e.value.message == message


def test_types_and_defaults(make_config):
    (cfg,) = make_config(BME + "bus = 3\n").sensors
    assert cfg.interval == 10.0
    assert TYPES["bme280"].min_interval == 1.0
    assert TYPES["bme280"].create(cfg, None).worker == "i2c-3"  # type: ignore[arg-type]
    o = cfg.options
    assert (o.address, o.oversampling_temperature, o.oversampling_humidity, o.iir_filter) == (
        0x76, 1, 1, 0,
    )  # fmt: skip
    meta = {c.id: c for c in TYPES["bme280"].create(cfg, None).channels}  # type: ignore[arg-type]
    assert (meta["temperature"].unit, meta["temperature"].precision) == ("°C", 2)
    assert meta["pressure"].valid_range == (300.0, 1100.0)
    assert meta["humidity"].device_class == "humidity"


def test_identify_for_scan(world):
    bus = world.bus(1)
    bus.attach(0x76, SimBME280(world.env))
    bus.attach(0x77, SimBMP280(world.env))
    assert BME280.identify(bus, 0x76)
    assert not BME280.identify(bus, 0x77)
    assert BMP280.identify(bus, 0x77)
    assert not BMP280.identify(bus, 0x76)
    assert TYPES["bme280"].i2c_addresses == (0x76, 0x77)
