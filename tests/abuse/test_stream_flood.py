"""Stream commands printing as fast as they can, against a real daemon process on loopback.

A reference daemon without them runs alongside, measured the same way: memory stays bounded,
/api/health answers in < 100 ms, the other sensor keeps its pace, the excess is counted, and
SIGTERM still exits 0 within 2 s. (Before the bounded hand-off: 46 -> 450 MB in 20 s, health
answers after 5.7-8.6 s, and SIGTERM lost.)
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cpu_wait import gone
from waiting import wait_until

pytestmark = pytest.mark.slow

DEMO = '[[sensors]]\nid = "demo"\ntype = "demo"\ninterval = 0.2\n'
PY_FLOOD = "import sys\nw = sys.stdout.write\nwhile True:\n    w('{\"a\": 1.5}\\n')\n"
FLOODS = f"""
[[sensors]]
id = "yes"
type = "command"
mode = "stream"
command = ["yes", "1"]

[[sensors]]
id = "python"
type = "command"
mode = "stream"
command = [{json.dumps(sys.executable)}, "-c", {json.dumps(PY_FLOOD)}]
outputs = [{{ id = "a" }}]
"""
WINDOW_S = 8.0
TICKS = int(WINDOW_S / 0.1)


@dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    health_s: list[float] = field(default_factory=list)
    demo_ts: set[float] = field(default_factory=set)

    def get(self, path: str) -> object:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
            return json.load(r)

    def sample(self) -> None:
        t0 = time.perf_counter()
        self.get("/api/health")
        self.health_s.append(time.perf_counter() - t0)
        demo = self.get("/api/sensors/demo")
        assert isinstance(demo, dict)
        self.demo_ts.add(demo["ts"])

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(tmp_path: Path, name: str, text: str) -> Daemon:
    config, log = tmp_path / f"{name}.toml", tmp_path / f"{name}.log"
    data = tmp_path / f"{name}-data"  # its own history: two daemons cannot share a database
    config.write_text(text)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pi_dashboard", "run", "--mock", "--config", str(config),
             "--host", "127.0.0.1", "--port", str(port)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            env={**os.environ, "TMPDIR": str(tmp_path), "PI_DASHBOARD_DATA_DIR": str(data)},
        )  # fmt: skip
    return Daemon(proc, port, log)


def answer(d: Daemon, path: str) -> object:
    """The daemon's answer, or None while it is still starting."""
    try:
        return d.get(path)
    except OSError:
        return None


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def test_stream_flood(tmp_path: Path):
    reference = start(tmp_path, "reference", DEMO)
    flood = start(tmp_path, "flood", DEMO + FLOODS)
    daemons = (reference, flood)
    try:
        for d in daemons:
            wait_until(lambda d=d: (s := answer(d, "/api/sensors/demo")) and s["status"] == "ok")
        wait_until(lambda: all(s["dropped"] > 0 for s in flood.get("/api/sensors")[1:]))
        rss0 = {d.log.stem: d.rss_mb() for d in daemons}
        cpu0 = {d.log.stem: d.cpu_s() for d in daemons}
        t0 = time.monotonic()
        for k in range(TICKS):
            for d in daemons:
                d.sample()
            time.sleep(max(0.0, t0 + (k + 1) * 0.1 - time.monotonic()))
        elapsed = time.monotonic() - t0
        rss1 = {d.log.stem: d.rss_mb() for d in daemons}
        cpu = {d.log.stem: (d.cpu_s() - cpu0[d.log.stem]) / elapsed for d in daemons}
        sensors = {s["id"]: s for s in flood.get("/api/sensors")}  # type: ignore[union-attr]
        stops = {}
        for d in daemons:
            sent = time.monotonic()
            d.proc.send_signal(signal.SIGTERM)
            took = gone(d.proc, sent)  # the daemon's own time: see tests/cpu_wait.py
            stops[d.log.stem] = (d.proc.returncode, took)
    finally:
        for d in daemons:
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()
    log = flood.log.read_text()
    print(
        f"\nstream flood ({elapsed:.1f} s, `yes 1` and a Python loop):"
        f"\n  RSS MB before/after: flood {rss0['flood']:.1f} -> {rss1['flood']:.1f}, "
        f"reference {rss0['reference']:.1f} -> {rss1['reference']:.1f}"
        f"\n  /api/health p99/max ms: flood {p99(flood.health_s) * 1000:.1f}/"
        f"{max(flood.health_s) * 1000:.1f}, reference {p99(reference.health_s) * 1000:.1f}/"
        f"{max(reference.health_s) * 1000:.1f}"
        f"\n  CPU: flood {cpu['flood']:.0%}, reference {cpu['reference']:.0%}"
        f"\n  demo readings seen: flood {len(flood.demo_ts)}, reference {len(reference.demo_ts)}"
        f"\n  dropped: yes {sensors['yes']['dropped']}, python {sensors['python']['dropped']}"
        f"\n  SIGTERM: flood exit {stops['flood'][0]} in {stops['flood'][1]:.2f} s"
    )
    assert stops["flood"][0] == 0, log
    assert stops["flood"][1] < 2.0
    assert rss1["flood"] - rss0["flood"] < 10, "memory grew under the flood"
    assert rss1["flood"] - rss1["reference"] < 15, "the flood costs more memory than a reference"
    # under 100 ms more than the reference daemon beside it answers in, the same moment
    assert p99(flood.health_s) < 0.1 + p99(reference.health_s)
    assert len(flood.demo_ts) >= 0.8 * len(reference.demo_ts), "the demo sensor lost its pace"
    for sid in ("yes", "python"):
        assert sensors[sid]["status"] == "ok"
        assert sensors[sid]["dropped"] > 10_000
        assert log.count(f"sensor {sid}: ") == 1, "one line about the flood, once"
        assert "prints more than 10 lines/s (max_rate)" in log
    assert "Traceback" not in log
