"""The project's scenarios, run against the project and, when ../shared/bench is set up beside it,
against its node and Python reference servers too, with the same load client (bench/load.py),
so that every ratio compares figures measured in one run.

Scenarios as in ../shared/bench/README.md: idle, dashboard, fanout, many, startup. Every server
runs on 127.0.0.1 in a session of its own and is stopped by its PID (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.load import Stats, connect_all, percentile

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Scenario:
    name: str
    sensors: int
    interval: float
    clients: int = 0
    duration: float = 10.0
    starts: int = 0
    settle: float = 1.0
    """After the first HTTP 200 (and again after the clients connected: a warm-up)."""


FULL = {
    s.name: s
    for s in (
        Scenario("idle", 10, 1.0, duration=15),
        Scenario("dashboard", 10, 1.0, clients=5, duration=10),
        Scenario("fanout", 10, 0.1, clients=100, duration=10),
        Scenario("many", 5, 1.0, clients=1000, duration=8),
        Scenario("startup", 10, 1.0, starts=5),
    )
}
SMOKE = {
    s.name: s
    for s in (
        Scenario("idle", 2, 1.0, duration=0.5, settle=0.2),
        Scenario("dashboard", 2, 0.2, clients=2, duration=0.5, settle=0.2),
        Scenario("fanout", 2, 0.05, clients=5, duration=0.5, settle=0.2),
        Scenario("many", 2, 0.5, clients=30, duration=0.5, settle=0.2),
        Scenario("startup", 2, 1.0, starts=1),
    )
}


@dataclass(frozen=True)
class Target:
    name: str
    command: Callable[[int, Scenario, Path], list[str]]
    env: dict[str, str]


def project_target() -> Target:
    def command(port: int, sc: Scenario, run_dir: Path) -> list[str]:
        toml = run_dir / "config.toml"
        lines = ["[server]", f'host = "{HOST}"', f"port = {port}", ""]
        for i in range(sc.sensors):
            lines += ["[[sensors]]", f'id = "demo_{i:03d}"', 'type = "demo"']
            lines += [f"interval = {sc.interval}", "deadband = 0", ""]
        toml.write_text("\n".join(lines))
        script = Path(sys.executable).with_name("pi-dashboard")  # as installed; else -m
        exe = [str(script)] if script.exists() else [sys.executable, "-m", "pi_dashboard"]
        # its own history, never the user's (~/.local/share/pi-dashboard)
        return [*exe, "run", "--mock", "--config", str(toml), "--data-dir", str(run_dir / "data")]

    return Target("project", command, {})


def shared_bench() -> Path | None:
    """../shared/bench beside the project (or $PI_BENCH_SHARED), if there is one."""
    env = os.environ.get("PI_BENCH_SHARED")
    candidates = (
        [Path(env)] if env else [ROOT.parent / "shared/bench", ROOT.parents[1] / "shared/bench"]
    )
    return next((p for p in candidates if (p / "bench.py").is_file()), None)


def reference_targets(shared: Path | None) -> tuple[list[Target], str]:
    """node and pyref from ../shared/bench, where its setup.sh has run; and why not, if not."""
    if shared is None:
        return [], "no ../shared/bench: project figures only"
    work = Path(os.environ.get("PI_BENCH_DIR") or ROOT / ".bench")

    def knobs(port: int, sc: Scenario) -> list[str]:
        return ["--host", HOST, "--port", str(port), "--sensors", str(sc.sensors),
                "--interval", str(sc.interval)]  # fmt: skip

    targets = []
    node_modules = work / "node/reference-node/node_modules"
    if shutil.which("node") and (node_modules / "socket.io").is_dir():
        js = str(shared / "reference-node/server.js")
        targets.append(
            Target(
                "node",
                lambda p, sc, _d: ["node", js, *knobs(p, sc)],
                {"NODE_PATH": str(node_modules), "NODE_ENV": "production"},
            )
        )
    py = work / "venv/bin/python"
    if py.exists():
        script = str(shared / "reference-python/server.py")
        targets.append(Target("pyref", lambda p, sc, _d: [str(py), script, *knobs(p, sc)], {}))
    why = "" if targets else f"../shared/bench not set up (bash {shared}/setup.sh): project only"
    return targets, why


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """A server in a session of its own; CPU from the kernel's per-thread clock (ns)."""

    def __init__(self, target: Target, sc: Scenario, run_dir: Path) -> None:
        self.port = free_port()
        self.log = open(run_dir / f"{target.name}-{sc.name}.log", "w")  # noqa: SIM115
        env = {**os.environ, **target.env}
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            target.command(self.port, sc, run_dir),
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
            env=env,
            start_new_session=True,
            cwd=run_dir,
        )

    def wait_http(self, timeout: float = 30.0) -> float:
        """Milliseconds from spawn to the first HTTP 200 on /."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode} ({self.log.name})")
            url = f"http://{HOST}:{self.port}/"
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return (time.perf_counter() - self.t0) * 1000
            time.sleep(0.005)
        raise RuntimeError(f"no HTTP 200 within {timeout} s ({self.log.name})")

    def cpu_s(self) -> float:
        total = 0
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{self.proc.pid}/task"):
                with (
                    contextlib.suppress(OSError),
                    open(f"/proc/{self.proc.pid}/task/{task}/schedstat") as f,
                ):
                    total += int(f.read().split()[0])
        return total / 1e9

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE / 2**20

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)  # the session we created
                self.proc.wait(5)
        self.log.close()


def raise_open_files(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))


async def window(server: Server, seconds: float) -> dict[str, float]:
    cpu0, own0, t0 = server.cpu_s(), time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    dt = time.perf_counter() - t0
    return {
        "window_s": dt,
        "cpu_s": server.cpu_s() - cpu0,
        "cpu_pct": 100 * (server.cpu_s() - cpu0) / dt,
        "client_cpu_pct": 100 * (time.process_time() - own0) / dt,
    }


async def run_clients(server: Server, sc: Scenario) -> dict[str, float]:
    stats = Stats()
    await asyncio.sleep(sc.settle)
    rss0 = server.rss_mb()
    t = time.perf_counter()
    conns = await connect_all(HOST, server.port, sc.clients, stats)
    connect_s = time.perf_counter() - t
    try:
        await asyncio.sleep(sc.settle)  # warm up
        stats.measuring, before = True, stats.messages
        w = await window(server, sc.duration)
        stats.measuring, msgs = False, stats.messages - before
        rss = server.rss_mb()
    finally:
        for c in conns:
            c.close()
    expected = sc.clients * sc.sensors / sc.interval
    lat = [x * 1000 for x in stats.latencies]
    return {
        "connect_all_s": connect_s,
        "msgs_per_s": msgs / w["window_s"],
        "delivered_ratio": msgs / w["window_s"] / expected,
        "lat_p50_ms": percentile(lat, 0.50),
        "lat_p99_ms": percentile(lat, 0.99),
        "cpu_pct": w["cpu_pct"],
        "server_us_per_msg": 1e6 * w["cpu_s"] / max(msgs, 1),
        "rss_mb": rss,
        "rss_per_client_kb": (rss - rss0) * 1024 / sc.clients,
        "client_cpu_pct": w["client_cpu_pct"],
        "disconnects": stats.disconnects,
    }


def run(target: Target, sc: Scenario, run_dir: Path) -> dict[str, float]:
    """One scenario against one target: its figures."""
    if sc.starts:
        times = []
        for i in range(sc.starts + 1):  # the first start (cold bytecode) is not counted
            server = Server(target, sc, run_dir)
            try:
                ms = server.wait_http()
                rss = server.rss_mb()
            finally:
                server.stop()
            if i:
                times.append(ms)
        return {"startup_ms": statistics.median(times), "startup_rss_mb": rss}
    server = Server(target, sc, run_dir)
    try:
        figures = {"startup_ms": server.wait_http()}
        if sc.clients:
            figures |= asyncio.run(run_clients(server, sc))
        else:
            time.sleep(sc.settle)
            figures |= asyncio.run(window(server, sc.duration))
            figures["rss_mb"] = server.rss_mb()
        return figures
    finally:
        server.stop()


# Figures shown per scenario, and whether lower is better.
SHOWN = {
    "idle": {"cpu_pct": True, "rss_mb": True},
    "dashboard": {"lat_p50_ms": True, "lat_p99_ms": True, "cpu_pct": True, "rss_mb": True},
    "fanout": {
        "delivered_ratio": False,
        "server_us_per_msg": True,
        "lat_p50_ms": True,
        "lat_p99_ms": True,
        "cpu_pct": True,
        "client_cpu_pct": True,
    },
    "many": {
        "connect_all_s": True,
        "rss_per_client_kb": True,
        "lat_p99_ms": True,
        "delivered_ratio": False,
        "cpu_pct": True,
    },
    "startup": {"startup_ms": True, "startup_rss_mb": True},
}


def table(name: str, results: dict[str, dict[str, float]]) -> str:
    """One scenario: a row per figure, a column per target, then project/reference ratios."""
    targets = list(results)
    refs = [t for t in targets if t != "project"]
    head = ["figure", *targets, *(f"project/{r}" for r in refs)]
    rows = [head]
    for fig in SHOWN[name]:
        row = [fig, *(f"{results[t].get(fig, float('nan')):.3g}" for t in targets)]
        for r in refs:
            ref = results[r].get(fig)
            mine = results.get("project", {}).get(fig)
            row.append(f"{mine / ref:.2f}x" if mine is not None and ref else "-")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [
        "  ".join(
            c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    return "\n".join([f"== {name}", *lines])


def main(
    names: list[str], *, smoke: bool, targets: list[Target]
) -> dict[str, dict[str, dict[str, float]]]:
    raise_open_files(4096)
    scenarios = SMOKE if smoke else FULL
    out: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="pi-dashboard-bench-") as tmp:
        for name in names:
            out[name] = {}
            for target in targets:
                out[name][target.name] = run(target, scenarios[name], Path(tmp))
            print(table(name, out[name]), flush=True)
    return out
