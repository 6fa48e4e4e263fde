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
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
SERVING_RE = re.compile(r"serving http://127\.0\.0\.1:(\d+)/")
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


def start_daemon(data: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pi_dashboard", "run", "--mock", "--host", "127.0.0.1",
         "--port", "0", "--data-dir", str(data)],
        cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    deadline = time.monotonic() + 20
    for line in proc.stderr:
        if m := SERVING_RE.search(line):
            url = f"http://127.0.0.1:{m.group(1)}"
            break
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("the daemon did not start")
    else:
        raise SystemExit("the daemon exited")
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/api/health", timeout=2).close()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the daemon never answered")


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
        proc, url = start_daemon(Path(tmp))
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
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
