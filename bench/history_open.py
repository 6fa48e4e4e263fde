"""Startup with an hour of unsealed history: spawn to the first HTTP 200, against a fresh data dir.

The fixture is what a daemon killed just before its hourly seal leaves: the bench's 10 `demo`
sensors (3 channels each, read every second) flushed every 5 s for an hour, 720 staging records,
written through the real store on a simulated clock ending now, by a process that exits without
closing the database (so its WAL is left as a crash leaves it). Each start gets its own copy of
it (a start seals and appends), alternated with a start on an empty data dir. Reported: CPU time
of the daemon until its first 200 (utime + stime of every thread, from the kernel's per-thread
clocks; the machine is shared, so CPU time rather than wall is the measure), and wall time.

    .venv/bin/python bench/history_open.py [--starts 8] [--records 720] [--sealed]
                                           [--keep DIR] [--base SRC]

`--sealed`: the same hour, sealed (a daemon restarted right after its seal): nothing to replay,
but the snapshot's sparklines still come from an hour of samples.

`--base SRC` also starts another checkout's code (`python -m pi_dashboard` with SRC first on
PYTHONPATH) on the same fixture, alternated with the rest: before and after in one run.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pi_dashboard.history.codec import Samples
from pi_dashboard.history.paths import MOCK_DATABASE
from pi_dashboard.history.store import SeriesInfo, Store
from pi_dashboard.model import ChannelMeta
from pi_dashboard.sensors.demo import CHANNELS

ROOT = Path(__file__).resolve().parents[1]
SENSORS = 10
FLUSH_S = 5


def config_text(port: int) -> str:
    """The shared bench's startup config: 10 `demo` sensors at 1 s."""
    lines = ["[server]", 'host = "127.0.0.1"', f"port = {port}", ""]
    for i in range(SENSORS):
        lines += ["[[sensors]]", f'id = "demo_{i:03d}"', 'type = "demo"', "interval = 1.0", ""]
    return "\n".join(lines)


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def info(sensor: int, m: ChannelMeta) -> SeriesInfo:
    """The series the daemon registers for a channel of the bench's sensor `sensor`."""
    return SeriesInfo(
        sensor=f"demo_{sensor:03d}", channel=m.id, unit=m.unit, name=m.name,
        kind=m.device_class.value, precision=m.precision, interval_s=1.0,
    )  # fmt: skip


def build(directory: Path, records: int, end: float, sealed: bool = False) -> None:
    """`records` flushes ending at `end` (epoch s), written by a child that then dies unclosed
    (`sealed`: after sealing them all, as a daemon restarted right after its seal leaves it)."""
    directory.mkdir(parents=True, exist_ok=True)
    pid = os.fork()
    if pid:
        _, status = os.waitpid(pid, 0)
        if status:
            raise SystemExit(f"building the fixture failed ({status})")
        return
    try:
        start = end - records * FLUSH_S
        store = Store(directory / MOCK_DATABASE, clock=Clock(start))
        with store.transaction():
            ids = {(s, m.id): store.register(info(s, m)) for s in range(SENSORS) for m in CHANNELS}
        value = {m.id: 10.0 * (k + 1) for k, m in enumerate(CHANNELS)}
        for flush in range(records):
            batch: dict[int, Samples] = {}
            for k in range(FLUSH_S):
                t = start + flush * FLUSH_S + k
                for s in range(SENSORS):
                    for m in CHANNELS:
                        value[m.id] += ((flush * 7 + k * 3 + s) % 5 - 2) * 0.01
                        b = batch.setdefault(ids[(s, m.id)], Samples(m.precision))
                        b.t.append(round((t + s * 0.01) * 1000))
                        b.q.append(round(value[m.id] * 10**m.precision))
            store.clock.t = start + (flush + 1) * FLUSH_S
            store.append(batch)
        if sealed:
            store.clock.t = end + 3600
            store.seal_all()
    except BaseException:
        os._exit(1)
    os._exit(0)  # no close: the WAL stays as a killed daemon leaves it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_s(pid: int) -> float:
    """CPU time of every thread of `pid` so far (ns clocks, /proc/<pid>/task/*/schedstat)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e9


def start_once(
    argv0: list[str], data_dir: Path, work: Path, env: dict[str, str], deadline_s: float = 30.0
) -> tuple[float, float]:
    """(CPU s, wall s) from spawn to the first 200 on `/`; the daemon is then killed. CPU is the
    threads' clocks at the 200 (after it, the writer may go on replaying in the background); the
    rusage (utime + stime) at the kill only if /proc could not say."""
    port = free_port()
    cfg = work / "config.toml"
    cfg.write_text(config_text(port))
    argv = [*argv0, "run", "--mock", "--config", str(cfg), "--data-dir", str(data_dir)]
    t0 = time.monotonic()
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=work
    )  # not from a checkout: `-m` would import the package beside it
    try:
        while True:
            if time.monotonic() - t0 > deadline_s or proc.poll() is not None:
                raise SystemExit(f"no HTTP 200 from {' '.join(argv)}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/")
                ok = c.getresponse().status == 200
                c.close()
            except OSError:
                ok = False
            if ok:
                wall = time.monotonic() - t0
                cpu = cpu_s(proc.pid)
                break
            time.sleep(0.002)
    finally:
        proc.send_signal(signal.SIGKILL)
        _, _, ru = os.wait4(proc.pid, 0)
        proc.returncode = -signal.SIGKILL
    return cpu or ru.ru_utime + ru.ru_stime, wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--starts", type=int, default=8, help="starts of each kind (alternated)")
    p.add_argument("--records", type=int, default=720)
    p.add_argument("--keep", type=Path, help="build the fixture into this data dir and stop")
    p.add_argument("--sealed", action="store_true", help="the records sealed: no replay")
    p.add_argument("--base", type=Path, help="another checkout to start too (before/after)")
    args = p.parse_args()
    if args.keep:
        build(args.keep, args.records, time.time(), args.sealed)
        state = "sealed" if args.sealed else "unsealed"
        print(f"{args.keep / MOCK_DATABASE}: {args.records} records, {state}")
        return
    tmp = Path(tempfile.mkdtemp(prefix="history-open-"))
    try:
        load = os.getloadavg()[0]
        fixture = tmp / "fixture"
        build(fixture, args.records, time.time(), args.sealed)
        argv0 = [sys.executable, "-m", "pi_dashboard"]
        # bytecode cached, as on a Pi (and as the shared bench starts the project)
        drop = ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")
        env = {k: v for k, v in os.environ.items() if k not in drop}
        codes = {"": env}
        if args.base:
            codes["base "] = {**env, "PYTHONPATH": str(args.base.resolve())}
        kinds = [(code, data) for code in codes for data in ("fresh", "filled")]
        figures: dict[str, list[tuple[float, float]]] = {c + d: [] for c, d in kinds}
        for code_env in codes.values():  # bytecode and page cache warm
            start_once(argv0, tmp / "warm", tmp, code_env)
        for i in range(args.starts):
            for code, data in kinds if i % 2 == 0 else kinds[::-1]:
                d = tmp / f"{code.strip()}{data}-{i}"
                if data == "filled":
                    shutil.copytree(fixture, d)
                figures[code + data].append(start_once(argv0, d, tmp, codes[code]))
                shutil.rmtree(d, ignore_errors=True)
        what = "sealed" if args.sealed else "unsealed"
        print(f"load average {load:.2f}; {args.records} records ({what}); medians of "
              f"{args.starts} alternated starts")  # fmt: skip
        for kind, xs in figures.items():
            cpu = statistics.median(c for c, _ in xs) * 1000
            wall = statistics.median(w for _, w in xs) * 1000
            each = [round(c * 1000) for c, _ in xs]
            print(f"  {kind:14s} CPU {cpu:6.1f} ms   wall {wall:6.1f} ms   (CPU each: {each})")
        for code in codes:
            pairs = zip(figures[code + "filled"], figures[code + "fresh"], strict=True)
            extra = statistics.median(u[0] - f[0] for u, f in pairs) * 1000
            print(f"  {code}filled - {code}fresh, paired CPU median: {extra:.1f} ms")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
