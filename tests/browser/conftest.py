"""Headless Chromium (the Debian package, never `playwright install`) against the real daemon.

The daemon runs as a subprocess in mock mode, exactly as `pi-dashboard run --mock` would, on a port
the OS picks (`--port 0`; the daemon logs the one it got). Without Chromium the tests skip and say
why, unless PI_DASHBOARD_REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("PI_DASHBOARD_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_BROWSER = os.environ.get("PI_DASHBOARD_REQUIRE_BROWSER") == "1"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVING_RE = re.compile(r"serving http://127\.0\.0\.1:(\d+)/")
START_TIMEOUT_S = 15.0


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if not (ROOT / "static" / "vendor" / "socket.io.esm.min.js").is_file():
        return "static/vendor/ is empty: run `make vendor`"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Module-scoped, not session: sync Playwright keeps an event loop running in this thread until
    it exits, and pytest-asyncio tests collected after us cannot start theirs while it runs."""
    reason = _missing()
    if reason is not None:
        if REQUIRE_BROWSER:
            pytest.fail(f"PI_DASHBOARD_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class Daemon:
    """`pi-dashboard run --mock` in a subprocess; its log lines are collected as they come."""

    config: Path
    tmp: Path
    port: int = 0
    proc: subprocess.Popen[str] | None = None
    log: list[str] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        """Its own history; a restart (`start()` again) finds what it kept."""
        return self.config.with_name(f"{self.config.stem}-data")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Daemon:
        found = threading.Event()
        env = {**os.environ, "TMPDIR": str(self.tmp)}  # the simulated /sys, if no /dev/shm
        self.proc = proc = subprocess.Popen(
            [sys.executable, "-m", "pi_dashboard", "run", "--mock", "--config", str(self.config),
             "--host", "127.0.0.1", "--port", str(self.port), "--data-dir", str(self.data_dir)],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

        def drain() -> None:  # keep reading, or a chatty daemon blocks on a full pipe
            assert proc.stderr is not None
            for line in proc.stderr:
                self.log.append(line.rstrip())
                m = SERVING_RE.search(line)
                if m:
                    self.port = int(m.group(1))
                    found.set()

        threading.Thread(target=drain, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not found.wait(0.05):
            if proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                pytest.fail("daemon did not start:\n" + "\n".join(self.log[-20:]))
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/health", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail("daemon never answered /api/health:\n" + "\n".join(self.log[-20:]))
            time.sleep(0.05)

    def get_json(self, path: str) -> object:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as resp:
            return json.load(resp)

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        """By PID: SIGTERM, then SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture(scope="module")
def daemon(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Daemon]:
    """One daemon per test module, configured by the module's DAEMON_CONFIG (TOML text): starting
    one costs about a second, and most tests only read."""
    tmp = tmp_path_factory.mktemp("daemon")
    config = tmp / "config.toml"
    config.write_text(request.module.DAEMON_CONFIG, encoding="utf-8")
    d = Daemon(config=config, tmp=tmp).start()
    yield d
    d.kill()


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[Callable[[str], Daemon]]:
    """TOML text -> a running daemon (mock mode), stopped after the test."""
    started: list[Daemon] = []

    def start(toml: str) -> Daemon:
        config = tmp_path / f"config{len(started)}.toml"
        config.write_text(toml, encoding="utf-8")
        d = Daemon(config=config, tmp=tmp_path)
        started.append(d)
        return d.start()

    yield start
    for d in started:
        d.kill()


@dataclass
class Watched:
    """A page with every request URL, WebSocket URL and console error recorded."""

    page: Page
    requests: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Watched]]:
    contexts = []

    def open_(url: str, *, width: int = 390, height: int = 844) -> Watched:
        ctx = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(ctx)
        page = ctx.new_page()
        w = Watched(page=page)
        page.on("request", lambda r: w.requests.append(r.url))
        page.on("websocket", lambda ws: w.websockets.append(ws.url))

        def console(msg: ConsoleMessage) -> None:
            if msg.type == "error":
                w.errors.append(msg.text)

        page.on("console", console)
        page.on("pageerror", lambda e: w.errors.append(f"uncaught: {e}"))
        page.goto(url)
        return w

    yield open_
    for ctx in contexts:
        ctx.close()
