"""How many other nodes' messages one daemon ingests per second (docs/scaling.md).

    .venv/bin/python -m bench.mqtt_ingest [--rates 250,500,1000,2000] [--nodes 20] [--seconds 10]

Starts a Mosquitto on a free loopback port and one daemon (`pi-dashboard run`, mock mode, one
demo sensor of its own, `[mqtt] follow = ["*"]`), announces `--nodes` nodes of 10 sensors each
(retained `$meta` and `$status`), then for each rate publishes sensor states (the JSON a node sends,
three values each, spread over every sensor) at that rate for `--seconds`, and reports the daemon's
CPU (utime + stime from /proc over the window) and how many messages it took in (`/api/health`).
Everything stays on 127.0.0.1, bounded in count and time; processes are stopped by their PID.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.broker import broker, stop

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")
SENSORS_PER_NODE = 10


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def meta(node: str) -> bytes:
    ch = [
        {"id": c, "name": c, "unit": u, "kind": k, "state_class": "measurement",
         "precision": 2, "binary": False}
        for c, u, k in (("temperature", "°C", "temperature"), ("humidity", "%", "humidity"),
                        ("pressure", "hPa", "atmospheric_pressure"))
    ]  # fmt: skip
    sensors = [
        {"id": f"s{i}", "type": "demo", "name": f"Sensor {i}", "interval": 1.0, "channels": ch}
        for i in range(SENSORS_PER_NODE)
    ]
    return json.dumps({"node": node, "name": node, "sensors": sensors}).encode()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.mqtt_ingest")
    ap.add_argument("--rates", default="250,500,1000,2000")
    ap.add_argument("--nodes", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-mqtt-"))
    try:
        with broker(tmp, "max_queued_messages 100000\n") as port:
            return ingest(args, tmp, port)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ingest(args: argparse.Namespace, tmp: Path, port: int) -> int:
    """One daemon following `args.nodes` nodes that a publisher plays at each rate."""
    import paho.mqtt.client as paho

    (tmp / "c.toml").write_text(
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\nnode = "hub"\nfollow = ["*"]\n'
        f"max_nodes = {args.nodes + 1}\n"
        '[[sensors]]\nid = "d"\ntype = "demo"\ninterval = 1\n'
    )
    daemon = subprocess.Popen(
        [sys.executable, "-m", "pi_dashboard", "run", "--mock", "-c", str(tmp / "c.toml"),
         "--host", "127.0.0.1", "--port", "0", "--data-dir", str(tmp / "data")],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = None
    lines: list[str] = []

    def drain() -> None:
        nonlocal url
        assert daemon.stderr is not None
        for line in daemon.stderr:
            lines.append(line)
            m = re.search(r"serving (http://127\.0\.0\.1:\d+)/", line)
            if m:
                url = m.group(1)

    threading.Thread(target=drain, daemon=True).start()
    pub = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="bench-pub")
    try:
        deadline = time.monotonic() + 20
        while url is None:
            assert time.monotonic() < deadline, "".join(lines[-10:])
            time.sleep(0.05)
        pub.max_queued_messages_set(0)
        pub.connect("127.0.0.1", port)
        pub.loop_start()
        nodes = [f"n{i:03d}" for i in range(args.nodes)]
        for n in nodes:
            pub.publish(f"pi-dashboard/{n}/$meta", meta(n), qos=1, retain=True)
            pub.publish(f"pi-dashboard/{n}/$status", b"online", qos=1, retain=True)
        time.sleep(2)

        def received() -> int:
            with urllib.request.urlopen(f"{url}/api/health", timeout=5) as r:
                return json.load(r)["mqtt"]["received"]

        print(f"{'rate/s':>8} {'sent':>8} {'taken in':>9} {'daemon CPU':>11}")
        rng = random.Random(1)
        results = []
        for rate in (int(r) for r in args.rates.split(",")):
            before_n, before_cpu, t0 = received(), cpu_s(daemon.pid), time.monotonic()
            sent = 0
            while (elapsed := time.monotonic() - t0) < args.seconds:
                due = int(elapsed * rate)
                while sent < due:
                    n = nodes[sent % len(nodes)]
                    s = (sent // len(nodes)) % SENSORS_PER_NODE
                    body = {"status": "ok", "ts": time.time(), "values": {
                        "temperature": round(20 + rng.random(), 2),
                        "humidity": round(50 + rng.random(), 2),
                        "pressure": round(1000 + rng.random(), 2)}}  # fmt: skip
                    pub.publish(f"pi-dashboard/{n}/s{s}", json.dumps(body), qos=0, retain=True)
                    sent += 1
                time.sleep(0.002)
            time.sleep(1.0)  # let the last ones arrive
            wall = time.monotonic() - t0
            cpu = (cpu_s(daemon.pid) - before_cpu) / wall
            got = received() - before_n
            results.append({"rate": rate, "sent": sent, "received": got, "cpu": cpu})
            print(f"{rate:>8} {sent:>8} {got:>9} {cpu * 100:>10.0f}%")
        print(json.dumps({"bench": "mqtt_ingest", "nodes": args.nodes, "results": results}))
    finally:
        pub.loop_stop()
        stop(daemon)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
