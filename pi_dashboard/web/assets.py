"""Static files as a phone on a slow link should get them: gzipped once and kept in memory, and
named by a hash of the release so they are cached for a year and fetched again only after one.

index.html names its assets `static/...`; the page handler (web/routes.py) rewrites that to
`static/v/<release>/...`, and to the minified bundle (static/dist/) while it is fresh
(web/bundle.py). Relative imports inside the modules then stay under the same release prefix.
The release is a hash of every file's content, recomputed when a file's size or time changes.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html import escape as html_escape
from pathlib import Path

from pi_dashboard.web.bundle import ENTRIES, bundle_is_fresh

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
}
COMPRESS = {".html", ".js", ".mjs", ".css", ".svg", ".json", ".webmanifest", ".txt"}
MIN_GZIP_BYTES = 512
"""Below this a gzip header costs about what it saves."""


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    etag: str
    content_type: str
    signature: tuple[int, int]
    """(size, mtime_ns) it was read with: a changed file is read again."""


@dataclass(frozen=True, slots=True)
class Release:
    version: str
    bundled: bool


class Assets:
    """Every file under `root`, read, hashed and gzipped on first request, on a worker thread.

    One thread of its own, not the loop's default executor: a page load asks for a dozen files
    at once, and the default executor would start a thread for each waiting one (up to cores + 4)
    and keep them all for the life of the process, each with its stack and malloc arena touched
    (5-6 threads instead of 3 after a page load here, +0.25 MB: docs/performance.md)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._files: dict[Path, Asset] = {}
        self._release: tuple[tuple[object, ...], Release] | None = None
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assets")
        """Also gzips the page (web/routes.py), which aiohttp would do on the default executor."""

    async def get(self, name: str) -> Asset | None:
        """The file `name` means under root, or None (outside root, not a file, unreadable)."""
        return await asyncio.get_running_loop().run_in_executor(self.thread, self._load, name)

    async def release(self) -> Release:
        return await asyncio.get_running_loop().run_in_executor(self.thread, self._current)

    async def close(self, _app: object = None) -> None:
        """On the app's cleanup: the thread ends once its queue is done, never waited for."""
        self.thread.shutdown(wait=False)

    def _load(self, name: str) -> Asset | None:
        try:
            path = (self.root / name).resolve()
            path.relative_to(self.root)
            st = path.stat()
        except (ValueError, OSError):  # outside root; ENAMETOOLONG; missing
            return None
        if not path.is_file():
            return None
        signature = (st.st_size, st.st_mtime_ns)
        cached = self._files.get(path)
        if cached is not None and cached.signature == signature:
            return cached
        try:
            body = path.read_bytes()
        except OSError:
            return None
        zipped = None
        if path.suffix in COMPRESS and len(body) >= MIN_GZIP_BYTES:
            zipped = gzip.compress(body, compresslevel=9, mtime=0)
        asset = Asset(
            body=body,
            gzipped=zipped,
            etag='"' + hashlib.sha256(body).hexdigest()[:20] + '"',
            content_type=TYPES.get(path.suffix, "application/octet-stream"),
            signature=signature,
        )
        self._files[path] = asset
        return asset

    def _current(self) -> Release:
        files = sorted(p for p in self.root.rglob("*") if p.is_file())
        signature = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
        if self._release is not None and self._release[0] == signature:
            return self._release[1]
        h = hashlib.sha256()
        for p in files:
            h.update(p.relative_to(self.root).as_posix().encode() + b"\0" + p.read_bytes())
        release = Release(version=h.hexdigest()[:12], bundled=bundle_is_fresh(self.root))
        self._release = (signature, release)
        return release


def page_html(template: str, release: Release, *, title: str, kiosk: bool, snapshot: bytes) -> str:
    """index.html with its asset URLs under the release, its title, the values the server knows
    now (so the page shows them before any socket connects), and kiosk mode before first paint."""
    name = html_escape(title)
    html = template.replace("<title>pi-dashboard</title>", f"<title>{name}</title>", 1)
    html = html.replace('<h1 id="title">pi-dashboard</h1>', f'<h1 id="title">{name}</h1>', 1)
    if release.bundled:
        for source, built in ENTRIES.items():
            html = html.replace(f'"static/{source}"', f'"static/{built}"')
    html = html.replace('"static/', f'"static/v/{release.version}/')
    if kiosk:
        html = html.replace("<html ", "<html data-kiosk ", 1)
    # a JSON data block is not a script: CSP lets it be; "</" inside must not end the element
    data = snapshot.replace(b"</", b"<\\/").decode()
    block = f'<script type="application/json" id="snapshot">{data}</script>'
    return html.replace("<!--snapshot-->", block, 1)
