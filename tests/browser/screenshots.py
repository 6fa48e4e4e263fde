"""The README's screenshots (docs/screenshots/): the demo config in mock mode, with two days of
made-up history written first, so the sparklines and the 24 h chart look as they do on a Pi that
has been running. Uses the tests' Chromium:

    .venv/bin/python tests/browser/screenshots.py
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import random
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from live_daemon import Daemon  # noqa: E402 (tests/ on the path first: run as a script)
from waiting import until, wait_until  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
DAYS = 2
SETTLED = """() => document.fonts.status === 'loaded'
  && [...document.querySelectorAll('canvas.ch-canvas')]
    .every(c => !c.checkVisibility() || 'points' in c.dataset)"""
"""Every sparkline in sight drawn, and the fonts in."""
FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
"""Two frames: whatever the last change asked for is painted."""


async def drained(history: object) -> None:
    """Let the writer keep up between channels (it drops readings past 20,000 waiting)."""
    await until(lambda: not history.stats()["unflushed_readings"], 30)  # type: ignore[attr-defined]


def prefill(data: Path, targets: dict[tuple[str, str], float]) -> None:
    """Two days of plausible readings (a daily swing, drift, noise) for the numeric channels."""
    from pi_dashboard.app import create_app, series_of
    from pi_dashboard.demo import demo_config
    from pi_dashboard.history import paths
    from pi_dashboard.history.service import History, options_from_config
    from pi_dashboard.web.keys import STATE

    config = demo_config()
    fast = dataclasses.replace(config.history, flush_interval=0.2)
    history = History(options_from_config(fast, paths.database(data, mock=True)))
    app = create_app(config, mock=True, history=history)
    state = app[STATE]
    rng = random.Random(7)

    async def run() -> None:
        infos = [i for i in series_of(state) if not i.binary]
        await history.start(series_of(state))
        now = time.time() - 30
        for info in infos:
            sensor = state.sensors[info.sensor]
            ch = sensor.channels[info.channel]
            base, swing = {"temperature": (21.0, 1.6), "humidity": (48.0, 6.0),
                           "atmospheric_pressure": (1013.0, 2.0), "pressure": (1013.0, 2.0),
                           "illuminance": (250.0, 240.0), "moisture": (55.0, 8.0),
                           "voltage": (1.25, 0.002)}.get(
                ch.meta.device_class.value, (0.0, 0.0))  # fmt: skip
            if swing == 0.0:
                continue
            phase = rng.random() * 2
            drift = 0.0
            minutes = DAYS * 24 * 60
            series = []
            for k in range(minutes, 0, -1):
                ts = now - k * 60
                drift += rng.gauss(0, swing * 0.01)
                day = math.sin((ts / 86400 + phase) * 2 * math.pi)
                series.append((ts, base + swing * day + drift + rng.gauss(0, swing * 0.02)))
            # bend the end onto what the simulated chip reads now: no jump where live data starts
            miss = targets.get((info.sensor, info.channel), series[-1][1]) - series[-1][1]
            for i, (ts, v) in enumerate(series):
                v += miss * i / (len(series) - 1)
                if ch.meta.device_class.value == "illuminance":
                    v = max(v, 0.0)
                history.record(info.sensor, ts, {info.channel: round(v, 2)})
            await drained(history)
        await history.stop()

    asyncio.run(run())


def start(data: Path) -> Daemon:
    """`pi-dashboard run --mock` (the demo config) with `data` as its data directory."""
    return Daemon(config=None, tmp=data, data=data).start()


def shoot(url: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--headless=new"]
        )
        for name, size, scheme, chart in [
            ("phone-light.png", (390, 844), "light", None),
            ("phone-dark.png", (390, 844), "dark", None),
            ("desktop-chart.png", (1440, 900), "light", ("bedroom", "temperature")),
        ]:
            ctx = b.new_context(
                viewport={"width": size[0], "height": size[1]},
                color_scheme=scheme,  # type: ignore[arg-type]
                device_scale_factor=2 if size[0] < 500 else 1,
            )
            page = ctx.new_page()
            page.goto(url + "/")
            page.wait_for_selector("#conn[data-state='live']", timeout=10000)
            page.wait_for_function(SETTLED, timeout=10000)
            if chart:
                sel = f"[data-sensor='{chart[0]}'] [data-channel='{chart[1]}'] .ch-open"
                page.click(sel)
                page.wait_for_selector(".chart-plot[data-state='ready'] canvas", timeout=10000)
            page.evaluate(FRAMES)
            page.screenshot(path=str(OUT / name))
            ctx.close()
        b.close()


def read_once(daemon: Daemon) -> list[dict] | None:
    sensors = daemon.get_json("/api/sensors")
    assert isinstance(sensors, list)
    return sensors if all(s["status"] != "pending" for s in sensors) else None


def now_values(data: Path) -> dict[tuple[str, str], float]:
    """What the simulated chips read at start (the simulation is seeded: the same next time)."""
    daemon = start(data)
    try:
        sensors = wait_until(lambda: read_once(daemon), what="every sensor read once")
    finally:
        daemon.kill()
    return {
        (s["id"], c["id"]): c["value"]
        for s in sensors
        for c in s["channels"]
        if isinstance(c["value"], float)
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as probe:
        data = Path(tmp)
        prefill(data, now_values(Path(probe)))
        daemon = start(data)
        try:
            shoot(daemon.url)
        finally:
            daemon.kill()


if __name__ == "__main__":
    main()
