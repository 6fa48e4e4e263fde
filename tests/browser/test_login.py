"""Login in headless Chromium against a daemon with `[server.auth]` on: the page sends a stranger
to the login page, a wrong password says so, the right one shows live values, logging out closes
the socket and ends the session; no Content-Security-Policy violation on the way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from live_daemon import Daemon

from pi_dashboard.web.credentials import CredentialFile

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
CONFIG = """
[server]
title = "Login test"

[server.auth]
enabled = true

[[sensors]]
id = "living"
type = "demo"
name = "Living room"
interval = 0.2
"""
VALUE = "[data-sensor='living'] .ch-value"
CSP_WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


@pytest.fixture(scope="module")
def auth_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    tmp: Path = tmp_path_factory.mktemp("auth")
    config = tmp / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    d = Daemon(config=config, tmp=tmp)
    CredentialFile(d.data_dir).set_password(PASSWORD)
    yield d.start()
    d.kill()


def expected(error: str) -> bool:
    return "status of 401" in error or ("status of 400" in error and "/socket.io/" in error)


def watch(page, errors: list[str], sockets: list[dict]) -> None:
    """Console errors and uncaught exceptions into `errors`; each websocket and whether it closed
    into `sockets`."""
    page.on(
        "console",
        lambda m: (
            errors.append(f"{m.text} ({m.location.get('url')})") if m.type == "error" else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))

    def on_websocket(ws) -> None:
        entry = {"url": ws.url, "closed": False}
        sockets.append(entry)
        ws.on("close", lambda _ws: entry.update(closed=True))

    page.on("websocket", on_websocket)


def test_log_in_see_live_values_log_out(auth_daemon, browser):
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        ctx.add_init_script(CSP_WATCH)
        page, other = ctx.new_page(), ctx.new_page()
        errors: list[str] = []
        sockets: list[dict] = []
        other_sockets: list[dict] = []
        watch(page, errors, sockets)
        watch(other, errors, other_sockets)

        page.goto(auth_daemon.url + "/")
        page.wait_for_url("**/login")
        page.wait_for_function("() => document.title === 'Log in · Login test'")
        page.fill("#password", "not the password")
        page.click("#submit")
        page.wait_for_selector("#login-error:not([hidden])")
        assert page.text_content("#login-error") == "Wrong password."

        page.fill("#password", PASSWORD)
        page.click("#submit")
        page.wait_for_url(auth_daemon.url + "/")
        page.wait_for_selector("#conn[data-state='live']", timeout=5000)
        page.wait_for_selector(VALUE, timeout=5000)
        first = page.text_content(VALUE)
        page.wait_for_function(
            "([sel, first]) => document.querySelector(sel).textContent !== first",
            arg=[VALUE, first],
            timeout=10000,
        )  # live: the value changed without a reload

        # A second tab of the same browser shares the session; it stays put while the first
        # logs out, so its socket can only close because the server ended the session.
        other.goto(auth_daemon.url + "/")
        other.wait_for_selector("#conn[data-state='live']", timeout=5000)
        assert [s for s in other_sockets if not s["closed"]], "the second tab's socket is open"
        page.click("#logout")
        page.wait_for_url("**/login")
        other.wait_for_function(
            "() => document.querySelector('#conn').dataset.state !== 'live'", timeout=5000
        )
        assert all(s["closed"] for s in other_sockets), "logging out closed the other socket"
        other.wait_for_url("**/login", timeout=10000)  # its reconnect was refused: log in again

        for p in (page, other):
            assert p.evaluate("window.__csp") == []
        # the wrong password's 401, the logged-out tab's requests (401) and its closed Socket.IO
        # session (400): nothing else went wrong
        assert [e for e in errors if not expected(e)] == []
    finally:
        ctx.close()
