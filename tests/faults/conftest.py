"""Fixtures of the fault-injection suite (tests/faults/): `start` runs the real Poller and State
over a simulated world at accelerated intervals, `daemon` runs `pi-dashboard run --mock` as a
process. The healthy sensors' p99 read-time jitter of every scenario is printed at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from fault_harness import (
    EXITS,
    HEALTHY,
    INTERVAL_S,
    JITTER,
    NOTES,
    ROOT,
    SERVING_RE,
    TICK_S,
    Daemon,
    Run,
    accelerate,
    count_reads,
)

from pi_dashboard.polling import Poller
from pi_dashboard.sensors.registry import TYPES
from pi_dashboard.sim.world import SimWorld
from pi_dashboard.state import State


@pytest.fixture
async def start(world: SimWorld, make_config) -> AsyncIterator[Callable[..., Run]]:
    """TOML (the faulty sensors; HEALTHY is appended) -> a running Run. Teardown closes the world
    first, which releases any hung read, then stops the poller."""
    runs: list[tuple[Run, asyncio.Task[None]]] = []
    loop = asyncio.get_running_loop()

    async def ticker() -> None:
        while True:
            await asyncio.sleep(TICK_S)
            await loop.run_in_executor(None, world.tick, TICK_S)

    def make(toml: str, *, interval: float = INTERVAL_S, max_backoff: float = 0.1) -> Run:
        config = accelerate(make_config(toml + HEALTHY), interval)
        world.populate(config, TYPES)
        state, reads = State(), Counter[str]()
        sink = count_reads(reads)
        poller = Poller(config, TYPES, world.hardware(), state, max_backoff=max_backoff, sink=sink)
        run = Run(world, state, poller, good_reads=reads)
        state.subscribe(lambda r: run.events.append((time.monotonic(), r)))
        run.poller.start()
        runs.append((run, asyncio.create_task(ticker())))
        return run

    yield make
    for run, tick in runs:
        world.close()
        await asyncio.wait_for(run.poller.stop(), 5)
        tick.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tick


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if JITTER:
        terminalreporter.section("fault suite: healthy sensors' read-time jitter")
        for scenario, figures in JITTER.items():
            shown = ", ".join(
                f"{k} {v:.1f}" if k.endswith("ms") else f"{k} {v:.0f}" for k, v in figures.items()
            )
            terminalreporter.write_line(f"{scenario:<28} {shown}")
    for scenario, note in NOTES.items():
        terminalreporter.write_line(f"{scenario:<28} {note}")
    if EXITS:
        terminalreporter.section("fault suite: SIGTERM")
        for state, (rc, seconds) in EXITS.items():
            outcome = "still running" if rc is None else f"exit {rc}"
            terminalreporter.write_line(f"{state:<28} {outcome} after {seconds:.2f} s")


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Callable[[str], Daemon]]:
    started: list[Daemon] = []

    def start(toml: str) -> Daemon:
        config = tmp_path / f"config{len(started)}.toml"
        config.write_text(toml, encoding="utf-8")
        env = {**os.environ, "TMPDIR": str(tmp_path)}  # the simulated /sys stays in pytest's tmp
        env["PI_DASHBOARD_DATA_DIR"] = str(tmp_path / f"data{len(started)}")  # its own history
        proc = subprocess.Popen(
            [sys.executable, "-m", "pi_dashboard", "run", "--mock", "--config", str(config),
             "--host", "127.0.0.1", "--port", "0"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        d = Daemon(proc)
        started.append(d)
        serving = threading.Event()

        def drain() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                d.log.append(line.rstrip())
                if (m := SERVING_RE.search(line)) is not None:
                    d.port = int(m.group(1))
                    serving.set()

        threading.Thread(target=drain, daemon=True).start()
        d.wait_for(serving.is_set)
        return d

    yield start
    for d in started:  # by PID: whatever a test left running
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait(5)
