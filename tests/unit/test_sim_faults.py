"""Fault injection (sim/faults.py) as production drivers meet it: `[sensors.mock]` validation, each
fault on an I2C chip and on 1-Wire probes, run-time changes, and hangs that `close()` releases."""

from __future__ import annotations

import errno
import statistics
import threading

import pytest
from waiting import wait_until

from pi_dashboard.errors import ConfigError, SensorError
from pi_dashboard.sensors.registry import TYPES
from pi_dashboard.sim.onewire import w1_bus

SHT = '[[sensors]]\nid = "sht"\ntype = "sht3x"\n'
BME = '[[sensors]]\nid = "bme"\ntype = "bme280"\n'
TANK = "28-0316a2795e1f"
NACK = rf"\[Errno {errno.EREMOTEIO}\]"
PROBE = f'[[sensors]]\nid = "tank"\ntype = "ds18b20"\nprobes = ["{TANK}"]\n'


@pytest.fixture
def build(make_sensor, world, fake_time, clock):
    """TOML -> I2C sensor on the fake clock; the fault engine runs on it too."""
    world.faults.clock = clock

    def make(text: str):
        return fake_time(make_sensor(text))

    return make


@pytest.fixture
def probe_sensor(make_sensor, world):
    world.env.set("water_temperature", 40.5)
    sensor = make_sensor(PROBE)
    world.tick(0)
    return sensor


def reads_in_thread(fn):
    """Run `fn` in a thread; the result (or exception) lands in the returned dict."""
    out: dict[str, object] = {}

    def run() -> None:
        try:
            out["value"] = fn()
        except Exception as e:
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    out["thread"] = t
    return out


# --- [sensors.mock] ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "field", "message"),
    [
        ("dropout = 1.5", "mock.dropout", "must be a probability from 0 to 1, got 1.5"),
        ("noise = -1", "mock.noise", "must be >= 0, got -1"),
        ("unplug_every = 10", "mock.unplug_for", "unplug_every and unplug_for go together"),
        ("unplug_every = 5\nunplug_for = 5", "mock.unplug_for", "must be shorter than"),
        ("hang = 1", "mock.hang", "must be true or false, got 1"),
        ("nack = true", "mock.nack", "unknown key (known keys: crc_errors, drift_per_minute"),
    ],
)
def test_mock_table_errors_name_the_field(make_config, table, field, message):
    with pytest.raises(ConfigError) as e:
        make_config(f"{SHT}[sensors.mock]\n{table}\n")
    assert e.value.field == f"sensors[0].{field}"
    assert message in e.value.message


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        (f"{BME}[sensors.mock]\ncrc_errors = 0.1\n", "crc_errors", "bme280 replies carry no CRC"),
        (f"{SHT}[sensors.mock]\npower_on = 0.1\n", "power_on", "only a DS18B20"),
        (
            '[[sensors]]\nid = "d"\ntype = "dht22"\ngpio = 4\n[sensors.mock]\nhang = true\n',
            "",
            "no simulated faults for dht22 sensors",
        ),
    ],
)
def test_faults_a_device_cannot_show_are_config_errors(make_config, world, text, field, message):
    config = make_config(text)
    with pytest.raises(ConfigError) as e:
        world.populate(config, TYPES)
    assert e.value.field == "sensors[0].mock" + (f".{field}" if field else "")
    assert message in e.value.message


def test_config_faults_reach_the_chip(make_config, world):
    world.populate(make_config(f"{SHT}[sensors.mock]\nunplugged = true\n"), TYPES)
    with pytest.raises(OSError, match=NACK):
        world.bus(1).read_byte(0x44)


# --- I2C ---------------------------------------------------------------------------------------


def test_unplug_and_replug(build, world):
    sensor = build(SHT)
    world.env.set("temperature", 22.5)
    assert sensor.read()["temperature"] == pytest.approx(22.5, abs=0.01)
    world.faults.update("sht", {"unplugged": True})
    with pytest.raises(OSError, match=NACK):
        sensor.read()
    world.faults.update("sht", {"unplugged": False})
    assert sensor.read()["temperature"] == pytest.approx(22.5, abs=0.01)


def test_unplug_schedule(build, world, clock):
    sensor = build(SHT)
    world.faults.update("sht", {"unplug_every": 10, "unplug_for": 3})
    outcomes = []
    for _ in range(20):
        try:
            sensor.read()
            outcomes.append(1)
        except OSError:
            outcomes.append(0)
        clock.now += 1.0 - (clock.now % 1.0)  # the next whole second
    # plugged for 7 s, unplugged for 3 s, every 10 s (a read's own sleeps stay inside its second)
    assert outcomes == [1] * 7 + [0] * 3 + [1] * 7 + [0] * 3


def test_nack_storm_silences_the_whole_bus(build, world):
    sht, bme = build(SHT), build(BME)
    bme.setup()
    world.faults.update("sht", {"nack_storm": True})
    for sensor in (sht, bme):
        with pytest.raises(OSError, match=NACK):
            sensor.read()
    world.faults.update("sht", {"nack_storm": False})
    bme.setup()  # polling re-runs setup after a failed read
    assert set(sht.read()) == {"temperature", "humidity"}
    assert set(bme.read()) == {"temperature", "humidity", "pressure"}


@pytest.mark.parametrize("fault", ["crc_errors", "garbage"])
def test_corrupted_replies_are_caught_by_the_crc(build, world, fault):
    sensor = build(SHT)
    world.faults.update("sht", {fault: 1.0})
    for _ in range(20):
        with pytest.raises(SensorError, match="CRC mismatch"):
            sensor.read()
    world.faults.update("sht", {fault: 0.0})
    assert set(sensor.read()) == {"temperature", "humidity"}


def test_dropout_is_a_share_of_replies(build, world):
    sensor = build(SHT)
    world.faults.update("sht", {"dropout": 0.3})
    failed = 0
    for _ in range(400):
        try:
            sensor.read()
        except SensorError:
            failed += 1
    assert 0.2 < failed / 400 < 0.4


def test_noise_drift_and_stuck_change_what_the_chip_measures(build, world, clock):
    sensor = build(SHT)
    world.env.set("temperature", 20.0)
    world.faults.update("sht", {"noise": 0.5})
    temps = [sensor.read()["temperature"] for _ in range(200)]
    assert statistics.fmean(temps) == pytest.approx(20.0, abs=0.15)
    assert statistics.stdev(temps) == pytest.approx(0.5, rel=0.2)

    world.faults.update("sht", {"noise": 0.0, "drift_per_minute": 1.5})
    start = sensor.read()["temperature"]
    clock.now += 120
    assert sensor.read()["temperature"] - start == pytest.approx(3.0, abs=0.05)
    world.faults.update("sht", {"drift_per_minute": 0.0})  # recalibrated
    assert sensor.read()["temperature"] == pytest.approx(20.0, abs=0.01)

    world.faults.update("sht", {"stuck": True})
    frozen = sensor.read()
    world.env.set("temperature", 30.0)
    world.env.set("humidity", 80.0)
    assert sensor.read() == frozen
    world.faults.update("sht", {"stuck": False})
    assert sensor.read()["temperature"] == pytest.approx(30.0, abs=0.01)


def test_a_hung_chip_blocks_until_released(build, world):
    sensor = build(BME)
    sensor.setup()
    faults = world.faults.sensors["bme"]
    world.faults.update("bme", {"hang": True})
    result = reads_in_thread(sensor.read)
    wait_until(lambda: faults.hanging == 1)
    assert result["thread"].is_alive()
    world.faults.update("bme", {"hang": False})
    result["thread"].join(5)
    assert isinstance(result["error"], OSError)
    assert result["error"].errno == errno.ETIMEDOUT
    sensor.setup()
    assert set(sensor.read()) == {"temperature", "humidity", "pressure"}


def test_closing_the_world_releases_a_hung_chip(build, world):
    sensor = build(BME)
    sensor.setup()
    world.faults.update("bme", {"hang": True})
    result = reads_in_thread(sensor.read)
    wait_until(lambda: world.faults.sensors["bme"].hanging == 1)
    world.close()
    result["thread"].join(5)
    assert not result["thread"].is_alive()
    with pytest.raises(OSError, match=rf"\[Errno {errno.ETIMEDOUT}\]"):  # closed: no new hang
        sensor.read()


def test_run_time_changes_are_validated(build, world):
    build(BME)
    with pytest.raises(ConfigError, match=r"^dropout: must be a probability"):
        world.faults.update("bme", {"dropout": 2})
    with pytest.raises(ConfigError, match=r"^crc_errors: bme280 replies carry no CRC"):
        world.faults.update("bme", {"crc_errors": 0.5})
    with pytest.raises(ConfigError, match=r"^unplug: unknown key"):
        world.faults.update("bme", {"unplug": True})
    entry = world.faults.update("bme", {"unplugged": True, "noise": 1})
    assert entry["faults"]["unplugged"] is True
    assert entry["faults"]["noise"] == 1.0
    assert entry["unplugged_now"] is True
    assert "crc_errors" not in entry["supported"]
    assert "hang" in entry["supported"]
    assert world.faults.clear("bme")["faults"]["unplugged"] is False


# --- 1-Wire ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("dropout", "empty read from 28-0316a2795e1f"),
        ("crc_errors", "CRC mismatch"),
        ("power_on", r"power-on value 85 °C \(scratchpad byte 6 = 0Ch\)"),
        ("nack_storm", "empty read"),
    ],
)
def test_probe_faults(probe_sensor, world, fault, message):
    world.faults.update("tank", {fault: True if fault == "nack_storm" else 1.0})
    world.tick(0)
    with pytest.raises(SensorError, match=message):
        probe_sensor.read()
    world.faults.clear("tank")
    world.tick(0)
    assert probe_sensor.read() == {"28_0316a2795e1f": 40.5}


def test_probe_garbage_is_refused(probe_sensor, world):
    world.faults.update("tank", {"garbage": 1.0})
    refused = 0
    for _ in range(50):
        world.tick(0)
        try:
            probe_sensor.read()
        except SensorError:
            refused += 1
    assert refused >= 45  # random bytes pass CRC-8 1 time in 256 (and then the range check)


def test_probe_vanishes_and_comes_back(probe_sensor, world):
    world.faults.update("tank", {"unplugged": True})
    assert not (w1_bus(world).base / TANK).exists()
    with pytest.raises(SensorError, match=f"probe {TANK} not found on the 1-Wire bus"):
        probe_sensor.read()
    world.faults.update("tank", {"unplugged": False})
    assert probe_sensor.read() == {"28_0316a2795e1f": 40.5}


def test_a_probe_unplugged_by_hand_stays_unplugged(probe_sensor, world):
    w1_bus(world).probes[TANK].unplug()
    world.faults.update("tank", {"noise": 0.1})
    world.tick(0.5)
    assert not (w1_bus(world).base / TANK).exists()


def test_a_hung_probe_read_blocks_until_released(probe_sensor, world):
    world.faults.update("tank", {"hang": True})
    result = reads_in_thread(probe_sensor.read)
    result["thread"].join(0.3)
    assert result["thread"].is_alive(), "the read should block on the hung w1_slave"
    world.faults.update("tank", {"hang": False})
    result["thread"].join(5)
    assert not result["thread"].is_alive()
    # the blocked read got an empty answer; the driver's one retry found the probe answering
    assert result["value"] == {"28_0316a2795e1f": 40.5}


def test_closing_the_world_releases_a_hung_probe(probe_sensor, world):
    world.faults.update("tank", {"hang": True})
    result = reads_in_thread(probe_sensor.read)
    result["thread"].join(0.3)
    assert result["thread"].is_alive()
    world.close()
    result["thread"].join(5)
    assert not result["thread"].is_alive()
