"""What a user installs: an sdist and a wheel built from a copy of the source without the
front-end libraries, installed into a fresh venv that cannot see the checkout, and run from it.

Slow (pip installs the dependencies from its cache or the index): marked `slow`, still part of
`make test`, since a broken package is the first thing a new user would meet.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("build_backend", ROOT / "build_backend.py")
assert _spec is not None
assert _spec.loader is not None
build_backend = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_backend)
NPM_MISSING, vendor_map = build_backend.NPM_MISSING, build_backend.vendor_map

pytestmark = pytest.mark.slow

NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "vendor", "build", "dist", "*.egg-info", "__pycache__",
    ".pytest_cache", ".ruff_cache", ".bench", "data",
)  # fmt: skip
"""Everything a fresh clone does not have, and static/vendor/, which the build must make."""
SERVING_RE = re.compile(r"serving http://127\.0\.0\.1:(\d+)/")
JS_IMPORT_RE = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']""")
SNAPSHOT_CLIENT = """
import asyncio, sys
import socketio

async def main(url):
    sio = socketio.AsyncClient()
    got = asyncio.get_running_loop().create_future()

    @sio.on("snapshot")
    async def snapshot(data):
        if not got.done():
            got.set_result(data)

    await sio.connect(url, transports=["websocket"], wait_timeout=10)
    data = await asyncio.wait_for(got, 10)
    await sio.disconnect()
    print(len(data["sensors"]), data["protocol"])

asyncio.run(main(sys.argv[1]))
"""


def source_copy(dest: Path) -> Path:
    shutil.copytree(ROOT, dest, ignore=NOT_SOURCE)
    assert not (dest / "static" / "vendor").exists()
    return dest


def without_npm(tmp: Path) -> dict[str, str]:
    """An environment whose PATH has no npm (nor anything else: pip runs by absolute path)."""
    empty = tmp / "empty-bin"
    empty.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = str(empty)
    return env


def run(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload]
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        stdin=subprocess.DEVNULL,
        **kwargs,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(sdist, wheel): the sdist from a copy without static/vendor/ (so the build runs npm ci),
    then the wheel from that sdist with npm off PATH (so the sdist alone must be enough)."""
    tmp = tmp_path_factory.mktemp("package")
    src = source_copy(tmp / "src")
    out = tmp / "dist"
    r = run(sys.executable, "-m", "build", "--sdist", "--outdir", out, src)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (sdist,) = out.glob("pi_dashboard-*.tar.gz")
    r = run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, sdist,
        env=without_npm(tmp), cwd=tmp,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (wheel,) = out.glob("pi_dashboard-*.whl")
    return sdist, wheel


def test_sdist_carries_what_a_wheel_build_needs(built: tuple[Path, Path]):
    sdist, _ = built
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for required in (
        "pyproject.toml",
        "build_backend.py",
        "package.json",
        "package-lock.json",
        "static/index.html",
        "static/vendor/.stamp",
        "systemd/pi-dashboard.service.in",
        *(f"static/vendor/{name}" for name in vendor_map().values()),
    ):
        assert required in names, required
    assert "setup.py" not in names


def test_wheel_ships_page_libraries_unit_and_no_foreign_urls(built: tuple[Path, Path]):
    _, wheel = built
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        for required in (
            "pi_dashboard/static/index.html",
            "pi_dashboard/static/js/main.js",
            "pi_dashboard/static/dist/main.js",
            "pi_dashboard/static/dist/sources.sha256",
            "pi_dashboard/demo.toml",
            "pi_dashboard/systemd/pi-dashboard.service.in",
            "pi_dashboard/sensors/registry.py",
            *(f"pi_dashboard/static/vendor/{name}" for name in vendor_map().values()),
        ):
            assert required in names, required
        assert not [n for n in names if n.startswith(("tests/", "node_modules/", "static/"))]
        ours = [
            n
            for n in names
            if n.startswith("pi_dashboard/static/")
            and n.endswith((".html", ".js", ".css"))
            and "/vendor/" not in n
            and "/dist/" not in n  # the bundle holds socket.io-client's own code and comments
        ]
        assert ours
        for n in ours:
            assert not re.search(r"https?://", z.read(n).decode()), n


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith(("#", "data:")):
                self.urls.append(value)


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.status == 200, url
        return r.read()


def page_assets(base: str) -> Iterator[tuple[str, bytes]]:
    """The page and everything it references, following the ES modules' imports."""
    html = fetch(base).decode()
    yield base, html.encode()
    parser = _Assets()
    parser.feed(html)
    todo = [urllib.parse.urljoin(base, u) for u in parser.urls]
    seen: set[str] = set()
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        body = fetch(url)
        yield url, body
        if url.endswith(".js"):
            for spec in JS_IMPORT_RE.findall(body.decode()):
                if spec.startswith("."):
                    todo.append(urllib.parse.urljoin(url, spec))


def test_installed_wheel_serves_page_assets_and_live_feed(built: tuple[Path, Path], tmp_path: Path):
    _, wheel = built
    venv = tmp_path / "venv"
    r = run(sys.executable, "-m", "venv", venv)
    assert r.returncode == 0, r.stderr
    py, exe = venv / "bin" / "python", venv / "bin" / "pi-dashboard"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    r = run(py, "-m", "pip", "install", "-q", wheel, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    where = run(
        py, "-c", "import pi_dashboard; print(pi_dashboard.__file__)", env=env, cwd=tmp_path
    )
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout + where.stderr

    proc = subprocess.Popen(
        [exe, "run", "--mock", "--port", "0"],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 30
        port = None
        while port is None:
            assert time.monotonic() < deadline, "no startup line"
            line = proc.stderr.readline()
            assert line, f"the installed daemon exited: {proc.wait()}"
            if m := SERVING_RE.search(line):
                port = int(m.group(1))
        base = f"http://127.0.0.1:{port}/"
        assets = dict(page_assets(base))
        names = {urllib.parse.urlparse(u).path.rsplit("/", 1)[-1] for u in assets}
        for required in ("main.js", "app.css"):  # the minified bundle: socket.io-client inside
            assert required in names, sorted(names)
        assert any("/dist/main.js" in u for u in assets), "the wheel serves the bundle"
        assert all(assets.values()), [u for u, b in assets.items() if not b]
        chart = next(u for u in assets if "/dist/" in u).replace("dist/main.js", "")
        assert fetch(urllib.parse.urljoin(chart, "vendor/uPlot.iife.min.js"))  # a chart's 1st open

        r = run(py, "-c", SNAPSHOT_CLIENT, base, env=env, cwd=tmp_path)
        assert r.returncode == 0, r.stderr[-3000:]
        from pi_dashboard import PROTOCOL_VERSION
        from pi_dashboard.demo import demo_config

        assert r.stdout.split() == [str(len(demo_config().sensors)), str(PROTOCOL_VERSION)]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_build_without_npm_and_without_vendor_fails_with_one_line(tmp_path: Path):
    src = source_copy(tmp_path / "src")
    r = run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", tmp_path / "out", src,
        env=without_npm(tmp_path), cwd=tmp_path,
    )  # fmt: skip
    output = r.stdout + r.stderr
    assert r.returncode != 0, output
    assert output.count(NPM_MISSING) == 1, output
    assert "Traceback" not in output, output
    assert not list((tmp_path / "out").glob("*.whl"))
