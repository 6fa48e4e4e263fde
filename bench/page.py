"""The page's budgets in headless Chromium (Debian's, through Playwright; never `playwright
install`), against `pi-dashboard run --mock` with the demo config:

- bytes transferred (compressed) by the first load, and by a chart's first open;
- first values on screen after navigation, with the history sparklines painted with them, and
  when the socket's own snapshot arrived (the reference: what the page waited for before);
- the same at 400 ms RTT / 1.6 Mbit/s (Chromium's network emulation through a CDP session).

    .venv/bin/python -m bench.page [--runs 5]

Medians of --runs fresh browser contexts (empty cache) per condition. Budgets (issue 11): first
load <= 100 KB, a chart's first open <= 60 KB more, first values <= 300 ms on localhost and
<= 2 s at 400 ms RTT.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from live_daemon import Daemon  # noqa: E402 (the tests' daemon runner, tests/ on the path first)

CHROMIUM = "/usr/bin/chromium"
SLOW = {"latency": 400, "downloadThroughput": 1.6e6 / 8, "uploadThroughput": 1.6e6 / 8}

# Runs before the page's own scripts (DevTools protocol: the page's CSP does not apply): notes
# when the first value shows, when a sparkline has its history, when the socket is live.
PROBE = """
window.__marks = {};
new MutationObserver(() => {
  const m = window.__marks, now = performance.now();
  if (!m.value && [...document.querySelectorAll('.ch-value')].some(e => /\\d/.test(e.textContent)))
    m.value = now;
  if (!m.spark && document.querySelector('canvas[data-points]:not([data-points="0"])'))
    m.spark = now;
  if (!m.live && document.querySelector('#conn[data-state="live"]')) m.live = now;
}).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""
TRANSFERRED = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  return nav.transferSize + performance.getEntriesByType('resource')
    .reduce((n, e) => n + e.transferSize, 0);
}"""


def start_daemon(data: Path) -> Daemon:
    """The tests' way to run `pi-dashboard run --mock` (demo config) on a port the OS picks."""
    return Daemon(config=None, tmp=data, data=data / "data").start()


def one(browser, url: str, slow: bool) -> dict[str, float]:  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = ctx.new_page()
        page.add_init_script(PROBE)
        if slow:
            cdp = ctx.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", {"offline": False, **SLOW})
        page.goto(url + "/", wait_until="commit")
        page.wait_for_function("() => window.__marks.value && window.__marks.live", timeout=30000)
        page.wait_for_load_state("networkidle")
        first = page.evaluate(TRANSFERRED)
        marks = page.evaluate("() => window.__marks")
        page.click("[data-sensor='living-room'] [data-channel='temperature'] .ch-open")
        page.wait_for_selector(".chart-plot[data-state='ready'] canvas", timeout=30000)
        page.wait_for_load_state("networkidle")
        chart = page.evaluate(TRANSFERRED) - first
        return {
            "first_load_kb": first / 1000,
            "chart_open_kb": chart / 1000,
            "first_values_ms": marks["value"],
            "sparklines_ms": marks.get("spark", float("nan")),
            "socket_live_ms": marks["live"],
        }
    finally:
        ctx.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.page", description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warm-s", type=float, default=5.0, help="history before the first run")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        daemon = start_daemon(Path(tmp))
        url = daemon.url
        try:
            time.sleep(args.warm_s)  # a few seconds of history for the sparklines
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--headless=new"]
                )
                for label, slow in (("localhost", False), ("400 ms RTT, 1.6 Mbit/s", True)):
                    runs = [one(browser, url, slow) for _ in range(args.runs)]
                    print(f"{label} (median of {args.runs}):")
                    for key in runs[0]:
                        values = [r[key] for r in runs]
                        print(f"  {key:16} {statistics.median(values):8.1f}"
                              f"   (min {min(values):.1f}, max {max(values):.1f})")  # fmt: skip
                browser.close()
        finally:
            daemon.kill()  # by its PID
    return 0


if __name__ == "__main__":
    sys.exit(main())
