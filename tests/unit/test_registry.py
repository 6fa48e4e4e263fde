"""The registry is the one list of sensor types: everything else about a type is derived from it
or checked against it here (its simulated counterpart, docs/sensors.md, the demo config).

The registry is lazy, so nothing else imports every entry: this test does.
"""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

from pi_dashboard.demo import demo_config
from pi_dashboard.hw import Hardware
from pi_dashboard.sensors.base import SensorType
from pi_dashboard.sensors.registry import ENTRIES, TYPES
from pi_dashboard.sim.world import placer

ROOT = Path(__file__).resolve().parents[2]
SIM = ROOT / "pi_dashboard" / "sim"


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_entry_imports_and_names_itself(name):
    t = TYPES[name]
    assert isinstance(t, SensorType)
    assert t.name == name
    assert TYPES[name] is t  # imported once


def test_unknown_type_is_a_key_error():
    assert "bme281" not in TYPES
    assert TYPES.get("bme281") is None
    with pytest.raises(KeyError):
        TYPES["bme281"]


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_simulated_counterpart_resolves(name):
    """`simulated` is a name (sensors never import sim): it must name a real placer."""
    where = TYPES[name].simulated
    if where is None:
        assert name in ("command", "demo"), f"{name} has no simulated device for mock mode"
        return
    place = placer(where)
    assert list(inspect.signature(place).parameters) == ["world", "cfg"], where


def test_every_placer_is_some_types_counterpart():
    """A `place*` function no type names would be dead code that looks alive."""
    named = {TYPES[n].simulated for n in TYPES} - {None}
    defined = set()
    for path in SIM.rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and re.fullmatch(r"place(_\w+)?", node.name):
                defined.add(f"{module}:{node.name}")
    assert defined == named


def _untouchable(*_args: object) -> NoReturn:
    raise AssertionError("a sensor touched hardware in its constructor; do that in setup()")


def test_constructors_never_touch_hardware():
    """`run` builds every sensor before the port is bound; only `setup()` may open buses."""
    config = demo_config()
    hardware = Hardware(i2c=_untouchable, pin_factory=_untouchable, root=Path("/nonexistent"))
    for cfg in config.sensors:
        sensor = TYPES[cfg.type].create(cfg, hardware)
        assert sensor.channels is not None


def test_demo_config_shows_every_type():
    """`make run` shows what the daemon can do: a sensor of every type, simulated."""
    assert {s.type for s in demo_config().sensors} == set(TYPES)


def _row(t: SensorType[object]) -> str:
    return f"| `{t.name}` | {t.description} | {t.default_interval:g} s | {t.min_interval:g} s |"


def test_docs_table_is_the_registry():
    """docs/sensors.md's table lists every type, as the registry describes it, in order."""
    lines = (ROOT / "docs" / "sensors.md").read_text().splitlines()
    start = lines.index("| type | what | default interval | minimum |") + 2
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    expected = [_row(TYPES[name]) for name in sorted(TYPES)]
    assert lines[start:end] == expected, "docs/sensors.md's table should read:\n" + "\n".join(
        expected
    )


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_docs_have_a_config_example(name):
    docs = (ROOT / "docs" / "sensors.md").read_text()
    assert f'type = "{name}"' in docs, f"docs/sensors.md has no config example for {name}"


def test_a_demo_config_does_not_import_drivers_or_gpiozero():
    """A daemon imports only what its config uses (startup time on a Pi Zero)."""
    code = (
        "import sys, tomllib\n"
        "from pi_dashboard.app import create_app\n"
        "from pi_dashboard.config import parse_config\n"
        "from pi_dashboard.sensors.registry import TYPES\n"
        'c = parse_config(tomllib.loads(\'[[sensors]]\\nid = "d"\\ntype = "demo"\\n\'), TYPES)\n'
        "create_app(c, mock=False)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('gpiozero', 'pi_dashboard.drivers',"
        " 'pi_dashboard.sim'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
