"""Which page sources the minified bundle in static/dist/ was built from.

build_backend.py bundles static/js/ and static/css/ with esbuild (from package-lock.json) into
static/dist/ and writes `sources_hash()` into dist/sources.sha256; the server serves the bundle
only while that still matches, else the source modules, so an edited checkout never runs a stale
bundle.
No third-party imports: the build imports this before anything is installed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

SOURCES = ("js", "css", "vendor")
"""What the bundle is made of (vendor: socket.io-client and uPlot, copied from node_modules)."""
STAMP = Path("dist") / "sources.sha256"
"""Not a dotfile: the wheel's package data takes every file but those."""
ENTRIES = {"js/main.js": "dist/main.js", "css/app.css": "dist/app.css"}
"""What index.html names -> what it names instead when the bundle is fresh."""


def sources_hash(static: Path) -> str:
    h = hashlib.sha256()
    for sub in SOURCES:
        for path in sorted((static / sub).rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                h.update(path.relative_to(static).as_posix().encode() + b"\0")
                h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def bundle_is_fresh(static: Path) -> bool:
    try:
        stamp = (static / STAMP).read_text(encoding="utf-8").strip()
    except OSError:
        return False
    return stamp == sources_hash(static) and all((static / f).is_file() for f in ENTRIES.values())
