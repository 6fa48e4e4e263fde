"""History on the page: a reload, or a restarted daemon, shows the sparkline history it had."""

from __future__ import annotations

import pytest
from waiting import wait_until

pytestmark = pytest.mark.browser

DAEMON_CONFIG = """
[server]
title = "History test"

[history]
flush_interval = 0.5

[[sensors]]
id = "living"
type = "demo"
name = "Living room"
interval = 0.2
"""

HISTORY = """async () => {
  const store = await import('/static/js/store.js');
  const ch = store.getSensor('living')?.channels.get('temperature');
  return {t: ch ? ch.history.t : [], now: store.now(), snapshot: store.getInfo().snapshotReceived};
}"""


def history(w) -> dict:
    return w.page.evaluate(HISTORY)


def wait_for_history(w, pred) -> dict:
    """Poll the page's store (a module import is async, so Playwright's wait_for_function, which
    wants a synchronous predicate, cannot do it)."""
    last: list[dict] = []

    def met() -> dict | None:
        last[:] = [history(w)]
        return last[0] if pred(last[0]) else None

    return wait_until(met, limit=15, what=lambda: f"the page's history; last: {last}")


def wait_for_span(w, seconds: float) -> dict:
    return wait_for_history(w, lambda h: len(h["t"]) > 1 and h["t"][-1] - h["t"][0] >= seconds)


def test_a_reload_shows_the_history_it_had(daemon, open_page):
    w = open_page(daemon.url + "/")
    before = wait_for_span(w, 4)
    reloaded_at = before["now"]
    w.page.reload()
    after = wait_for_history(w, lambda h: h["snapshot"])
    assert after["t"], "the sparkline has points right after the reload"
    assert after["t"][0] <= reloaded_at - 3, (
        "points from before the reload came back with the snapshot, not only new readings"
    )
    w.page.wait_for_function(
        "() => document.querySelector('#foot').textContent.includes('unsaved')", timeout=10000
    )
    foot = w.page.text_content("#foot") or ""
    assert "history" in foot
    assert "written today" in foot


def test_a_restarted_daemon_shows_what_it_kept(start_daemon, open_page):
    d = start_daemon(DAEMON_CONFIG)
    w = open_page(d.url + "/")
    before = wait_for_span(w, 3)
    d.kill()  # SIGTERM: history is flushed on the way out
    d.start()
    fresh = open_page(d.url + "/")
    after = wait_for_history(fresh, lambda h: h["snapshot"])
    assert after["t"]
    assert after["t"][0] <= before["t"][-1] - 2, "the new page starts with the kept history"
