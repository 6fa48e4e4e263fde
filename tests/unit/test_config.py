"""The config loader, in process: every error a user can make gets one line naming the field.

`check-config` and `run` load a config through exactly this (`demo.load`), so what passes here is
what they print; tests/integration/test_cli.py checks the exit codes of a few of these cases.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pi_dashboard.config import ServerConfig
from pi_dashboard.demo import load
from pi_dashboard.errors import ConfigError

# (name, config text or None for a missing file, text the one line must contain)
BAD = [
    (
        "wrong type",
        '[[sensors]]\nid = "a"\ntype = "demo"\ninterval = "ten"\n',
        'sensors[0].interval: must be a number, got "ten"',
    ),
    (
        "unknown key",
        '[[sensors]]\nid = "a"\ntype = "demo"\nintervall = 1\n',
        "sensors[0].intervall: unknown key",
    ),
    (
        "duplicate id",
        '[[sensors]]\nid = "a"\ntype = "demo"\n\n[[sensors]]\nid = "a"\ntype = "demo"\n',
        'sensors[1].id: duplicate id "a" (also sensors[0])',
    ),
    ("bad port", "[server]\nport = 99999\n", "server.port: 99999 is not a TCP port"),
    ("bad TOML", '[[sensors]]\nid = "a\n', "invalid TOML"),
    ("missing file", None, "no such file"),
    (
        "unknown type",
        '[[sensors]]\nid = "a"\ntype = "bme281"\n',
        'sensors[0].type: unknown sensor type "bme281"',
    ),
    (
        "negative interval",
        '[[sensors]]\nid = "a"\ntype = "demo"\ninterval = -1\n',
        "sensors[0].interval: must be > 0 seconds",
    ),
    (
        "bad id",
        '[[sensors]]\nid = "Living Room"\ntype = "demo"\n',
        'sensors[0].id: "Living Room" is not a valid id',
    ),
    (
        "unknown channel",
        '[[sensors]]\nid = "a"\ntype = "demo"\n[sensors.channels.temprature]\noffset = 1\n',
        "sensors[0].channels.temprature: unknown channel",
    ),
    (
        "bad filter",
        '[[sensors]]\nid = "a"\ntype = "demo"\n[sensors.channels.temperature]\n'
        "filters = [{median = {window_size = 0}}]\n",
        "sensors[0].channels.temperature.filters[0].median.window_size: must be >= 1",
    ),
    ("unknown section", "[sever]\nport = 1\n", "sever: unknown section"),
    ("missing type", '[[sensors]]\nid = "a"\n', "sensors[0].type: is required"),
    (
        "bool for number",
        '[[sensors]]\nid = "a"\ntype = "demo"\ndeadband = true\n',
        "sensors[0].deadband: must be a number, got true",
    ),
    ("not utf-8", b'[server]\ntitle = "\xff"\n', "not UTF-8"),
    (
        "bad unit",
        '[[sensors]]\nid = "a"\ntype = "demo"\n[sensors.channels.humidity]\nunit = "°F"\n',
        'sensors[0].channels.humidity.unit: cannot convert % to "°F"',
    ),
]


def write(tmp_path: Path, text: str | bytes | None) -> Path:
    path = tmp_path / "my.toml"
    if text is not None:
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.parametrize(("name", "text", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_config_is_one_line_naming_file_and_field(tmp_path: Path, name, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load(path)
    line = str(e.value)
    assert "\n" not in line
    assert line.startswith(f"{path}: "), line
    assert expected in line, line


def test_good_config_loads_typed(tmp_path: Path):
    config = load(write(tmp_path, GOOD))
    assert config.server == ServerConfig(port=8080)
    (sensor,) = config.sensors
    assert (sensor.id, sensor.type, sensor.name, sensor.interval) == ("a", "demo", "a", 1.0)
    assert sensor.options.step == 0.5  # the type's own keys, as its options dataclass


def test_without_a_file_the_demo_config_loads():
    config = load(None)
    assert config.source == "<built-in demo config>"
    assert config.server.host == "127.0.0.1"


GOOD = """
[server]
port = 8080

[[sensors]]
id = "a"
type = "demo"
interval = 1
"""
