"""Bytes written to disk per day by history, measured from /proc/PID/io `write_bytes`.

Starts one daemon per variant on 127.0.0.1 (any free port), lets them warm up, then samples each
process's write_bytes once a minute for `--minutes` and extrapolates to a day. Variants: the real
store at 1, 5 (default) and 30 s flush, the same at 5 s as before (its WAL growing as it is
written, not reserved), the naive one-row-per-sample table (bench/naive_store.py), history off, and
mock mode (built-in demo config) with the simulated /sys tree in RAM and, as it was before, on
disk. Run it for at least an hour to include a seal (the hourly roll-up):

    .venv/bin/python bench/history_writes.py --minutes 65 --out /tmp/history-writes.json

With `--aged`, also a daemon started on a database brought to the state of one that has run for a
day (`age`: the WAL reused in place rather than growing, the staging rows allocated): the steady
state, where the first hours after a fresh start include one-time costs.

`start_bytes` is what each wrote from its start to the end of the warm-up (one-time costs).
It also reports each daemon's resident memory, at the end and its largest once-a-minute value
(history on vs off, same workload).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVING = re.compile(r"serving http://127\.0\.0\.1:(\d+)/")


def reference_config(flush: float | None, enabled: bool = True) -> str:
    """The issue's reference workload: 10 sensors x 3 channels, read every second."""
    text = '[server]\nhost = "127.0.0.1"\nport = 0\n'
    if not enabled:
        text += "\n[history]\nenabled = false\n"
    elif flush is not None:
        text += f"\n[history]\nflush_interval = {flush}\n"
    for i in range(10):
        text += f'\n[[sensors]]\nid = "room{i}"\ntype = "demo"\ninterval = 1\nseed = {i}\n'
    return text


def serve(args: argparse.Namespace) -> None:
    """A daemon built as `pi-dashboard run` builds it, with one part swapped for the comparison."""
    sys.path.insert(0, str(ROOT / "bench"))
    from naive_store import NaiveStore

    from pi_dashboard.app import create_app
    from pi_dashboard.cli.lifecycle import Signals
    from pi_dashboard.cli.run import listen, setup_logging
    from pi_dashboard.cli.run import serve as serve_app
    from pi_dashboard.demo import load
    from pi_dashboard.history import paths
    from pi_dashboard.history.service import History, options_from_config

    setup_logging(False)
    config = load(args.config)
    data = paths.ensure(Path(args.data_dir))
    if args.design == "growing-wal":  # as before: the WAL not reserved, it grows as written
        from pi_dashboard.history import store

        store._reserve_wal = lambda path: None
        history = History(options_from_config(config.history, paths.database(data, mock=False)))
        app = create_app(config, history=history)
    elif args.design == "naive":
        history = History(
            options_from_config(config.history, paths.database(data, mock=False)),
            store=NaiveStore,
        )
        app = create_app(config, history=history)
    elif args.design == "disk-tree":  # mock mode as it was: the simulated tree in a folder on disk
        from pi_dashboard.sensors.registry import TYPES
        from pi_dashboard.sim.world import SimWorld

        world = SimWorld(data / "sim-root")
        world.populate(config, TYPES)
        app = create_app(config, world=world)
    else:
        raise SystemExit(f"unknown design {args.design}")
    asyncio.run(serve_app(app, listen("127.0.0.1", 0), "127.0.0.1", args.design, Signals()))


def age(args: argparse.Namespace) -> None:
    """Bring a database to the state of a daemon that has run for a day: the reference workload's
    series, ~20 h of samples sealed hour by hour, the staging rows allocated and reused, and the
    WAL grown to its checkpoint size and restarted (SQLite then writes it again in place). Exits
    without closing, as a power cut would: closing would delete the WAL."""
    import random

    from pi_dashboard.history import paths
    from pi_dashboard.history.codec import Samples
    from pi_dashboard.history.store import SeriesInfo, Store
    from pi_dashboard.sensors.demo import CHANNELS

    path = paths.database(paths.ensure(Path(args.data_dir)), mock=False)
    start = time.time() - args.flushes * 5 - 3600
    clock = [start]
    store = Store(path, clock=lambda: clock[0])
    sids = [
        store.register(
            SeriesInfo(
                sensor=f"room{i}",
                channel=m.id,
                unit=m.unit,
                name=m.name,
                kind=m.device_class.value,
                precision=m.precision,
                interval_s=1.0,
            )
        )
        for i in range(10)
        for m in CHANNELS
    ]
    rng = random.Random(1)
    walk = dict.fromkeys(sids, 0.0)
    for _ in range(args.flushes):
        batch = {}
        for sid in sids:
            s = Samples(store.series[sid].precision)
            for n in range(5):
                walk[sid] += rng.random() - 0.5
                s.t.append(int((clock[0] + n) * 1000))
                s.q.append(round(walk[sid] * 10))
            batch[sid] = s
        clock[0] += 5
        store.append(batch)
        while store.seal_step():
            pass
    os._exit(0)


def read_io(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("no write_bytes")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def variants(tmp: Path, aged: bool) -> dict[str, list[str]]:
    py = [sys.executable]
    me = [*py, str(Path(__file__).resolve()), "serve"]
    run = [*py, "-m", "pi_dashboard", "run", "--host", "127.0.0.1", "--port", "0"]
    out: dict[str, list[str]] = {}

    def cfg(name: str, text: str) -> str:
        p = tmp / f"{name}.toml"
        p.write_text(text)
        return str(p)

    for flush in (1, 5, 30):
        c = cfg(f"flush{flush}", reference_config(flush))
        data = str(tmp / f"d{flush}")
        out[f"chunks, {flush} s flush"] = [*run, "--config", c, "--data-dir", data]
    if aged:
        c = cfg("aged", reference_config(5))
        data = str(tmp / "aged")
        subprocess.run([*me[:-1], "age", "--data-dir", data], check=True, timeout=900)
        out["chunks, 5 s flush, database a day old"] = [*run, "--config", c, "--data-dir", data]
    grow = cfg("grow", reference_config(5))
    out["chunks, 5 s flush, WAL growing (before)"] = [
        *me, "--design", "growing-wal", "--config", grow,
        "--data-dir", str(tmp / "grow")]  # fmt: skip
    c5 = cfg("naive", reference_config(5))
    out["naive rows, 5 s flush"] = [*me, "--design", "naive", "--config", c5,
                                    "--data-dir", str(tmp / "naive")]  # fmt: skip
    off = cfg("off", reference_config(None, enabled=False))
    out["history off"] = [*run, "--config", off, "--data-dir", str(tmp / "off")]
    out["mock demo, tree in RAM"] = [*run, "--mock", "--data-dir", str(tmp / "mock")]
    demo_text = (ROOT / "pi_dashboard/demo.toml").read_text().replace("port = 8080", "port = 0")
    demo = cfg("demo-off", demo_text + "\n[history]\nenabled = false\n")
    disk = str(tmp / "disk-tree")
    out["mock demo, tree on disk (before), history off"] = [
        *me, "--design", "disk-tree", "--config", demo, "--data-dir", disk]  # fmt: skip
    return out


def measure(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="history-writes-", dir=args.dir))
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs = {}
    try:
        for name, cmd in variants(tmp, args.aged).items():
            log = open(tmp / f"{len(logs)}.log", "wb")  # noqa: SIM115
            logs[name] = log
            procs[name] = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        for name in procs:
            path = Path(logs[name].name)
            while not SERVING.search(path.read_text(errors="replace")):
                if procs[name].poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{name} did not start:\n{path.read_text()}")
                time.sleep(0.2)
        time.sleep(args.warmup)
        start = {n: read_io(p.pid) for n, p in procs.items()}
        t0 = time.monotonic()
        series: dict[str, list[tuple[float, int]]] = {n: [(0.0, 0)] for n in procs}
        rss_series: dict[str, list[int]] = {n: [rss_kb(p.pid)] for n, p in procs.items()}
        while (elapsed := time.monotonic() - t0) < args.minutes * 60:
            time.sleep(min(60.0, args.minutes * 60 - elapsed))
            for n, p in procs.items():
                series[n].append((round(time.monotonic() - t0, 1), read_io(p.pid) - start[n]))
                rss_series[n].append(rss_kb(p.pid))
        rss = {n: rss_kb(p.pid) for n, p in procs.items()}
        result = {
            "minutes": args.minutes,
            "warmup_s": args.warmup,
            "variants": {
                n: {
                    "mb_per_day": round(s[-1][1] / s[-1][0] * 86400 / 1e6, 1),
                    "start_bytes": start[n],
                    "mb_per_day_first_10_min": round(
                        next((b for t, b in s if t >= 600), s[-1][1])
                        / next((t for t, b in s if t >= 600), s[-1][0]) * 86400 / 1e6, 1),
                    "rss_mb": round(rss[n] / 1024, 1),
                    "rss_max_mb": round(max(rss_series[n]) / 1024, 1),
                    "series": s,
                    "rss_kb_series": rss_series[n],
                }
                for n, s in series.items()
            },
        }  # fmt: skip
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        for log in logs.values():
            log.close()
    sizes = {}
    for name, sub in (("chunks, 5 s flush", "d5"), ("naive rows, 5 s flush", "naive")):
        files = list((tmp / sub).glob("history*"))
        sizes[name] = sum(f.stat().st_size for f in files)
    result["db_bytes_after_run"] = sizes
    text = json.dumps(result, indent=1)
    Path(args.out).write_text(text)
    for n, v in result["variants"].items():
        print(f"{n:50s} {v['mb_per_day']:8.1f} MB/day  (10 min: {v['mb_per_day_first_10_min']:.1f})"
              f"  RSS {v['rss_mb']} MB (max {v['rss_max_mb']})")  # fmt: skip
    print("database bytes after the run:", sizes)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd")
    s = sub.add_parser("serve")
    s.add_argument("--design", required=True)
    s.add_argument("--config", required=True)
    s.add_argument("--data-dir", required=True)
    a = sub.add_parser("age")
    a.add_argument("--data-dir", required=True)
    a.add_argument("--flushes", type=int, default=14_000)
    p.add_argument("--minutes", type=float, default=65)
    p.add_argument("--warmup", type=float, default=60)
    p.add_argument("--out", default="/tmp/history-writes.json")
    p.add_argument("--dir", default=None, help="where the databases go (a real disk, not tmpfs)")
    p.add_argument(
        "--aged", action="store_true", help="also a daemon on a database aged a day (bench age)"
    )
    args = p.parse_args()
    if args.cmd == "serve":
        serve(args)
    elif args.cmd == "age":
        age(args)
    else:
        measure(args)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
