"""The build backend: setuptools, plus the front-end libraries the page cannot work without.

A wheel without static/vendor/ installs a page that loads and never connects, so every build
(`pip install .`, `pipx install .`, `python -m build`, `pip install -e .`) first makes sure the
files that package.json's "vendor" map names are in static/vendor/ and match package-lock.json:
if not, it runs `npm ci` and copies them; without npm it stops with one line. An sdist carries
them (and package.json, package-lock.json), so a wheel builds from it without npm.

`python3 build_backend.py` does the same unconditionally: it is `make vendor`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
VENDOR = ROOT / "static" / "vendor"
STAMP = VENDOR / ".stamp"
"""Holds the hash of package.json + package-lock.json the files were copied from."""
NPM_MISSING = (
    "error: building pi-dashboard needs npm to fetch its front-end libraries from "
    "package-lock.json (static/vendor/ is missing or out of date): apt install npm"
)


def vendor_map() -> dict[str, str]:
    """node_modules path -> name in static/vendor/: the one list of shipped front-end files."""
    return json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["vendor"]


def lock_hash() -> str:
    h = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        h.update((ROOT / name).read_bytes())
    return h.hexdigest()


def vendor_is_fresh() -> bool:
    try:
        stamp = STAMP.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return False
    return stamp == lock_hash() and all((VENDOR / n).is_file() for n in vendor_map().values())


def vendor() -> None:
    """`npm ci`, then copy the listed files; SystemExit with one line when npm is missing."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(NPM_MISSING)
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"error: npm ci failed (exit {done.returncode}); see its output above")
    VENDOR.mkdir(parents=True, exist_ok=True)
    for src, name in vendor_map().items():
        shutil.copyfile(ROOT / "node_modules" / src, VENDOR / name)
    STAMP.write_text(lock_hash() + "\n", encoding="utf-8")


def ensure_vendor() -> None:
    if not vendor_is_fresh():
        vendor()


def build_wheel(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    ensure_vendor()
    from setuptools import build_meta

    return build_meta.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_sdist(sdist_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    ensure_vendor()
    from setuptools import build_meta

    return build_meta.build_sdist(sdist_directory, config_settings)


def build_editable(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    ensure_vendor()  # the checkout's static/ is served as is: it needs the libraries too
    from setuptools import build_meta

    return build_meta.build_editable(wheel_directory, config_settings, metadata_directory)


def __getattr__(name: str) -> Any:
    """Every other PEP 517 hook is setuptools' own, imported only when a build asks for it (so
    `python3 build_backend.py` works without setuptools)."""
    from setuptools import build_meta

    return getattr(build_meta, name)


if __name__ == "__main__":
    vendor()
    sys.exit(0)
