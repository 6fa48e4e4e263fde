"""The registry is lazy, so nothing else imports every entry: this test does."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pi_dashboard.sensors.base import SensorType
from pi_dashboard.sensors.registry import ENTRIES, TYPES


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
