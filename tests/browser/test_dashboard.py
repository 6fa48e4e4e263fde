"""The dashboard page in headless Chromium against a mock-mode daemon: behaviour, not pixels."""

from __future__ import annotations

import re
import signal
import time

import pytest

pytestmark = pytest.mark.browser

DAEMON_CONFIG = """
[server]
title = "Browser test"

[[sensors]]
id = "living"
type = "demo"
name = "Living room"
interval = 0.2

[[sensors]]
id = "hot"
type = "demo"
name = "Impossible box"
interval = 0.2
temperature = 200   # outside -40..85: polling reports it as a sensor error

[[sensors]]
id = "slow"
type = "demo"
name = "Slow cellar"
interval = 2

[[sensors]]
id = "pi"
type = "pi_health"
name = "This Pi"
interval = 1

[[sensors]]
id = "nozone"
type = "pi_health"
name = "Pi without thermal zone 7"
interval = 1
thermal_zone = 7    # no such file: a long error message with a path in it
"""

LIVE_SIM = """
[[sensors]]
id = "living"
type = "demo"
name = "Living room"
interval = 0.2
"""

VALUE = "[data-sensor='{s}'] [data-channel='{c}'] .ch-value"
PLACEHOLDER = "—"


def wait_live(w, timeout_ms: int = 5000) -> None:
    w.page.wait_for_selector("#conn[data-state='live']", timeout=timeout_ms)
    w.page.wait_for_selector("[data-sensor] .ch-value", timeout=timeout_ms)


def text(w, selector: str) -> str:
    return (w.page.text_content(selector) or "").strip()


def test_every_sensor_has_a_card_and_values_change_without_reload(daemon, open_page):
    api = daemon.get_json("/api/sensors")
    w = open_page(daemon.url + "/")
    wait_live(w)
    w.page.wait_for_function(
        "n => document.querySelectorAll('[data-sensor]').length === n", arg=len(api), timeout=5000
    )
    cards = w.page.eval_on_selector_all("[data-sensor]", "els => els.map(e => e.dataset.sensor)")
    assert cards == [s["id"] for s in api], "one card per sensor, in config order"
    assert text(w, "#title") == "Browser test"
    assert w.page.title() == "Browser test"

    for s in api:
        if s["status"] != "ok":
            continue
        for ch in s["channels"]:
            if ch["value"] is not None:
                shown = text(w, VALUE.format(s=s["id"], c=ch["id"]))
                assert shown not in ("", PLACEHOLDER), f"{s['id']}.{ch['id']} shows no value"

    sel = VALUE.format(s="living", c="temperature")
    before = text(w, sel)
    w.page.wait_for_function(
        "([sel, before]) => document.querySelector(sel).textContent.trim() !== before",
        arg=[sel, before],
        timeout=5000,
    )
    documents = [u for u in w.requests if u.rstrip("/") == daemon.url]
    assert len(documents) == 1, "the value changed through the socket, not by reloading"


def test_nothing_leaves_the_host_and_the_console_stays_clean(daemon, open_page):
    w = open_page(daemon.url + "/")
    response = w.page.request.get(daemon.url + "/")
    assert "default-src 'self'" in response.headers["content-security-policy"], (
        "without the CSP header this test could not see a CDN or inline script"
    )
    wait_live(w)
    # the detail chart loads the vendored uPlot on first use: its requests and styles count too
    w.page.click("[data-sensor='living'] [data-channel='temperature'] .ch-name")
    w.page.wait_for_selector("[data-sensor='living'] .ch-chart .uplot canvas", timeout=5000)
    w.page.wait_for_function("() => document.querySelector('#foot').textContent.includes('0.')")
    # late requests (favicon, health, staleness checks): until the network has been quiet 0.5 s
    w.page.wait_for_load_state("networkidle", timeout=15000)

    origin = daemon.url + "/"
    assert w.requests, "requests were recorded"
    strays = [u for u in w.requests if not u.startswith(origin)]
    assert strays == [], f"requests left the host: {strays}"
    assert any("/socket.io/" in u for u in w.requests + w.websockets)
    assert any(u.endswith("/static/vendor/uPlot.esm.js") for u in w.requests)
    assert all(u.startswith(f"ws://127.0.0.1:{daemon.port}/") for u in w.websockets)
    assert w.errors == [], f"console errors (CSP violations show up here): {w.errors}"


def test_failing_sensor_shows_error_badge_and_message(daemon, open_page):
    w = open_page(daemon.url + "/")
    wait_live(w)
    card = w.page.locator("[data-sensor='hot']")
    card.wait_for()
    w.page.wait_for_selector("[data-sensor='hot'][data-status='error']", timeout=5000)
    assert card.locator(".badge").inner_text().strip().lower() == "error"
    message = card.locator(".card-error")
    assert message.is_visible()
    assert "impossible temperature reading" in message.inner_text()
    # the other sensors are unaffected
    assert w.page.get_attribute("[data-sensor='living']", "data-status") == "ok"
    assert not w.page.locator("[data-sensor='living'] .card-error").is_visible()
    assert "2 failing" in text(w, "#summary")


def test_error_keeps_last_values_greyed_with_age_then_recovers(daemon, open_page):
    """An error `reading` (injected into the page's store, as live.js would pass it on) keeps the
    last values with their age; the daemon's next good reading of that sensor recovers it."""
    w = open_page(daemon.url + "/")
    wait_live(w)
    sel = VALUE.format(s="slow", c="temperature")
    w.page.wait_for_function("sel => /\\d/.test(document.querySelector(sel).textContent)", arg=sel)
    # right after a reading, so the next real one (2 s later) does not race the assertions
    before = text(w, sel)
    w.page.wait_for_function(
        """([sel, before]) => document.querySelector(sel).textContent.trim() !== before""",
        arg=[sel, before],
        timeout=5000,
    )
    w.page.evaluate(
        """async () => {
            const store = await import('/static/js/store.js');
            store.applyReading({sensor: 'slow', ts: store.now(), values: {}, status: 'error',
                                error: 'no answer from the device (I2C NACK, errno 121)'});
        }"""
    )
    value = w.page.evaluate("sel => document.querySelector(sel).textContent.trim()", sel)
    card = w.page.locator("[data-sensor='slow']")
    w.page.wait_for_selector("[data-sensor='slow'][data-status='error']", timeout=1000)
    assert "I2C NACK" in card.locator(".card-error").inner_text()
    assert text(w, sel) == value, "the last good value stays on the card"
    age = card.locator("[data-channel='temperature'] .ch-age").inner_text()
    assert re.fullmatch(r"just now|\d+ (s|min|h|d) ago", age), (
        f"greyed value shows its age: {age!r}"
    )
    assert "Last reading" in card.locator(".card-age").inner_text()
    grey = w.page.eval_on_selector(sel, "e => getComputedStyle(e).color")
    normal = w.page.eval_on_selector(
        VALUE.format(s="living", c="temperature"), "e => getComputedStyle(e).color"
    )
    assert grey != normal, "a failing sensor's values are greyed"
    # the daemon still reads `slow` fine: its next reading recovers the card
    w.page.wait_for_selector("[data-sensor='slow'][data-status='ok']", timeout=5000)
    assert not card.locator(".card-error").is_visible()
    assert card.locator("[data-channel='temperature'] .ch-age").inner_text() == ""


def test_nothing_overflows_at_360px(daemon, open_page):
    w = open_page(daemon.url + "/", width=360, height=740)
    wait_live(w)
    w.page.wait_for_selector("[data-sensor='nozone'][data-status='error']", timeout=5000)
    w.page.click("[data-sensor='pi'] [data-channel='memory_available'] .ch-name")  # a wide axis
    w.page.wait_for_selector("[data-sensor='pi'] .ch-chart .uplot", timeout=5000)
    w.page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    scroll_width = w.page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 360
    widest = w.page.eval_on_selector_all(
        "[data-sensor], .top-inner",
        "els => Math.max(...els.map(e => e.getBoundingClientRect().right))",
    )
    assert widest <= 360


def test_offline_badge_when_the_daemon_dies_and_live_again_after_restart(start_daemon, open_page):
    d = start_daemon(LIVE_SIM)
    w = open_page(d.url + "/")
    wait_live(w)
    port = d.port
    d.signal(signal.SIGKILL)  # a crash or a power cut: the kernel closes the socket
    assert d.proc is not None
    d.proc.wait(5)
    w.page.wait_for_selector("#conn[data-state='offline']", timeout=5000)
    assert text(w, "#conn-text") == "offline"

    d.start()  # same port: socket.io-client reconnects by itself and gets a new snapshot
    assert d.port == port
    w.page.wait_for_selector("#conn[data-state='live']", timeout=10000)
    sel = VALUE.format(s="living", c="temperature")
    before = text(w, sel)
    w.page.wait_for_function(
        "([sel, before]) => document.querySelector(sel).textContent.trim() !== before",
        arg=[sel, before],
        timeout=5000,
    )


def test_offline_badge_soon_after_a_graceful_stop(start_daemon, open_page):
    """systemctl stop: the daemon exits within its 1 s shutdown grace and the page says so."""
    d = start_daemon(LIVE_SIM)
    w = open_page(d.url + "/")
    wait_live(w)
    started = time.monotonic()
    d.signal(signal.SIGTERM)  # systemctl stop / restart
    try:
        w.page.wait_for_selector("#conn[data-state='offline']", timeout=5000)
    finally:
        if d.proc is not None and d.proc.poll() is None:
            d.proc.kill()
    assert time.monotonic() - started < 5
    assert d.proc is not None
    assert d.proc.wait(5) == 0


FORMAT_CASES: list[tuple[dict, object, str]] = [
    ({"unit": "°C", "kind": "temperature", "precision": 2}, 21.3456, "21.35 °C"),
    ({"unit": "°C", "kind": "temperature", "precision": 1}, -0.04, "0.0 °C"),
    ({"unit": "%", "kind": "humidity", "precision": 0}, 45.5, "46 %"),
    ({"unit": "hPa", "kind": "atmospheric_pressure", "precision": 1}, 1013.25, "1013.3 hPa"),
    ({"unit": None, "kind": "none", "precision": 2}, 0.5, "0.50"),
    ({"unit": "B", "kind": "data_size", "precision": 0}, 276_276_224, "276 MB"),
    ({"unit": "B", "kind": "data_size", "precision": 0}, 84_895_948_800, "84.9 GB"),
    ({"unit": "B", "kind": "data_size", "precision": 0}, 512, "512 B"),
    ({"unit": "s", "kind": "duration", "precision": 0}, 42, "42 s"),
    ({"unit": "s", "kind": "duration", "precision": 0}, 725, "12 min 5 s"),
    ({"unit": "s", "kind": "duration", "precision": 0}, 4 * 3600 + 720, "4 h 12 min"),
    ({"unit": "s", "kind": "duration", "precision": 0}, 3 * 86400 + 4 * 3600 + 59, "3 d 4 h"),
    ({"unit": None, "kind": "door", "binary": True}, True, "Open"),
    ({"unit": None, "kind": "door", "binary": True}, False, "Closed"),
    ({"unit": None, "kind": "motion", "binary": True}, True, "Motion"),
    ({"unit": None, "kind": "motion", "binary": True}, False, "Clear"),
    ({"unit": None, "kind": "none", "binary": True, "id": "pressed"}, True, "Pressed"),
    ({"unit": None, "kind": "none", "binary": True, "id": "pressed"}, False, "Released"),
    ({"unit": None, "kind": "problem", "binary": True}, False, "OK"),
    ({"unit": "°C", "kind": "temperature", "precision": 1}, None, PLACEHOLDER),
]


def test_format_rules(daemon, open_page):
    """format.js as the cards use it: precision, units, bytes, durations, on/off words, ages."""
    w = open_page(daemon.url + "/")
    cases = [
        {"meta": {"id": "x", "name": "X", "binary": False, "state_class": "measurement", **m},
         "value": v}
        for m, v, _ in FORMAT_CASES
    ]  # fmt: skip
    shown = w.page.evaluate(
        """async (cases) => {
            const f = await import('/static/js/format.js');
            return cases.map(({meta, value}) => {
                const s = f.formatValue(meta, value);
                return s.unit ? `${s.text} ${s.unit}` : s.text;
            });
        }""",
        cases,
    )
    assert shown == [want for _, _, want in FORMAT_CASES]
    ages = w.page.evaluate(
        "async () => { const f = await import('/static/js/format.js');"
        " return [0.4, 12.7, 190, 7300, 200000].map(f.formatAge); }"
    )
    assert ages == ["just now", "12 s ago", "3 min ago", "2 h ago", "2 d ago"]
