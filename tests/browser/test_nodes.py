"""Many Pis, one dashboard: the second daemon's page shows the first's sensors grouped under its
node, and marks them offline within the broker's keepalive when the first is killed."""

from __future__ import annotations

import signal
import time

import pytest

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
[[sensors]]
id = "d"
type = "demo"
name = "Living room"
interval = 0.5
"""


def test_the_page_shows_the_other_node_grouped_and_marks_it_offline(
    broker, start_daemon, open_page
):
    first = start_daemon(broker.toml(node="garage", keepalive=KEEPALIVE_S) + FIRST)
    second = start_daemon(broker.toml(node="house", keepalive=KEEPALIVE_S, follow=["*"]) + SECOND)
    w = open_page(second.url + "/", width=1024)
    page = w.page
    group = "section.node-group[data-node='garage']"
    page.wait_for_selector(f"{group} [data-sensor='garage/door']", timeout=10_000)
    # grouped: the garage's cards are in its section, under its name; ours are not
    assert page.inner_text(f"{group} .node-name") == "Garage"
    names = page.eval_on_selector_all(f"{group} .card-name", "els => els.map(e => e.textContent)")
    assert sorted(names) == ["Garage door", "Workbench"]
    own = page.eval_on_selector_all(
        "section.node-group[data-node=''] .card-name", "els => els.map(e => e.textContent)"
    )
    assert own == ["Living room"]
    page.wait_for_selector(f"{group}[data-online='true']", timeout=5_000)
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
    assert page.inner_text(f"{group} .node-badge").lower() == "offline"
    assert "node garage is offline" in page.inner_text(f"{group} [data-sensor='garage/d']")
    # our own card carries on
    assert page.get_attribute("[data-sensor='d']", "data-status") == "ok"
    assert not w.errors, w.errors
