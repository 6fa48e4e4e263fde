"""The dashboard page in headless Chromium against a mock-mode daemon, on a phone (390x844) and a
desktop (1440x900): behaviour, not pixels. Each test waits for a condition with a deadline."""

from __future__ import annotations

import csv
import io
import json
import re
import signal
import time

import pytest
from conftest import VIEWPORTS, axe_violations, wait_live

pytestmark = pytest.mark.browser

DAEMON_CONFIG = """
[server]
title = "Browser test"

[history]
flush_interval = 0.5

[[sensors]]
id = "living"
type = "demo"
name = "Living room sensor"
room = "Living room"
interval = 0.2

[[sensors]]
id = "hot"
type = "demo"
name = "Impossible box"
room = "Attic"
interval = 0.2
temperature = 200   # outside -40..85: polling reports it as a sensor error

[[sensors]]
id = "greenhouse"
type = "bme280"
name = "Greenhouse"
room = "Garden"
bus = 1
address = 0x76
interval = 1

[[sensors]]
id = "pi"
type = "pi_health"
name = "This Pi"
interval = 1
"""

VALUE = "[data-sensor='{s}'] [data-channel='{c}'] .ch-value"
OPEN = "[data-sensor='{s}'] [data-channel='{c}'] .ch-open"
PLACEHOLDER = "—"


def text(w, selector: str) -> str:
    return (w.page.text_content(selector) or "").strip()


def wait_changed(w, selector: str, timeout_ms: int = 5000) -> None:
    before = text(w, selector)
    w.page.wait_for_function(
        "([sel, before]) => document.querySelector(sel).textContent.trim() !== before",
        arg=[selector, before],
        timeout=timeout_ms,
    )


def open_chart(w, sensor: str = "living", channel: str = "temperature") -> dict:
    """Open a channel's chart; returns the /api/history answer it drew (and its URL)."""
    with w.page.expect_response(lambda r: "/api/history?" in r.url) as answer:
        w.page.click(OPEN.format(s=sensor, c=channel))
    w.page.wait_for_selector(".chart-plot[data-state='ready'] .uplot canvas", timeout=8000)
    return {**answer.value.json(), "url": answer.value.url}


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_cards_by_room_in_config_order_and_live_updates(daemon, open_page, viewport):
    api = daemon.get_json("/api/sensors")
    w = open_page(daemon.url + "/", viewport=viewport)
    wait_live(w)
    cards = w.page.eval_on_selector_all("[data-sensor]", "els => els.map(e => e.dataset.sensor)")
    assert cards == [s["id"] for s in api], "one card per sensor, in config order"
    rooms = w.page.eval_on_selector_all(".room", "els => els.map(e => e.dataset.room)")
    assert rooms == ["Living room", "Attic", "Garden", ""], "rooms in config order, none last"
    assert text(w, "#title") == "Browser test"
    assert w.page.title() == "Browser test"
    sel = VALUE.format(s="living", c="temperature")
    assert re.fullmatch(r"-?\d+\.\d\d", text(w, sel))
    wait_changed(w, sel)
    documents = [u for u in w.requests if u.rstrip("/") == daemon.url]
    assert len(documents) == 1, "the value changed through the socket, not by reloading"
    # keyboard order is reading order: the first chart button belongs to the first card
    first = w.page.eval_on_selector(".ch-open", "e => e.closest('[data-sensor]').dataset.sensor")
    assert first == "living"
    name = w.page.locator(OPEN.format(s="living", c="temperature"))
    label = name.evaluate("e => e.innerText.replace(/\\s+/g, ' ')")
    assert label.startswith("Temperature "), label
    assert label.endswith(", Living room, Living room sensor. Show chart"), (
        "screen-reader names carry the room and sensor"
    )


def test_first_values_come_with_the_page(daemon, browser):
    """The page carries the values the server knows: they show with no socket at all."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = ctx.new_page()
        page.route("**/socket.io/**", lambda route: route.abort())
        page.goto(daemon.url + "/")
        page.wait_for_selector("[data-sensor='living'] .ch-value", timeout=5000)
        shown = page.text_content(VALUE.format(s="living", c="temperature")) or ""
        assert re.fullmatch(r"-?\d+\.\d\d", shown.strip())
        points = page.get_attribute("[data-sensor='living'] [data-channel='temperature'] canvas",
                                    "data-points")  # fmt: skip
        assert points is not None
    finally:
        ctx.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_reload_keeps_the_sparkline_history(daemon, open_page, viewport):
    spark = "[data-sensor='living'] [data-channel='temperature'] canvas"
    w = open_page(daemon.url + "/", viewport=viewport)
    wait_live(w)
    w.page.wait_for_function(
        "sel => Number(document.querySelector(sel)?.dataset.points) >= 2", arg=spark, timeout=15000
    )
    first = int(w.page.get_attribute(spark, "data-first") or 0)
    w.page.reload()
    w.page.wait_for_selector(f"{spark}[data-first]", timeout=5000)
    after = int(w.page.get_attribute(spark, "data-first") or 0)
    assert 0 < after <= first + 1, "the points from before the reload are drawn at once"
    assert int(w.page.get_attribute(spark, "data-points") or 0) >= 2
    assert w.page.get_attribute("[data-sensor='living'] [data-channel='temperature'] .ch-spark",
                                "data-max"), "the sparkline is labelled with its max"  # fmt: skip
    w.page.wait_for_function(
        "() => document.querySelector('#foot').textContent.includes('unsaved')", timeout=10000
    )
    assert "written today" in text(w, "#foot"), "what history costs the SD card"


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_24h_chart_draws_history_and_drag_zooms(daemon, open_page, viewport):
    w = open_page(daemon.url + "/", viewport=viewport)
    wait_live(w)
    spark = "[data-sensor='living'] canvas"
    w.page.wait_for_function(
        "sel => Number(document.querySelector(sel)?.dataset.points) > 1", arg=spark, timeout=15000
    )
    answer = open_chart(w)
    plot = w.page.locator(".chart-plot")
    assert w.page.get_attribute(".chart-ranges [aria-pressed='true']", "data-span") == "86400"
    assert answer["to"] - answer["from"] >= 86400 - 120
    assert int(plot.get_attribute("data-points") or 0) == len(answer["t"]) > 0
    asked = int(re.search(r"points=(\d+)", answer["url"]).group(1))  # type: ignore[union-attr]
    plot_px = w.page.evaluate("() => document.querySelector('.chart-plot').clientWidth")
    assert abs(asked - plot_px) <= 2 or asked == 50, "one point per pixel of the plot"
    assert "min" in (w.page.text_content(".chart-readout") or ""), "min, mean and max"
    wide = float(plot.get_attribute("data-to") or 0) - float(plot.get_attribute("data-from") or 0)

    box = w.page.locator(".chart-plot .u-over").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    with w.page.expect_response(lambda r: "/api/history?" in r.url) as zoomed:
        w.page.mouse.move(box["x"] + box["width"] * 0.5, y)
        w.page.mouse.down()
        w.page.mouse.move(box["x"] + box["width"] * 0.7, y, steps=5)
        w.page.mouse.move(box["x"] + box["width"] * 0.9, y, steps=5)
        w.page.mouse.up()
    narrow = zoomed.value.json()
    assert narrow["to"] - narrow["from"] < wide / 2, "drag-zoom fetched a narrower range"
    w.page.wait_for_function(
        "wide => { const p = document.querySelector('.chart-plot');"
        " return p.dataset.state === 'ready' && p.dataset.to - p.dataset.from < wide / 2 }",
        arg=wide,
        timeout=5000,
    )
    assert w.page.get_attribute(".chart-ranges [data-span='custom']", "aria-pressed") == "true"


def test_the_y_axis_fits_its_labels_and_names_the_unit(daemon, open_page):
    w = open_page(daemon.url + "/", viewport=(390, 844))
    wait_live(w)
    open_chart(w, "living", "pressure")
    plot = w.page.locator(".chart-plot")
    assert plot.get_attribute("data-y-unit") == "hPa", "the unit is on the axis"
    labels = (plot.get_attribute("data-y-labels") or "").split("|")
    assert all(re.fullmatch(r"1\d{3}(\.\d+)?", x) for x in labels if x), labels
    needed = w.page.evaluate(
        """labels => { const c = document.createElement('canvas').getContext('2d');
           c.font = '12px system-ui, sans-serif';
           return Math.max(...labels.map(l => c.measureText(l).width)) }""",
        labels,
    )
    width = float(plot.get_attribute("data-y-width") or 0)
    assert width >= needed + 4, "every label fits: 1015.7 is never cut to 015.7"


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_csv_download_has_the_charts_rows(daemon, open_page, viewport, tmp_path):
    w = open_page(daemon.url + "/", viewport=viewport)
    wait_live(w)
    answer = open_chart(w)
    with w.page.expect_download() as dl:
        w.page.click(".chart-csv")
    path = tmp_path / "history.csv"
    dl.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    column = "living/temperature (°C)"
    assert rows
    assert column in rows[0]
    csv_times = {round(float(r["epoch_s"])) for r in rows if r[column]}
    chart_times = {
        round(t) for t, v in zip(answer["t"], answer["mean"], strict=True) if v is not None
    }
    assert chart_times, "the chart drew points"
    # the CSV's rows are the chart's buckets (a bucket still filling may have moved on by one)
    assert len(chart_times - csv_times) <= 1, (sorted(chart_times)[:5], sorted(csv_times)[:5])


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_escape_closes_the_chart_and_gives_focus_back(daemon, open_page, viewport):
    w = open_page(daemon.url + "/", viewport=viewport)
    wait_live(w)
    open_chart(w)
    assert w.page.evaluate("() => document.querySelector('#chart').open")
    w.page.keyboard.press("Escape")
    w.page.wait_for_function("() => !document.querySelector('#chart').open", timeout=2000)
    focused = w.page.evaluate(
        "() => document.activeElement.closest('[data-channel]')?.dataset.channel"
    )
    assert focused == "temperature"


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_sensor_errors_show_their_message_and_others_carry_on(daemon, open_page, viewport):
    w = open_page(daemon.url + "/", viewport=viewport)
    wait_live(w)
    w.page.wait_for_selector("[data-sensor='hot'][data-status='error']", timeout=5000)
    assert "impossible temperature reading" in text(w, "[data-sensor='hot'] .card-error")
    resp = w.page.request.post(
        daemon.url + "/api/mock/faults/greenhouse", data=json.dumps({"unplugged": True}),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert resp.ok
    try:
        w.page.wait_for_selector("[data-sensor='greenhouse'][data-status='error']", timeout=8000)
        assert "errno 121" in text(w, "[data-sensor='greenhouse'] .card-error")
        assert text(w, "[data-sensor='greenhouse'] .badge") == "error"
        assert w.page.get_attribute("[data-sensor='greenhouse']", "data-greyed") == "true"
        assert w.page.get_attribute("[data-sensor='living']", "data-status") == "ok"
        assert "failing" in text(w, "#summary")
    finally:
        w.page.request.delete(daemon.url + "/api/mock/faults/greenhouse")
    w.page.wait_for_selector("[data-sensor='greenhouse'][data-status='ok']", timeout=10000)


def test_nothing_leaves_the_host_and_the_console_stays_clean(daemon, open_page):
    w = open_page(daemon.url + "/")
    response = w.page.request.get(daemon.url + "/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    wait_live(w)
    open_chart(w)
    w.page.wait_for_function("() => document.querySelector('#foot').textContent.includes('0.')")
    origin = daemon.url + "/"
    strays = [u for u in w.requests if not u.startswith(origin)]
    assert strays == [], f"requests left the host: {strays}"
    assert any("uPlot.iife.min.js" in u for u in w.requests), "uPlot's own minified build"
    assert all(u.startswith(f"ws://127.0.0.1:{daemon.port}/") for u in w.websockets)
    assert w.errors == [], f"console errors (CSP violations show up here): {w.errors}"


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_axe_finds_no_serious_or_critical_violations(daemon, open_page, viewport):
    w = open_page(daemon.url + "/", viewport=viewport)
    wait_live(w)
    w.page.click("[data-sensor='pi'] .health-summary")
    assert axe_violations(w.page) == []
    open_chart(w)
    assert axe_violations(w.page) == [], "with the chart open"


def test_nothing_overflows_at_360px(daemon, open_page):
    w = open_page(daemon.url + "/", viewport=(360, 740))
    wait_live(w)
    w.page.click("[data-sensor='pi'] .health-summary")
    open_chart(w, "pi", "memory_available") if w.page.locator(
        OPEN.format(s="pi", c="memory_available")
    ).count() else open_chart(w)
    assert w.page.evaluate("document.documentElement.scrollWidth") <= 360
    widest = w.page.eval_on_selector_all(
        "[data-sensor], .top-inner, .chart-panel",
        "els => Math.max(...els.map(e => e.getBoundingClientRect().right))",
    )
    assert widest <= 360


def test_the_pi_health_card_is_one_line_until_tapped(daemon, open_page):
    w = open_page(daemon.url + "/")
    wait_live(w)
    summary = "[data-sensor='pi'] .health-summary"
    w.page.wait_for_function(
        "sel => /load \\d/.test(document.querySelector(sel).textContent)", arg=summary
    )
    assert w.page.locator("[data-sensor='pi'] .channels").is_hidden()
    w.page.click(summary)
    assert w.page.locator("[data-sensor='pi'] .channels").is_visible()
    assert w.page.get_attribute(summary, "aria-expanded") == "true"


def test_the_manifest_makes_an_installable_app(daemon, open_page):
    w = open_page(daemon.url + "/")
    href = w.page.get_attribute("link[rel='manifest']", "href")
    assert href == "manifest.webmanifest", "relative: works under a reverse proxy's sub-path"
    resp = w.page.request.get(f"{daemon.url}/{href}")
    assert resp.ok
    assert resp.headers["content-type"].startswith("application/manifest+json")
    m = resp.json()
    assert m["name"] == "Browser test"
    assert m["display"] == "standalone"
    assert m["start_url"] == "./"
    assert m["scope"] == "./"
    assert re.fullmatch(r"#[0-9a-f]{6}", m["theme_color"])
    sizes = set()
    for icon in m["icons"]:
        got = w.page.request.get(f"{daemon.url}/{icon['src']}")
        assert got.ok, icon
        assert got.headers["content-type"].startswith(icon["type"])
        body = got.body()
        if icon["type"] == "image/png":
            assert body[:8] == b"\x89PNG\r\n\x1a\n"
            width, height = int.from_bytes(body[16:20], "big"), int.from_bytes(body[20:24], "big")
            assert f"{width}x{height}" == icon["sizes"]
            sizes.add((width, icon.get("purpose", "any")))
    assert {(192, "any"), (512, "any"), (512, "maskable")} <= sizes
    theme = w.page.get_attribute("meta[name='theme-color']", "content")
    assert theme


def test_kiosk_mode_is_large_type_without_chrome(daemon, open_page):
    w = open_page(daemon.url + "/?kiosk=1", viewport=(1440, 900))
    wait_live(w)
    assert w.page.evaluate("() => document.documentElement.hasAttribute('data-kiosk')")
    assert w.page.locator("#theme").is_hidden()
    assert w.page.locator("#foot").is_hidden()
    size = w.page.evaluate("() => getComputedStyle(document.documentElement).fontSize")
    assert float(size.removesuffix("px")) >= 20


def test_the_theme_toggle_is_kept(daemon, open_page):
    w = open_page(daemon.url + "/", color_scheme="light")
    wait_live(w)
    bg_light = w.page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    w.page.click("#theme")  # auto -> light
    w.page.click("#theme")  # light -> dark
    assert w.page.evaluate("() => document.documentElement.dataset.theme") == "dark"
    bg_dark = w.page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert bg_dark != bg_light
    w.page.reload()
    wait_live(w)
    assert w.page.evaluate("() => document.documentElement.dataset.theme") == "dark"


LIVE_SIM = """
[history]
flush_interval = 0.5

[[sensors]]
id = "living"
type = "demo"
name = "Living room"
interval = 0.2
"""


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_killing_the_server_banners_and_greys_then_a_restart_marks_the_gap(
    start_daemon, open_page, viewport
):
    d = start_daemon(LIVE_SIM)
    w = open_page(d.url + "/", viewport=viewport)
    wait_live(w)
    spark = "[data-sensor='living'] [data-channel='temperature'] canvas"
    w.page.wait_for_function(
        "sel => Number(document.querySelector(sel)?.dataset.points) >= 2", arg=spark, timeout=15000
    )
    first = int(w.page.get_attribute(spark, "data-first") or 0)
    port = d.port
    d.signal(signal.SIGKILL)  # a crash or a power cut: the kernel closes the socket
    killed = time.monotonic()
    w.page.wait_for_selector("#banner[data-kind='offline']:not([hidden])", timeout=2000)
    assert time.monotonic() - killed < 2.5
    assert re.match(r"Offline since .+ — reconnecting", text(w, "#banner"))
    w.page.wait_for_selector("[data-sensor='living'][data-greyed='true']", timeout=1000)
    grey = w.page.eval_on_selector(VALUE.format(s="living", c="temperature"),
                                   "e => getComputedStyle(e).color")  # fmt: skip
    muted = w.page.evaluate("() => getComputedStyle(document.querySelector('.ch-name')).color")
    assert grey == muted, "every value greys out"
    assert d.proc is not None
    d.proc.wait(5)

    d.start()  # same port: socket.io-client reconnects by itself and gets a new snapshot
    assert d.port == port
    w.page.wait_for_selector("#conn[data-state='live']", timeout=10000)
    w.page.wait_for_selector("#banner", state="hidden", timeout=2000)
    w.page.wait_for_function(
        "sel => Number(document.querySelector(sel)?.dataset.gaps) >= 1", arg=spark, timeout=10000
    )  # the restart is a gap in the history, drawn as one
    assert int(w.page.get_attribute(spark, "data-first") or 0) <= first + 1, "history kept"
    wait_changed(w, VALUE.format(s="living", c="temperature"))


THRESHOLD = """
[[sensors]]
id = "greenhouse"
type = "bme280"
name = "Greenhouse"
bus = 1
address = 0x76
interval = 1
[sensors.channels.temperature]
warn_above = 45
alarm_above = 60
"""


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_threshold_crossing_colours_the_value(start_daemon, open_page, viewport):
    d = start_daemon(THRESHOLD)
    w = open_page(d.url + "/", viewport=viewport)
    wait_live(w)
    row = "[data-sensor='greenhouse'] [data-channel='temperature']"
    w.page.wait_for_selector(f"{row}[data-level='ok']", timeout=5000)
    normal = w.page.eval_on_selector(f"{row} .ch-value", "e => getComputedStyle(e).color")
    resp = w.page.request.post(
        d.url + "/api/mock/faults/greenhouse",
        data=json.dumps({"drift_per_minute": 1200}),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip  (20 °C a second: past 45 within a few seconds)
    assert resp.ok
    w.page.wait_for_selector(f"{row}[data-level^='warn'], {row}[data-level^='alarm']", timeout=8000)
    coloured = w.page.eval_on_selector(f"{row} .ch-value", "e => getComputedStyle(e).color")
    assert coloured != normal
    assert "out of range" in text(w, "#summary")
