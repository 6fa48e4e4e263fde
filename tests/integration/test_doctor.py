"""`pi-dashboard doctor` against simulated Pis, each with one thing wrong: it names the problem and
the fix, and exits 1; a healthy simulated Pi exits 0."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pi_dashboard import doctor
from pi_dashboard.cli.checks import simulated_pi
from pi_dashboard.config import Config
from pi_dashboard.doctor import Finding, Level
from pi_dashboard.errors import ConfigError
from pi_dashboard.sensors.registry import TYPES
from pi_dashboard.sim.world import SimWorld

Cli = Callable[..., subprocess.CompletedProcess[str]]
"""The `cli` fixture (tests/integration/conftest.py)."""

PROBE = "28-0316a2795e1f"
CONFIG = f"""
[server]
host = "127.0.0.1"
port = 0

[[sensors]]
id = "air"
type = "bme280"
address = 0x76

[[sensors]]
id = "door"
type = "contact"
pin = 27

[[sensors]]
id = "tank"
type = "ds18b20"
probes = ["{PROBE}"]

[[sensors]]
id = "greenhouse"
type = "dht22"
gpio = 6

[[sensors]]
id = "pi"
type = "pi_health"
"""

Check = Callable[..., list[Finding]]


@pytest.fixture
def check(world: SimWorld, make_config: Callable[[str], Config]) -> Check:
    """Doctor on the simulated Pi built for CONFIG by the first call; later calls see whatever a
    test broke in between, and may pass another config `text` or replace parts of the Machine."""
    built: list[doctor.Machine] = []

    def run(text: str = CONFIG, **changes: object) -> list[Finding]:
        if not built:
            world.populate(make_config(CONFIG), TYPES)
            built.append(simulated_pi(world))
        machine = dataclasses.replace(built[0], **changes)
        config = make_config(text)
        return doctor.diagnose(machine, config, "/etc/pi-dashboard/config.toml", TYPES)

    return run


def failures(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level is Level.FAIL]


def only_failure(findings: list[Finding]) -> Finding:
    (f,) = failures(findings)
    return f


def test_a_healthy_simulated_pi_has_no_problems(check: Check):
    findings = check()
    assert failures(findings) == [], doctor.report(findings)
    whats = [f.what for f in findings]
    for expected in ("config", "power", "sensor air (bme280)", "GPIO", "sensor tank (ds18b20)"):
        assert expected in whats, whats
    assert "no problems found" in doctor.report(findings)


def test_i2c_not_enabled(check: Check, world: SimWorld):
    check()
    (world.root / "boot/firmware/config.txt").unlink()
    (world.root / "dev/i2c-1").unlink()
    f = only_failure(check())
    assert f.detail == "I2C is not enabled (no /dev/i2c-*)"
    assert f.fix == "sudo raspi-config nonint do_i2c 0 && sudo reboot"


def test_i2c_enabled_but_module_not_loaded(check: Check, world: SimWorld):
    check()
    (world.root / "dev/i2c-1").unlink()
    (world.root / "boot/firmware/config.txt").write_text("dtparam=i2c_arm=on\n")
    f = only_failure(check())
    assert "i2c-dev is not loaded" in f.detail
    assert f.fix.startswith("sudo modprobe i2c-dev")


def test_i2c_bus_that_does_not_exist(check: Check):
    check()
    f = only_failure(check(CONFIG.replace("address = 0x76", "address = 0x76\nbus = 3")))
    assert (f.what, f.detail) == ("I2C bus 3", "no /dev/i2c-3 (this Pi has i2c-1)")
    assert f.fix.startswith("set bus = 1 in the config")


def test_chip_that_does_not_answer(check: Check, world: SimWorld):
    check()
    world.bus(1).unplug(0x76)
    f = only_failure(check())
    assert (f.what, f.detail) == ("sensor air (bme280)", "nothing answers at 0x76 on I2C bus 1")
    assert "SDA to GPIO2, SCL to GPIO3" in f.fix


def test_user_not_in_the_device_groups(check: Check):
    fs = failures(check(groups=frozenset({"pi"})))
    assert [(f.what, f.fix) for f in fs] == [
        ("I2C", "sudo usermod -aG i2c pi, then log out and back in"),
        ("GPIO", "sudo usermod -aG gpio pi, then log out and back in"),
    ]
    assert failures(check(groups=frozenset(), user="root")) == []


def test_no_pin_library_for_gpiozero(check: Check):
    f = only_failure(check(has_module=lambda name: False))
    assert f.detail == "no pin library for gpiozero (lgpio, RPi.GPIO or pigpio)"
    assert f.fix.startswith("sudo apt install python3-lgpio")


def test_no_gpio_chip(check: Check, world: SimWorld):
    check()
    (world.root / "dev/gpiochip0").unlink()
    f = only_failure(check())
    assert "no /dev/gpiochip*" in f.detail
    assert "sensor door (contact) on GPIO 27" in f.detail


def test_onewire_not_enabled(check: Check, world: SimWorld):
    check()
    shutil.rmtree(world.root / "sys/bus/w1")
    f = only_failure(check())
    assert f.detail == "1-Wire is not enabled (no /sys/bus/w1/devices)"
    assert f.fix.startswith("sudo raspi-config nonint do_onewire 0 && sudo reboot")


def test_probe_missing_from_the_bus(check: Check, world: SimWorld):
    check()
    shutil.rmtree(world.root / "sys/bus/w1/devices" / PROBE)
    f = only_failure(check())
    assert f.detail.startswith(f"probe {PROBE} not on the bus")
    assert "4.7 kΩ pull-up" in f.fix


def test_dht_overlay_missing(check: Check, world: SimWorld):
    check()
    for dev in (world.root / "sys/bus/iio/devices").iterdir():
        shutil.rmtree(dev, ignore_errors=True) if dev.is_dir() else dev.unlink()
    f = only_failure(check())
    assert f.detail == "no dht11@6 (the kernel's DHT driver)"
    assert f.fix == "add dtoverlay=dht11,gpiopin=6 to /boot/firmware/config.txt, then sudo reboot"


def test_under_voltage(check: Check, world: SimWorld):
    check()
    world.fs.throttled = 0x50005
    f = only_failure(check())
    assert f.what == "power"
    assert "under-voltage now" in f.detail
    assert "5.1 V" in f.fix
    world.fs.throttled = 0x50000
    (note,) = [f for f in check() if f.what == "power"]
    assert note.level is Level.NOTE


def test_missing_command(check: Check):
    text = CONFIG + '\n[[sensors]]\nid = "c"\ntype = "command"\ncommand = ["no-such-tool-xyz"]\n'
    f = only_failure(check(text))
    assert f.detail == "program 'no-such-tool-xyz' not found"


def test_port_taken_names_the_process(check: Check):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        f = only_failure(check(CONFIG.replace("port = 0", f"port = {port}")))
    assert f.what == f"port {port} on 127.0.0.1"
    assert f.detail.startswith("taken by python")
    assert f.detail.endswith(f"(pid {os.getpid()})")
    assert f.fix == "stop it, or set [server] port to a free one in /etc/pi-dashboard/config.toml"


def test_loopback_host_is_a_note(check: Check):
    (note,) = [f for f in check() if f.what == "server"]
    assert note.level is Level.NOTE
    assert '[server] host = "0.0.0.0"' in note.fix


@pytest.mark.parametrize(
    ("props", "level", "fix"),
    [
        (None, Level.NOTE, ""),
        ({"LoadState": "not-found"}, Level.NOTE, "sudo pi-dashboard install-service"),
        (
            {"LoadState": "loaded", "ActiveState": "failed", "SubState": "failed"},
            Level.FAIL,
            "journalctl -u pi-dashboard -e",
        ),
        (
            {"ActiveState": "activating", "SubState": "auto-restart", "UnitFileState": "enabled"},
            Level.FAIL,
            "journalctl -u pi-dashboard -e",
        ),
        (
            {"ActiveState": "inactive", "SubState": "dead", "UnitFileState": "enabled"},
            Level.FAIL,
            "sudo systemctl start pi-dashboard",
        ),
        ({"ActiveState": "active", "SubState": "running"}, Level.OK, ""),
    ],
)
def test_service_state(check: Check, props, level: Level, fix: str):
    (f,) = [f for f in check(service=lambda: props) if f.what == "service"]
    assert f.level is level
    assert fix in f.fix


def test_invalid_config_names_the_field_and_check_config(world: SimWorld):
    error = ConfigError("must be > 0 seconds", field="sensors[0].interval", file="/x.toml")
    findings = doctor.diagnose(simulated_pi(world), error, "/x.toml", TYPES)
    f = only_failure(findings)
    assert f.detail == "/x.toml: sensors[0].interval: must be > 0 seconds"
    assert f.fix == "edit /x.toml, then: pi-dashboard check-config /x.toml"
    unreadable = ConfigError("permission denied", file="/etc/pi-dashboard/config.toml")
    f = only_failure(doctor.diagnose(simulated_pi(world), unreadable, "/x.toml", TYPES))
    assert f.fix.startswith("sudo pi-dashboard doctor")


def test_cli_mock_exit_0_and_bad_config_exit_1(tmp_path: Path, cli: Cli):
    good = tmp_path / "good.toml"
    good.write_text(CONFIG)
    r = cli("doctor", "--mock", "--config", str(good))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith("no problems found")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[sensors]]\nid = "a"\ntype = "demo"\ninterval = -1\n')
    r = cli("doctor", "--mock", "--config", str(bad))
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"FAIL  config: {bad}: sensors[0].interval: must be > 0 seconds" in r.stdout
    assert f"fix: edit {bad}, then: pi-dashboard check-config {bad}" in r.stdout
    assert "Traceback" not in r.stderr
