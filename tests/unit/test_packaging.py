"""pyproject.toml lists packages by hand (static/ and systemd/ are mapped into pi_dashboard):
a new subpackage left off the list would be missing from the wheel, so this test finds it."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_is_listed_and_every_listed_one_exists():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    mapped = setuptools["package-dir"]
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "pi_dashboard").rglob("__init__.py")
    }
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages"
    for name in listed:
        where = ROOT / mapped.get(name, name.replace(".", "/"))
        assert where.is_dir(), f"{name}: no {where}"
    assert (ROOT / mapped["pi_dashboard.static"] / "index.html").is_file()
    assert (ROOT / mapped["pi_dashboard.systemd"] / "pi-dashboard.service.in").is_file()
