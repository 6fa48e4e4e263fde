"""pi_health: parsers against fixed kernel-format text, then the sensor over the simulated tree."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import NoReturn

import pytest

from pi_dashboard.config import SensorConfig
from pi_dashboard.errors import ConfigError, SensorError
from pi_dashboard.hw import Hardware
from pi_dashboard.hw.system import (
    THROTTLED_FILE,
    CpuTimes,
    DiskUsage,
    SystemInfo,
    WirelessLink,
    cpu_percent,
    decode_throttled,
    parse_cpu_times,
    parse_meminfo,
    parse_throttled,
    parse_wireless,
)
from pi_dashboard.model import DeviceClass
from pi_dashboard.sensors.pi_health import TYPE, PiHealthOptions
from pi_dashboard.sim.world import SimWorld

PI_HEALTH = '[[sensors]]\nid = "pi"\ntype = "pi_health"\n'

# --- parsers ---------------------------------------------------------------------------------

WIRELESS = (
    "Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE\n"
    " face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22\n"
    " wlan0: 0000   59.  -51.  -256        0      0      0     94      0        0\n"
    " wlan1: 0000   40.  200.  -256        0      0      0      0      0        0\n"
    " wlan2: 0000    0.    0.  -256        0      0      0      0      0        0\n"
)


def test_parse_wireless_kernel_format():
    links = parse_wireless(WIRELESS)
    assert links["wlan0"] == WirelessLink(quality=59.0, level_dbm=-51.0)
    assert links["wlan1"].level_dbm == -56.0  # unsigned-byte drivers: 200 means -56 dBm
    assert "wlan2" not in links  # level 0: not associated, no signal measured


def test_parse_wireless_headers_only_means_no_wifi():
    assert parse_wireless(WIRELESS.split(" wlan0")[0]) == {}
    assert parse_wireless("") == {}


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("throttled=0x50005\n", 0x50005),  # vcgencmd get_throttled
        ("throttled=0x0\n", 0),
        ("50005\n", 0x50005),  # sysfs get_throttled: "%x\n"
        ("0\n", 0),
        ("e0008\n", 0xE0008),
    ],
)
def test_parse_throttled(text, word):
    assert parse_throttled(text) == word


def test_parse_throttled_rejects_garbage():
    with pytest.raises(ValueError, match="not a throttle word"):
        parse_throttled("VCHI initialization failed\n")


def test_decode_throttled_0x50005():
    flags = decode_throttled(0x50005)
    on = {name for name, v in flags.items() if v}
    assert on == {"undervoltage", "throttled", "undervoltage_since_boot", "throttled_since_boot"}


def test_decode_throttled_zero_and_soft_limit():
    assert not any(decode_throttled(0x0).values())
    flags = decode_throttled(0x80008)
    assert {n for n, v in flags.items() if v} == {"soft_temp_limit", "soft_temp_limit_since_boot"}
    assert {n for n, v in decode_throttled(0x20002).items() if v} == {
        "freq_capped",
        "freq_capped_since_boot",
    }


STAT_1 = (
    "cpu  4705 356 584 3699 23 23 0 0 0 0\n"
    "cpu0 1393 280 290 1800 13 14 0 0 0 0\n"
    "cpu1 3312 76 294 1899 10 9 0 0 0 0\n"
    "intr 114930548 113199788 3 0 5 263 0 4 [... lots more numbers ...]\n"
    "ctxt 1990473\nbtime 1062191376\nprocesses 2915\nprocs_running 1\nprocs_blocked 0\n"
)
STAT_2 = (
    "cpu  4805 356 634 3749 23 23 0 0 0 0\n"  # +100 user +50 system +50 idle
    "cpu0 1393 280 290 1850 13 14 0 0 0 0\n"  # idle only
    "cpu1 3412 76 344 1899 10 9 0 0 0 0\n"  # busy only
    "intr 0\n"
)


def test_cpu_percent_from_two_samples():
    before, after = parse_cpu_times(STAT_1), parse_cpu_times(STAT_2)
    assert set(before) == {"cpu", "cpu0", "cpu1"}
    assert cpu_percent(before["cpu"], after["cpu"]) == pytest.approx(75.0)
    assert cpu_percent(before["cpu0"], after["cpu0"]) == 0.0
    assert cpu_percent(before["cpu1"], after["cpu1"]) == 100.0
    assert cpu_percent(before["cpu"], before["cpu"]) is None  # no time passed: no figure


def test_cpu_times_count_iowait_as_idle_and_guest_once():
    (t,) = parse_cpu_times("cpu 10 0 10 70 10 0 0 0 5 0\n").values()
    assert t == CpuTimes(busy=20, total=100)  # guest (5) is already inside user


def test_meminfo_in_bytes():
    m = parse_meminfo("MemTotal:  1000 kB\nMemAvailable:  250 kB\nHugePages_Total:  0\n")
    assert m == {"MemTotal": 1_024_000, "MemAvailable": 256_000, "HugePages_Total": 0}


def test_disk_used_percent_like_df():
    # 1000 blocks, 100 free of which 50 reserved for root: df says 900 / (900 + 50)
    assert DiskUsage(total=1000, used=900, available=50).used_percent == pytest.approx(94.74, 0.01)


# --- throttle word sources -------------------------------------------------------------------


def fake_vcgencmd(tmp_path: Path, output: str, code: int = 0) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "vcgencmd"
    exe.write_text(f"#!/bin/sh\nprintf '{output}'\nexit {code}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return bindir


def test_throttled_prefers_sysfs(tmp_path):
    (tmp_path / THROTTLED_FILE).parent.mkdir(parents=True)
    (tmp_path / THROTTLED_FILE).write_text("50005\n")
    assert SystemInfo(tmp_path).throttled() == 0x50005


def test_throttled_falls_back_to_vcgencmd(tmp_path, monkeypatch):
    bindir = fake_vcgencmd(tmp_path, "throttled=0x50000\\n")
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    assert SystemInfo(tmp_path, vcgencmd=True).throttled() == 0x50000
    # a simulated or foreign root never asks this machine's firmware
    assert SystemInfo(tmp_path).throttled() is None


def test_throttled_without_any_source_is_none(tmp_path, monkeypatch):
    bindir = fake_vcgencmd(tmp_path, "VCHI initialization failed\\n", code=255)
    monkeypatch.setenv("PATH", str(bindir))
    assert SystemInfo(tmp_path, vcgencmd=True).throttled() is None
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert SystemInfo(tmp_path, vcgencmd=True).throttled() is None


# --- the sensor over the simulated tree ------------------------------------------------------


def test_first_read_has_no_cpu_percent_then_it_does(make_sensor, world: SimWorld):
    s = make_sensor(PI_HEALTH)
    s.setup()
    first = s.read()
    assert "cpu_usage" not in first
    assert "cpu0_usage" not in first
    assert first["cpu_temperature"] == pytest.approx(world.env.cpu_temperature, abs=0.001)
    assert first["uptime"] == pytest.approx(world.fs.uptime, abs=0.01)
    world.tick(10.0)
    second = s.read()
    assert 0.0 < second["cpu_usage"] < 100.0
    assert {f"cpu{i}_usage" for i in range(4)} <= set(second)
    assert second["uptime"] == pytest.approx(first["uptime"] + 10.0, abs=0.01)
    for key in ("load_1m", "load_5m", "load_15m", "memory_used", "disk_used", "disk_free"):
        assert key in second


def test_throttle_flags_follow_the_firmware_word(make_sensor, world: SimWorld):
    s = make_sensor(PI_HEALTH)
    s.setup()
    assert s.read()["undervoltage"] is False
    world.fs.throttled = 0x50005
    r = s.read()
    assert (r["undervoltage"], r["undervoltage_since_boot"]) == (True, True)
    assert (r["throttled"], r["throttled_since_boot"]) == (True, True)
    assert (r["freq_capped"], r["soft_temp_limit"]) == (False, False)
    world.fs.throttled = 0x50000  # healthy now, but it did happen since boot
    r = s.read()
    assert (r["undervoltage"], r["undervoltage_since_boot"]) == (False, True)
    flags = [c for c in s.channels if c.id.startswith("undervoltage")]
    assert all(c.binary and c.device_class is DeviceClass.PROBLEM for c in flags)


def test_machine_without_throttle_word_or_wifi_has_no_such_channels(make_sensor, world):
    world.fs.throttled = None
    world.fs.wifi_level = None
    s = make_sensor(PI_HEALTH)
    s.setup()
    ids = {c.id for c in s.channels}
    assert "undervoltage" not in ids
    assert "wifi_signal" not in ids
    values = s.read()
    assert "undervoltage" not in values
    assert "wifi_signal" not in values
    assert "memory_available" in values


def test_wifi_signal_in_dbm(make_sensor, world: SimWorld):
    world.fs.wifi_level = -67
    s = make_sensor(PI_HEALTH)
    s.setup()
    assert s.read()["wifi_signal"] == -67.0
    meta = next(c for c in s.channels if c.id == "wifi_signal")
    assert (meta.unit, meta.device_class) == ("dBm", DeviceClass.SIGNAL_STRENGTH)
    world.fs.wifi_level = None  # wlan0 went away: the value is left out, not an error
    assert "wifi_signal" not in s.read()


def test_channels_only_grow_at_setup(make_sensor):
    s = make_sensor(PI_HEALTH)
    before = [c.id for c in s.channels]
    s.setup()
    after = [c.id for c in s.channels]
    assert set(before) < set(after)
    assert after[0] == "cpu_temperature"
    s.setup()
    assert [c.id for c in s.channels] == after


def test_missing_default_thermal_zone_is_left_out(make_sensor, world: SimWorld):
    s = make_sensor(PI_HEALTH)
    (world.root / "sys/class/thermal/thermal_zone0/temp").unlink()
    s.setup()  # a laptop or container: no thermal zone, everything else still reads
    values = s.read()
    assert "cpu_temperature" not in values
    assert "memory_used" in values


def test_a_failing_source_is_logged_when_it_starts_and_ends(make_sensor, tmp_path, caplog):
    """A mistyped `disk_path` leaves its two channels out, with one warning (not one per read),
    and one "recovered" line once the path exists."""
    disk = tmp_path / "data"
    s = make_sensor(PI_HEALTH + f'disk_path = "{disk}"\n')
    s.setup()
    caplog.set_level("INFO", logger="pi_dashboard.sensors.base")
    for _ in range(3):
        values = s.read()
        assert "disk_free" not in values
        assert "memory_used" in values
    failed = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert failed == [f"sensor pi: source {disk} failed: No such file or directory: {disk}"]
    disk.mkdir()
    assert "disk_free" in s.read()
    s.read()
    assert [r.getMessage() for r in caplog.records if "recovered" in r.getMessage()] == [
        f"sensor pi: source {disk} recovered"
    ]


def test_missing_configured_thermal_zone_is_an_error(make_sensor):
    s = make_sensor(PI_HEALTH + "thermal_zone = 3\n")
    s.setup()
    with pytest.raises(SensorError, match=r"no CPU temperature at .*thermal_zone3/temp"):
        s.read()


def _no_bus_or_pins(*_args: object) -> NoReturn:
    raise AssertionError("pi_health touched a bus or a pin")


def test_nothing_readable_is_an_error(tmp_path):
    hw = Hardware(i2c=_no_bus_or_pins, pin_factory=_no_bus_or_pins, root=tmp_path / "empty")
    options = PiHealthOptions(disk_path=str(tmp_path / "no-such-dir"))
    cfg = SensorConfig(id="pi", type="pi_health", name="pi", interval=5.0, options=options)
    s = TYPE.create(cfg, hw)
    s.setup()
    with pytest.raises(SensorError, match="nothing readable"):
        s.read()


def test_config_names_bad_fields(make_config):
    with pytest.raises(ConfigError) as e:
        make_config(PI_HEALTH + "thermal_zone = -1\n")
    assert e.value.field == "sensors[0].thermal_zone"
    make_config(PI_HEALTH + '[sensors.channels.cpu3_usage]\nname = "Core 3"\n')  # a known id
