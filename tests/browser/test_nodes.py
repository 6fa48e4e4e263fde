"""Many Pis, one dashboard: the second daemon's page shows the first's sensors in a section of
their own, headed by the node's name, after its own rooms, and marks them offline within the
broker's keepalive when the first is killed."""

from __future__ import annotations

import signal
import time
import urllib.error

import pytest
from conftest import axe_violations
from waiting import wait_until

pytestmark = pytest.mark.browser

KEEPALIVE_S = 5
FIRST = """
[server]
title = "Garage"

[[sensors]]
id = "d"
type = "demo"
name = "Workbench"
interval = 0.5

[[sensors]]
id = "door"
type = "contact"
name = "Garage door"
pin = 17
"""
SECOND = """
[server]
title = "Home"

[[sensors]]
id = "d"
type = "demo"
name = "Living room"
room = "House"
interval = 0.5

[[sensors]]
id = "shelf"
type = "demo"
name = "Shelf"
interval = 0.5
"""


def kept(daemon) -> bool:
    try:
        got = daemon.get_json("/api/history?node=garage&sensor=d&channel=temperature")
    except urllib.error.HTTPError:  # 404 until the first reading is written
        return False
    return bool(got["t"])


def test_the_page_shows_the_other_node_grouped_and_marks_it_offline(
    broker, start_daemon, open_page
):
    first = start_daemon(broker.toml(node="garage", keepalive=KEEPALIVE_S) + FIRST)
    second = start_daemon(broker.toml(node="house", keepalive=KEEPALIVE_S, follow=["*"]) + SECOND)
    w = open_page(second.url + "/", viewport=(1440, 900))
    page = w.page
    group = "section.room[data-node='garage']"
    page.wait_for_selector(f"{group} [data-sensor='garage/door']", timeout=10_000)
    # grouped: the garage's cards are in its section, under its name, after our own room
    assert page.inner_text(f"{group} .room-name") == "Garage"
    names = page.eval_on_selector_all(f"{group} .card-name", "els => els.map(e => e.textContent)")
    assert sorted(names) == ["Garage door", "Workbench"]
    sections = page.eval_on_selector_all(
        "section.room",
        "els => els.map(e => [e.dataset.node, e.querySelector('.room-name').textContent])",
    )
    # ours without a room are named after this dashboard, beside the other node's
    assert sections == [["", "House"], ["", "Home"], ["garage", "Garage"]]
    own = page.eval_on_selector_all(
        "section.room[data-node=''] .card-name", "els => els.map(e => e.textContent)"
    )
    assert own == ["Living room", "Shelf"]
    page.wait_for_selector(f"{group}[data-online='true']", timeout=5_000)
    # a screen reader hears which node a value is from
    where = page.inner_text(
        f"{group} [data-sensor='garage/d'] [data-channel='temperature'] .ch-open"
    )
    assert "Garage" in where
    assert "Workbench" in where
    assert axe_violations(page) == []
    # its chart is the garage's history, asked of this daemon by node
    wait_until(lambda: kept(second), what="the garage's readings in this daemon's history")
    with page.expect_response(lambda r: "/api/history?" in r.url) as answer:
        page.click(f"{group} [data-sensor='garage/d'] [data-channel='temperature'] .ch-open")
    page.wait_for_selector(".chart-plot[data-state='ready'] .uplot canvas", timeout=8000)
    assert "node=garage" in answer.value.url
    assert "sensor=d&" in answer.value.url
    assert answer.value.json()["t"], "the chart draws the garage's points"
    assert "Garage" in page.inner_text(".chart-sub")
    page.keyboard.press("Escape")
    value = f"{group} [data-sensor='garage/d'] [data-channel='temperature'] .ch-value"
    page.wait_for_function(
        "sel => /\\d/.test(document.querySelector(sel)?.textContent ?? '')",
        arg=value,
        timeout=5_000,
    )
    assert first.proc is not None
    first.proc.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    page.wait_for_selector(f"{group}[data-online='false']", timeout=(1.5 * KEEPALIVE_S + 2) * 1000)
    page.wait_for_selector(
        f"{group} .card[data-sensor='garage/d'][data-status='error']", timeout=2_000
    )
    assert time.monotonic() - killed < 1.5 * KEEPALIVE_S + 2
    assert page.inner_text(f"{group} .room-state").lower() == "offline"
    assert "node garage is offline" in page.inner_text(f"{group} [data-sensor='garage/d']")
    # our own card carries on
    assert page.get_attribute("[data-sensor='d']", "data-status") == "ok"
    assert not w.errors, w.errors
