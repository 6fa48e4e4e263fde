"""The wheel a user installs carries the page and the vendored front-end libraries."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_ships_static_and_vendor(tmp_path: Path):
    if not (ROOT / "static" / "vendor" / "socket.io.esm.min.js").exists():
        pytest.skip("run `make vendor` first (make test does)")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("pi_dashboard-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "pi_dashboard/static/index.html",
        "pi_dashboard/static/js/main.js",
        "pi_dashboard/static/vendor/socket.io.esm.min.js",
        "pi_dashboard/static/vendor/uPlot.esm.js",
        "pi_dashboard/demo.toml",
        "pi_dashboard/sensors/registry.py",
    ):
        assert required in names, required
    assert not [n for n in names if n.startswith(("tests/", "node_modules/"))]
    with zipfile.ZipFile(wheel) as z:
        for n in names:
            if (
                n.startswith("pi_dashboard/static/")
                and n.endswith((".html", ".js", ".css"))
                and "/vendor/" not in n
            ):
                text = z.read(n).decode()
                assert not re.search(r"https?://", text), f"{n} refers to another host"
