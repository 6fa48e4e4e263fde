"""The mock-mode fault panel in headless Chromium: a teacher unplugs a simulated chip, its card goes
to error, replugging brings it back; the other sensor never notices."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

DAEMON_CONFIG = """
[[sensors]]
id = "greenhouse"
type = "bme280"
name = "Greenhouse"
interval = 1

[[sensors]]
id = "living"
type = "demo"
name = "Living room"
interval = 0.2
"""

UNPLUG = "[data-faults='greenhouse'] button[data-fault='unplugged']"
CARD = "[data-sensor='greenhouse']"


def test_unplug_turns_the_card_to_error_and_replug_recovers_it(daemon, open_page):
    w = open_page(daemon.url + "/")
    page = w.page
    page.wait_for_selector("#conn[data-state='live']", timeout=5000)
    page.wait_for_selector(f"{CARD}[data-status='ok']", timeout=5000)
    page.wait_for_selector("#faults:not([hidden])", timeout=5000)
    page.click("#faults summary")
    assert page.locator("[data-faults='living']").count() == 0, "demo has no simulated device"
    assert page.get_attribute(UNPLUG, "aria-pressed") == "false"

    page.click(UNPLUG)
    page.wait_for_selector(f"{CARD}[data-status='error']", timeout=5000)
    assert "errno 121" in page.locator(f"{CARD} .card-error").inner_text()
    assert page.get_attribute(UNPLUG, "aria-pressed") == "true"
    assert page.inner_text(UNPLUG).strip() == "Replug"
    assert page.get_attribute("[data-sensor='living']", "data-status") == "ok"

    page.click(UNPLUG)
    page.wait_for_selector(f"{CARD}[data-status='ok']", timeout=8000)
    assert page.inner_text(UNPLUG).strip() == "Unplug"
    assert not page.locator(f"{CARD} .card-error").is_visible()
    assert w.errors == [], f"console errors (CSP violations show up here): {w.errors}"


def test_only_faults_the_chip_can_show_get_a_button(daemon, open_page):
    w = open_page(daemon.url + "/")
    w.page.wait_for_selector("#faults:not([hidden])", timeout=5000)
    w.page.click("#faults summary")
    buttons = w.page.eval_on_selector_all(
        "[data-faults='greenhouse'] button", "bs => bs.map(b => b.dataset.fault)"
    )
    assert {"unplugged", "hang", "nack_storm", "garbage"} <= set(buttons)
    assert not {"crc_errors", "power_on"} & set(buttons)  # a BME280 has neither
    assert w.errors == []
