"""What the fault-injection suite shares: a `Run` (the real Poller and State over a simulated
world whose faults the tests switch on and off, at accelerated intervals), the jitter of healthy
sensors' read times against their drift-free schedule, and the daemon as a subprocess.
"""

from __future__ import annotations

import itertools
import json
import re
import signal
import statistics
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from cpu_wait import cpu_waits, gone
from waiting import LIMIT_S, until, wait_until

from pi_dashboard.config import Config
from pi_dashboard.model import Reading, Status, Value
from pi_dashboard.polling import Poller
from pi_dashboard.sim.world import SimWorld
from pi_dashboard.state import State

ROOT = Path(__file__).resolve().parents[2]
INTERVAL_S = 0.05
"""Accelerated poll interval (a real config's minimum is 1 s for these chips)."""
TICK_S = 0.02
"""The simulated world's tick: 1-Wire files are rewritten (and their faults drawn) this often."""
GAP_LIMIT = 10
"""Healthy sensors keep their schedule: never this many intervals without a read, and reads in at
least SLOTS_READ of their slots. A sensor held up by a faulty one misses the whole fault (40
intervals); a busy machine delays a read by a few. Jitter itself is measured and printed, not
asserted: timing bounds belong to benchmarks, and this machine may be shared."""
SLOTS_READ = 0.75

HEALTHY = """
[[sensors]]
id = "room"
type = "demo"
interval = 1

[[sensors]]
id = "cellar"
type = "sht4x"
bus = 2
interval = 1

[sensors.mock]
noise = 0.5    # each read changes a value, so each read is published (and timed)
"""
"""Sensors no fault touches: a read on the event loop (demo) and one in a bus thread of its own."""
HEALTHY_IDS = ("room", "cellar")

JITTER: dict[str, dict[str, float]] = {}
"""Scenario -> jitter figures of its healthy sensors, printed by pytest_terminal_summary."""
NOTES: dict[str, str] = {}
"""Scenario -> a measured fact worth printing with the figures."""
EXITS: dict[str, tuple[int | None, float]] = {}
"""Fault state -> the daemon's exit status after SIGTERM (None: still running) and seconds taken."""


def jitter(times: list[float], interval: float) -> tuple[list[float], float]:
    """How far each read started from the drift-free grid `phase + k * interval` (seconds, >= 0),
    and the longest gap between two reads. The grid's phase is the reads' median one, so a late
    first read does not shift it; a read that fell behind by more than an interval shows in the
    gap (polling then skips the missed slots rather than bursting)."""
    offsets = [(t - times[0] + interval / 2) % interval - interval / 2 for t in times]
    mid = statistics.median(offsets)
    late = [abs((o - mid + interval / 2) % interval - interval / 2) for o in offsets]
    return late, max(b - a for a, b in itertools.pairwise(times))


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) > 1 else 0.0


@dataclass
class Run:
    """One in-process daemon core: world, Poller, State; `events` is every `reading` emitted."""

    world: SimWorld
    state: State
    poller: Poller
    events: list[tuple[float, Reading]] = field(default_factory=list)
    good_reads: Counter[str] = field(default_factory=Counter)
    """Sensor id -> reads that delivered values, counted by `count_reads`."""
    waited: dict[float, float] = field(default_factory=dict)
    """`run_for`'s start -> `cpu_waits()` then."""

    def status(self, sid: str) -> Status:
        return self.state.sensors[sid].status

    def error(self, sid: str) -> str:
        return self.state.sensors[sid].error or ""

    def of(self, sid: str, since: float = 0.0) -> list[Reading]:
        return [r for t, r in self.events if r.sensor == sid and t >= since]

    async def run_for(self, intervals: int) -> float:
        """Let the daemon run under the current faults until the healthy demo sensor has read
        `intervals` more times; returns when that began (monotonic), for `check_schedule`."""
        since = time.monotonic()
        self.waited[since] = cpu_waits()
        await until(lambda: len(self.read_times("room", since)) >= intervals, limit=30.0)
        return since

    def read_times(self, sid: str, since: float = 0.0) -> list[float]:
        """Hardware-read start times (epoch s) of the sensor's good reads that changed a value."""
        return [r.ts for t, r in self.events if r.sensor == sid and t >= since and r.values]

    def check_schedule(self, scenario: str, since: float = 0.0) -> None:
        """Check that the healthy sensors kept their schedule since `since` (a `run_for` start),
        and keep their jitter figures for the summary.

        Time the process's threads spent waiting for a CPU meanwhile (CI runs the suite beside
        other work) is allowed on top: a read held up by a faulty sensor, or by a blocked event
        loop, is held up while runnable or asleep, never in the run queue, so it still fails."""
        figures: dict[str, float] = {}
        starved = cpu_waits() - self.waited[since]
        for sid in HEALTHY_IDS:
            times = self.read_times(sid, since)
            assert len(times) >= 10, f"{sid} published only {len(times)} readings"
            interval = self.state.sensors[sid].interval
            j, gap = jitter(times, interval)
            assert gap < GAP_LIMIT * interval + starved, (
                f"{sid} read nothing for {gap:.3f} s ({starved:.3f} s waiting for a CPU)"
            )
            slots = (times[-1] - times[0]) / interval + 1
            allowed = SLOTS_READ * slots - starved / interval
            assert len(times) >= allowed, (
                f"{sid}: {len(times)} reads in {slots:.0f} slots "
                f"({starved:.3f} s waiting for a CPU)"
            )
            figures[f"{sid} p50 ms"] = statistics.median(j) * 1000
            figures[f"{sid} p99 ms"] = p99(j) * 1000
            figures[f"{sid} max gap ms"] = gap * 1000
            figures[f"{sid} reads"] = len(times)
        figures["CPU wait ms"] = starved * 1000
        JITTER[scenario] = figures


def count_reads(counts: Counter[str]) -> Callable[[str, float, Mapping[str, Value] | None], None]:
    """A polling sample sink (it sees every read, changed or not) counting good reads per sensor."""

    def sink(sid: str, _ts: float, values: Mapping[str, Value] | None) -> None:
        if values is not None:
            counts[sid] += 1

    return sink


def accelerate(config: Config, interval: float = INTERVAL_S) -> Config:
    """Every sensor polled every `interval` s: past the per-type minimum a config file must keep,
    which exists for real chips' conversion times, not for simulated ones."""
    return replace(config, sensors=tuple(replace(s, interval=interval) for s in config.sensors))


# --- the daemon as a process ---------------------------------------------------------------------

SERVING_RE = re.compile(r"serving http://127\.0\.0\.1:(\d+)/")


@dataclass
class Daemon:
    """`pi-dashboard run --mock --config FILE` on a free port; stderr is collected as it comes."""

    proc: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)
    port: int = 0

    def get_json(self, path: str) -> object:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as resp:
            return json.load(resp)

    def sensor(self, sid: str) -> dict[str, object]:
        return self.get_json(f"/api/sensors/{sid}")  # type: ignore[return-value]

    def wait_for(self, predicate: Callable[[], bool], limit: float = LIMIT_S) -> None:
        def alive_and() -> bool:
            assert self.proc.poll() is None, "the daemon died:\n" + "\n".join(self.log[-20:])
            return predicate()

        wait_until(alive_and, limit, what=lambda: "\n".join(self.log[-20:]))

    def sigterm(self, limit: float) -> tuple[int | None, float]:
        """SIGTERM, then the exit status and how long it took, of the daemon's own time
        (tests/cpu_wait.py); None if it outlived `limit`."""
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            took = gone(self.proc, start, limit=limit)
        except AssertionError:
            return None, time.monotonic() - start
        return self.proc.returncode, took
