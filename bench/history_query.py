"""`/api/history` latency for 24 h at 500 points, with the reference workload writing.

Fills a database with the last 24 h of the reference workload (10 demo sensors x 3 channels at
1 s, as bench/history_size.py writes it), starts `pi-dashboard run` on it with the same sensors
polling and writing (5 s flush), then asks for 24 h of one channel at 500 points, `--requests`
times one after another over a keep-alive connection, and reports latency percentiles as the
client sees them. Also 1 h (raw tier) and 7 d for comparison.

    .venv/bin/python bench/history_query.py [--requests 500] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import http.client
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from history_size import Clock, fill
from history_writes import reference_config, rss_kb

from pi_dashboard.history.store import Store

ROOT = Path(__file__).resolve().parents[1]
CHANNELS = ("temperature", "humidity", "pressure")


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=500)
    p.add_argument("--dir", default=None)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="history-query-", dir=args.dir))
    data = tmp / "data"
    data.mkdir()
    now = int(time.time())
    clock = Clock()
    clock.t = now - 24 * 3600
    store = Store(data / "history.sqlite3", clock=clock, synchronous="OFF")
    started = time.monotonic()
    fill(store, 24, True, start=now - 24 * 3600)
    store.close()
    print(f"filled 24 h ({time.monotonic() - started:.0f} s)")
    config = tmp / "ref.toml"
    config.write_text(reference_config(5))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pi_dashboard", "run", "--config", str(config),
         "--data-dir", str(data)],
        cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        port = 0
        for line in proc.stderr:
            if m := re.search(r"127\.0\.0\.1:(\d+)/", line):
                port = int(m.group(1))
                break
        time.sleep(10)  # the workload runs, flushes and fills its buffers first
        print(f"daemon RSS before the queries {rss_kb(proc.pid) / 1024:.1f} MB")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for label, ago in (("24 h", "24h"), ("1 h", "1h"), ("7 d", "7d")):
            times = []
            n = args.requests if ago == "24h" else args.requests // 5
            points = None
            for i in range(n):
                path = (
                    f"/api/history?sensor=room{i % 10}&channel={CHANNELS[i % 3]}"
                    f"&from=-{ago}&points=500"
                )
                t = time.perf_counter()
                conn.request("GET", path)
                resp = conn.getresponse()
                body = resp.read()
                times.append((time.perf_counter() - t) * 1000)
                assert resp.status == 200, body[:200]
                points = body.count(b",") // 5
            print(
                f"{label:5s} at 500 points, {n} requests: p50 {percentile(times, 50):.1f} ms, "
                f"p99 {percentile(times, 99):.1f} ms, max {max(times):.1f} ms (~{points} points)"
            )
        print(f"daemon RSS after them {rss_kb(proc.pid) / 1024:.1f} MB")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


if __name__ == "__main__":
    main()
