"""Headless Chromium (the Debian package, never `playwright install`) against the real daemon.

The daemon runs as a subprocess in mock mode, exactly as `pi-dashboard run --mock` would, on a port
the OS picks (`--port 0`; the daemon logs the one it got). Without Chromium the tests skip and say
why, unless PI_DASHBOARD_REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from live_daemon import Daemon, start_daemon  # noqa: F401 (a fixture, used by the tests)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

ROOT = Path(__file__).resolve().parents[2]
VIEWPORTS = [pytest.param((390, 844), id="phone"), pytest.param((1440, 900), id="desktop")]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
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


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if not (ROOT / "static" / "vendor" / "socket.io.esm.min.js").is_file():
        return "static/vendor/ is empty: run `make vendor`"
    if not AXE.is_file():
        return "node_modules/ has no axe-core: run `make vendor` (npm ci)"
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

    def open_(
        url: str, *, viewport: tuple[int, int] = (390, 844), color_scheme: str = "light"
    ) -> Watched:
        width, height = viewport
        ctx = browser.new_context(
            viewport={"width": width, "height": height},
            color_scheme=color_scheme,  # type: ignore[arg-type]
            accept_downloads=True,
        )
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


def wait_live(w: Watched, timeout_ms: int = 8000) -> None:
    """Connected, with values on the cards."""
    w.page.wait_for_selector("#conn[data-state='live']", timeout=timeout_ms)
    w.page.wait_for_selector("[data-sensor] .ch-value", timeout=timeout_ms)


def axe_violations(page: Page) -> list[str]:
    """axe-core (node_modules, from package-lock.json) run in the page: the serious and critical
    violations, one line each. Evaluated through the DevTools protocol, which the page's CSP
    does not restrict (an inline <script> would be refused)."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
