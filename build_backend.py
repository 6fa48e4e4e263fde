"""The build backend: setuptools, plus the front-end libraries the page cannot work without.

A wheel without static/vendor/ installs a page that loads and never connects, so every build
(`pip install .`, `pipx install .`, `python -m build`, `pip install -e .`) first makes sure the
files that package.json's "vendor" map names are in static/vendor/ and match package-lock.json:
if not, it runs `npm ci` and copies them; without npm it stops with one line. Then esbuild (from
the same lock file) bundles and minifies the page (static/js, static/css) into static/dist/, which
the server prefers while dist/sources.sha256 matches the sources (pi_dashboard/web/bundle.py).
An sdist carries both (and package.json, package-lock.json), so a wheel builds from it without
npm.

`python3 build_backend.py` does the same unconditionally: it is `make vendor`;
`python3 build_backend.py bundle` only rebuilds static/dist/ (`make` does after a page edit).
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
STATIC = ROOT / "static"
VENDOR = STATIC / "vendor"
DIST = STATIC / "dist"
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


def npm_ci() -> None:
    """SystemExit with one line when npm is missing or fails."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(NPM_MISSING)
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"error: npm ci failed (exit {done.returncode}); see its output above")


def vendor() -> None:
    """`npm ci`, copy the listed files, then bundle the page."""
    npm_ci()
    VENDOR.mkdir(parents=True, exist_ok=True)
    for src, name in vendor_map().items():
        shutil.copyfile(ROOT / "node_modules" / src, VENDOR / name)
    STAMP.write_text(lock_hash() + "\n", encoding="utf-8")
    bundle()


def bundle() -> None:
    """One minified module for the page (socket.io-client inside) and one stylesheet: a phone on
    a slow link makes two requests, not fifteen in a chain of imports. uPlot comes as its own
    minified build when a chart first opens."""
    sys.path.insert(0, str(ROOT))
    from pi_dashboard.web.bundle import STAMP as DIST_STAMP
    from pi_dashboard.web.bundle import sources_hash

    esbuild = ROOT / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        npm_ci()
    shutil.rmtree(DIST, ignore_errors=True)
    common = ["--bundle", "--minify", "--log-level=warning", "--legal-comments=eof"]
    for args in (
        ["js/main.js", "--format=esm", "--target=es2020", "--outfile=dist/main.js"],
        ["css/app.css", "--outfile=dist/app.css"],
    ):  # fmt: skip
        done = subprocess.run([str(esbuild), *args, *common], cwd=STATIC, check=False)
        if done.returncode != 0:
            raise SystemExit(f"error: esbuild failed (exit {done.returncode}); see above")
    (STATIC / DIST_STAMP).write_text(sources_hash(STATIC) + "\n", encoding="utf-8")


def bundle_is_fresh() -> bool:
    sys.path.insert(0, str(ROOT))
    from pi_dashboard.web.bundle import bundle_is_fresh as fresh

    return fresh(STATIC)


def ensure_vendor() -> None:
    if not vendor_is_fresh():
        vendor()
    elif not bundle_is_fresh():
        bundle()


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

    # A plain path .pth (the checkout on sys.path) rather than setuptools' import-hook finder,
    # which every start of `.venv/bin/pi-dashboard` would import first (~2 ms, with
    # importlib.util); static/ and systemd/ are found beside the package (pi_dashboard.data_dir).
    settings = {"editable_mode": "compat", **(config_settings or {})}
    return build_meta.build_editable(wheel_directory, settings, metadata_directory)


def __getattr__(name: str) -> Any:
    """Every other PEP 517 hook is setuptools' own, imported only when a build asks for it (so
    `python3 build_backend.py` works without setuptools)."""
    from setuptools import build_meta

    return getattr(build_meta, name)


if __name__ == "__main__":
    bundle() if sys.argv[1:] == ["bundle"] else vendor()
    sys.exit(0)
