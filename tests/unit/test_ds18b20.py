"""DS18B20 over the Linux w1 sysfs files: datasheet vectors, the kernel's text, every fault the
simulated probe can show, the power-on scratchpad (85 °C), the single retry, and several probes on
one sensor."""

from __future__ import annotations

import logging

import pytest

from pi_dashboard.drivers.ds18b20 import DS18B20, celsius, check_scratchpad, crc8, is_power_on
from pi_dashboard.errors import ChipError, ConfigError, SensorError
from pi_dashboard.hw.onewire import OneWireBus, W1SlaveRead, parse_w1_slave
from pi_dashboard.sensors.ds18b20 import Ds18b20Sensor
from pi_dashboard.sim import onewire as sim_onewire
from pi_dashboard.sim.onewire import w1_bus

TANK = "28-0316a2795e1f"  # placed on water_temperature
ROOM = "28-01193a5b7c2d"  # placed on temperature

KERNEL_EXAMPLE = "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"


def one_probe(make_sensor, world, serial=TANK, extra=""):
    sensor = make_sensor(f'[[sensors]]\nid = "t"\ntype = "ds18b20"\nprobes = ["{serial}"]\n{extra}')
    return sensor, w1_bus(world).probes[serial]


def scratchpad(raw: int, config: int = 0x7F, count_remain: int = 0x0C) -> bytes:
    """A DS18B20 scratchpad around a register value; CRC from the simulated chip's generator."""
    body = (raw & 0xFFFF).to_bytes(2, "little") + bytes(
        [0x4B, 0x46, config, 0xFF, count_remain, 0x10]
    )
    return body + bytes([sim_onewire.crc8(body)])


# --- chip logic: fixed vectors ---------------------------------------------------------------


def test_crc8_matches_the_kernel_example_and_maxim_app_note_27():
    assert crc8(bytes.fromhex("72014b467fff0e10")) == 0x57
    assert crc8(bytes.fromhex("021cb801000000")) == 0xA2  # AN27's worked ROM example
    assert crc8(bytes.fromhex("72014b467fff0e1057")) == 0  # a good block checks to zero


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0x07D0, 125.0),  # datasheet Table 1
        (0x0550, 85.0),
        (0x0191, 25.0625),
        (0x0172, 23.125),
        (0x00A2, 10.125),
        (0x0008, 0.5),
        (0x0000, 0.0),
        (0xFFF8, -0.5),
        (0xFF5E, -10.125),
        (0xFE6F, -25.0625),
        (0xFC90, -55.0),
    ],
)
def test_temperature_register_vectors(raw, expected):
    sp = scratchpad(raw)
    check_scratchpad(sp)
    assert celsius("28", sp) == expected


def test_undefined_low_bits_are_ignored_below_12_bits():
    assert celsius("28", scratchpad(0x0177, config=0x1F)) == 23.0  # 9 bits: bits 2..0 undefined
    assert celsius("28", scratchpad(0x0177, config=0x5F)) == 23.375  # 11 bits: bit 0 undefined


@pytest.mark.parametrize(
    ("raw", "count_remain", "expected"),
    [(0x00AA, 0x0C, 85.0), (0x0032, 0x0C, 25.0), (0x0032, 0x08, 25.25), (0xFF92, 0x0C, -55.0)],
)
def test_ds18s20_extended_resolution(raw, count_remain, expected):
    sp = scratchpad(raw, config=0xFF, count_remain=count_remain)
    assert celsius("10", sp) == expected


def test_kernel_w1_slave_text_parses():
    r = parse_w1_slave(KERNEL_EXAMPLE, TANK)
    assert r == W1SlaveRead(bytes.fromhex("72014b467fff0e1057"), True, 23125)
    assert celsius("28", r.scratchpad) == 23.125


def test_bad_scratchpads_are_refused():
    with pytest.raises(ChipError, match=r"CRC mismatch \(got 0x58, expected 0x57\)"):
        check_scratchpad(bytes.fromhex("72014b467fff0e1058"))
    with pytest.raises(ChipError, match="all ff"):
        check_scratchpad(b"\xff" * 9)
    with pytest.raises(ChipError, match="all 00"):
        check_scratchpad(bytes(9))  # its CRC is 00: only the explicit check catches it
    with pytest.raises(ChipError, match=r"127\.94"):
        celsius("28", scratchpad(0x07FF))


# --- through the simulated probe ------------------------------------------------------------


@pytest.mark.parametrize("t", [23.125, -10.125, 125.0, -55.0, 0.0625])
def test_reads_the_simulated_probe(make_sensor, world, t):
    sensor, _ = one_probe(make_sensor, world)
    world.env.set("water_temperature", t)
    world.tick(0)
    assert sensor.read() == {"28_0316a2795e1f": t}
    assert sensor.worker == "w1"


def test_lower_resolution_reads_in_coarser_steps(make_sensor, world):
    sensor, probe = one_probe(make_sensor, world)
    probe.resolution = 9
    world.env.set("water_temperature", 23.3)
    world.tick(0)
    assert sensor.read() == {"28_0316a2795e1f": 23.5}


def test_ds18s20_probe(make_sensor, world):
    sensor, _ = one_probe(make_sensor, world, serial="10-000803673bd4")
    world.env.set("water_temperature", 20.125)
    world.tick(0)
    assert sensor.read() == {"10_000803673bd4": 20.125}
    assert sensor.channels[0].name == "DS18S20 10-000803673bd4"


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("crc", r"28-0316a2795e1f: CRC mismatch \(got 0x"),
        ("empty", "empty read from 28-0316a2795e1f"),
        ("ff", "all ff"),
        ("00", "all 00"),
        ("glitch", "glitch value 127.94"),
        ("reset", "power-on value 85 °C"),
    ],
)
def test_faults_are_errors_never_values(make_sensor, world, fault, message):
    sensor, probe = one_probe(make_sensor, world)
    probe.fault = fault
    world.tick(0)
    with pytest.raises(SensorError, match=message):
        sensor.read()


# The kernel's w1_therm.c, convert_t() with W1_THERM_CHECK_RESULT: "Invalid reading (scratchpad
# byte 6 = 0xC) due to insufficient conversion time or power failure" when bytes 0-1 are 50 05.
# The DS18B20 datasheet's power-up scratchpad: 50h 05h TH TL config FFh, byte 6, 10h, CRC.
POWER_ON = scratchpad(0x0550, count_remain=0x0C)
REAL_85 = scratchpad(0x0550, count_remain=0x10)  # after a conversion: 10h - (0550h & 0Fh)


def w1_slave_text(sp: bytes, t: int) -> str:
    """w1_slave_show()'s two lines: "%02x " per byte, ": crc=%02x YES", then "t=%d"."""
    hexes = "".join(f"{b:02x} " for b in sp)
    return f"{hexes}: crc={sp[8]:02x} YES\n{hexes}t={t}\n"


def test_power_on_is_told_by_the_scratchpad_as_the_kernel_does():
    assert is_power_on("28", POWER_ON)
    assert is_power_on("22", POWER_ON)
    assert not is_power_on("28", REAL_85)
    assert celsius("28", REAL_85) == 85.0
    # DS18S20: 00AAh with COUNT_REMAIN at its power-up 0Ch (datasheet memory map)
    assert is_power_on("10", scratchpad(0x00AA, config=0xFF, count_remain=0x0C))
    assert not is_power_on("10", scratchpad(0x00AA, config=0xFF, count_remain=0x0B))


class FixedW1(OneWireBus):
    """w1_slave answers these texts in turn: the kernel's exact output, written by hand."""

    def __init__(self, base, texts):
        super().__init__(base)
        self.texts = list(texts)

    def has(self, slave):
        return True

    def has_attr(self, slave, attr):
        return attr == "w1_slave"

    def _read(self, slave, attr):
        return self.texts.pop(0)


def test_a_real_85_is_accepted_on_a_cold_start_and_resets_never_pass(tmp_path):
    texts = [
        w1_slave_text(REAL_85, 85000),  # the very first read: a hot-water tank at 85 °C
        w1_slave_text(POWER_ON, 85000),  # then a brownout
        w1_slave_text(POWER_ON, 85000),  # ... and the retry sees it again
        w1_slave_text(REAL_85, 85000),
        w1_slave_text(POWER_ON, 85000),  # an accepted 85 does not let a later reset through
        w1_slave_text(POWER_ON, 85000),
    ]
    probe = DS18B20(FixedW1(tmp_path, texts), TANK)
    assert probe.read() == 85.0
    with pytest.raises(ChipError, match=r"power-on value 85 °C \(scratchpad byte 6 = 0Ch\)"):
        probe.read()
    assert probe.read() == 85.0
    with pytest.raises(ChipError, match="power-on value 85 °C"):
        probe.read()


def test_simulated_85_and_power_on_glitch(make_sensor, world):
    sensor, probe = one_probe(make_sensor, world)
    world.env.set("water_temperature", 85.0)
    world.tick(0)
    assert sensor.read() == {"28_0316a2795e1f": 85.0}
    probe.fault = "reset"
    world.tick(0)
    with pytest.raises(SensorError, match="power-on"):
        sensor.read()
    probe.fault = None
    world.tick(0)
    assert sensor.read() == {"28_0316a2795e1f": 85.0}


def test_85_from_the_temperature_attribute_cannot_be_told_from_a_reset(make_sensor, world):
    sensor, probe = one_probe(make_sensor, world)
    probe.has_w1_slave = False
    world.env.set("water_temperature", 85.0)
    world.tick(0)
    with pytest.raises(SensorError, match=r"85\.000 °C with no scratchpad"):
        sensor.read()
    world.env.set("water_temperature", 85.125)
    world.tick(0)
    assert sensor.read() == {"28_0316a2795e1f": 85.125}


def test_a_w1_slave_read_without_its_t_line_is_an_error(make_sensor, world, tmp_path):
    line1 = KERNEL_EXAMPLE.splitlines()[0]
    with pytest.raises(SensorError, match=f"incomplete read from {TANK}: w1_slave has no t= line"):
        parse_w1_slave(line1 + "\n", TANK)
    with pytest.raises(SensorError, match="unreadable w1_slave"):
        parse_w1_slave(line1 + "\n72 01 4b 46 7f ff 0e 10 57 t=\n", TANK)
    # through the probe: the driver's retry reads line 1 alone again, and gives up
    probe = DS18B20(FixedW1(tmp_path, [line1 + "\n", line1]), TANK)
    with pytest.raises(SensorError, match="incomplete read"):
        probe.read()


class HealingBus(OneWireBus):
    """Counts reads; after each one the probe's fault clears (a glitch that passes)."""

    def __init__(self, base, probe, *, heals=True):
        super().__init__(base)
        self.probe, self.heals, self.reads = probe, heals, 0

    def read_w1_slave(self, slave):
        self.reads += 1
        result = super().read_w1_slave(slave)
        if self.heals:
            self.probe.fault = None
            self.probe.update()
        return result


def test_one_bad_read_is_retried_once(make_sensor, world):
    _, probe = one_probe(make_sensor, world)
    world.env.set("water_temperature", 19.5)
    probe.fault = "crc"
    world.tick(0)
    bus = HealingBus(w1_bus(world).base, probe)
    assert DS18B20(bus, TANK).read() == 19.5
    assert bus.reads == 2


def test_retry_is_only_once(make_sensor, world):
    _, probe = one_probe(make_sensor, world)
    probe.fault = "00"
    world.tick(0)
    bus = HealingBus(w1_bus(world).base, probe, heals=False)
    with pytest.raises(ChipError, match="all 00"):
        DS18B20(bus, TANK).read()
    assert bus.reads == 2


def test_a_kernel_crc_verdict_of_no_is_not_overruled(make_sensor, world):
    class KernelSaysNo(OneWireBus):
        def read_w1_slave(self, slave):
            r = super().read_w1_slave(slave)
            return W1SlaveRead(r.scratchpad, False, r.millicelsius)

    one_probe(make_sensor, world)
    with pytest.raises(ChipError, match="the kernel reports a CRC error"):
        DS18B20(KernelSaysNo(w1_bus(world).base), TANK).read()


def test_temperature_attribute_when_there_is_no_w1_slave(make_sensor, world):
    sensor, probe = one_probe(make_sensor, world)
    probe.has_w1_slave = False
    world.env.set("water_temperature", -3.25)
    world.tick(0)
    assert not (probe.dir / "w1_slave").exists()
    assert sensor.read() == {"28_0316a2795e1f": -3.25}
    probe.fault = "glitch"
    world.tick(0)
    with pytest.raises(SensorError, match=r"127\.94"):
        sensor.read()
    probe.fault = "empty"
    world.tick(0)
    with pytest.raises(SensorError, match="empty read"):
        sensor.read()


# --- several probes --------------------------------------------------------------------------


def test_probes_by_serial_with_names(make_sensor, world):
    sensor = make_sensor(
        f'[[sensors]]\nid = "t"\ntype = "ds18b20"\nprobes = ["{TANK}", "{ROOM.upper()}"]\n'
        f'names = {{ "{TANK}" = "Water tank" }}\n'
    )
    world.env.set("water_temperature", 55.5)
    world.env.set("temperature", 20.25)
    world.tick(0)
    assert [(c.id, c.name) for c in sensor.channels] == [
        ("28_0316a2795e1f", "Water tank"),
        ("28_01193a5b7c2d", "DS18B20 28-01193a5b7c2d"),
    ]
    sensor.setup()
    assert sensor.read() == {"28_0316a2795e1f": 55.5, "28_01193a5b7c2d": 20.25}


def test_auto_discovers_at_setup_and_keeps_what_it_found(make_sensor, world):
    sensor = make_sensor('[[sensors]]\nid = "t"\ntype = "ds18b20"\nprobes = "auto"\n')
    assert sensor.channels == ()
    sensor.setup()
    assert [c.id for c in sensor.channels] == ["28_01193a5b7c2d", "28_0316a2795e1f"]
    bus = w1_bus(world)
    bus.add("22-00000a1b2c3d", "temperature")
    bus.add("3b-0000001a2b3c", "temperature")  # not a thermometer this sensor reads
    bus.probes[ROOM].unplug()
    sensor.setup()
    assert [c.id for c in sensor.channels] == [
        "28_01193a5b7c2d", "28_0316a2795e1f", "22_00000a1b2c3d",
    ]  # fmt: skip
    assert set(sensor.read()) == {"28_0316a2795e1f", "22_00000a1b2c3d"}


def test_auto_with_nothing_on_the_bus(make_config, world):
    config = make_config('[[sensors]]\nid = "t"\ntype = "ds18b20"\n')
    sensor = Ds18b20Sensor(config.sensors[0], world.hardware())  # nothing placed
    with pytest.raises(SensorError, match=r"no 1-Wire bus at .*dtoverlay=w1-gpio"):
        sensor.setup()
    w1_bus(world)  # a bus master with no slaves
    with pytest.raises(SensorError, match="no temperature probes"):
        sensor.setup()


def test_a_missing_probe_leaves_the_others_readable(make_sensor, world, caplog):
    sensor = make_sensor(
        f'[[sensors]]\nid = "t"\ntype = "ds18b20"\nprobes = ["{TANK}", "{ROOM}"]\n'
    )
    world.env.set("temperature", 22.0)
    world.tick(0)
    w1_bus(world).probes[TANK].unplug()
    with caplog.at_level(logging.INFO, logger="pi_dashboard.sensors.base"):
        assert sensor.read() == {"28_01193a5b7c2d": 22.0}
        assert sensor.read() == {"28_01193a5b7c2d": 22.0}
        w1_bus(world).probes[TANK].plug()
        assert set(sensor.read()) == {"28_0316a2795e1f", "28_01193a5b7c2d"}
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        f"sensor t: probe {TANK} failed: probe {TANK} not found on the 1-Wire bus "
        "(is dtoverlay=w1-gpio enabled?)",
        f"sensor t: probe {TANK} recovered",
    ]


def test_the_sensor_fails_only_when_every_probe_does(make_sensor, world):
    sensor = make_sensor(
        f'[[sensors]]\nid = "t"\ntype = "ds18b20"\nprobes = ["{TANK}", "{ROOM}"]\n'
    )
    bus = w1_bus(world)
    bus.probes[TANK].unplug()
    bus.probes[ROOM].fault = "crc"
    world.tick(0)
    with pytest.raises(SensorError) as e:
        sensor.read()
    assert str(e.value).startswith(f"all 2 probes failed: probe {TANK} not found on the 1-Wire bus")
    assert f"{ROOM}: CRC mismatch" in str(e.value)


def test_a_single_missing_probe_names_the_overlay(make_sensor, world):
    sensor, probe = one_probe(make_sensor, world)
    probe.unplug()
    with pytest.raises(
        SensorError,
        match=rf"^probe {TANK} not found on the 1-Wire bus \(is dtoverlay=w1-gpio enabled\?\)$",
    ):
        sensor.read()


# --- config ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ('probes = ["28-xyz"]', "sensors[0].probes[0]", "not a 1-Wire serial"),
        ('probes = ["3b-0000001a2b3c"]', "sensors[0].probes[0]", "family 3b is not a thermometer"),
        (f'probes = ["{TANK}", "{TANK}"]', "sensors[0].probes[1]", "listed twice"),
        ("probes = []", "sensors[0].probes", "at least one"),
        ('probes = "all"', "sensors[0].probes", "must be a list or one of 'auto'"),
        (
            f'probes = ["{TANK}"]\nnames = {{ "{ROOM}" = "x" }}',
            f"sensors[0].names.{ROOM}",
            "not one of",
        ),
        ("interval = 0.5", "sensors[0].interval", "too short for ds18b20"),
    ],
)
def test_config_errors_name_the_field(make_config, extra, field, message):
    with pytest.raises(ConfigError, match=message) as e:
        make_config(f'[[sensors]]\nid = "t"\ntype = "ds18b20"\n{extra}\n')
    assert e.value.field == field


def test_channel_keys_are_checked_against_the_probes(make_config):

    make_config(
        f'[[sensors]]\nid = "t"\ntype = "ds18b20"\nprobes = ["{TANK}"]\n'
        "[sensors.channels.28_0316a2795e1f]\noffset = -0.2\n"
    )
    with pytest.raises(ConfigError, match="unknown channel"):
        make_config(
            f'[[sensors]]\nid = "t"\ntype = "ds18b20"\nprobes = ["{TANK}"]\n'
            "[sensors.channels.28_01193a5b7c2d]\noffset = -0.2\n"
        )
