"""`pi-dashboard scan --mock` finds every simulated device of the demo config, and its TOML block
validates with check-config: what scan prints is what a user pastes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pi_dashboard.app import scan
from pi_dashboard.demo import demo_config
from pi_dashboard.sensors.registry import TYPES


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pi_dashboard", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_scan_finds_every_simulated_chip():
    config = demo_config()
    wanted = {
        (s.options.bus, s.options.address, s.type)
        for s in config.sensors
        if TYPES[s.type].i2c_addresses
    }
    assert wanted, "the demo config has I2C sensors"
    result = scan(mock=True, config=config)
    found = {(f.bus, f.address, f.type) for f in result.i2c}
    assert found == wanted
    for f in result.i2c:
        if TYPES[f.type].identify is not None:
            assert f.identified, f"{f.type} at 0x{f.address:02x} was not identified by its chip"


def test_scan_lists_onewire_and_iio():
    config = demo_config()
    result = scan(mock=True, config=config)
    if any(s.type == "ds18b20" for s in config.sensors):
        assert [p for p in result.onewire if p.startswith("28-")]
    if any(s.type in ("dht11", "dht22") for s in config.sensors):
        assert [n for _, n in result.iio if n.startswith("dht11@")]


def test_scan_toml_round_trips_through_check_config(tmp_path: Path):
    r = cli("scan", "--mock", "--toml")
    assert r.returncode == 0, r.stderr
    assert "[[sensors]]" in r.stdout
    path = tmp_path / "scanned.toml"
    path.write_text(r.stdout)
    check = cli("check-config", str(path))
    assert check.returncode == 0, check.stderr
    n = r.stdout.count("[[sensors]]")
    assert f"ok ({n} sensors)" in check.stdout


def test_scan_report_is_readable():
    r = cli("scan", "--mock")
    assert r.returncode == 0, r.stderr
    assert "I2C bus 1:" in r.stdout
    assert "0x76  bme280" in r.stdout
    assert "0x77  bmp280" in r.stdout
