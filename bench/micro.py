"""Micro-benchmarks of the hot functions: what one reading costs on its way from a chip's bytes to
the bytes written to a browser's socket. Figures are per call, for finding regressions on one
machine; the scenarios (bench/scenarios.py) say what they add up to."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import SimpleNamespace

from pi_dashboard.drivers.bme280 import (
    Calibration,
    compensate_humidity,
    compensate_pressure,
    compensate_temperature,
)
from pi_dashboard.filters import Pipeline
from pi_dashboard.model import ChannelMeta, Reading
from pi_dashboard.state import State
from pi_dashboard.web.credentials import hash_password, verify_password
from pi_dashboard.web.live import create_sio, encode_event
from pi_dashboard.web.wire import Outbox, event_frame, frame_of

# BMP280 datasheet 3.12's worked example (the BME280 shares the T and P formulas).
CAL = Calibration(
    dig_T1=27504, dig_T2=26435, dig_T3=-1000, dig_P1=36477, dig_P2=-10685, dig_P3=3024,
    dig_P4=2855, dig_P5=140, dig_P6=-7, dig_P7=15500, dig_P8=-14600, dig_P9=6000,
    dig_H1=75, dig_H2=362, dig_H3=0, dig_H4=313, dig_H5=50, dig_H6=30,
)  # fmt: skip
READING = {"sensor": "living-room", "ts": 1795690000.123456,
           "values": {"temperature": 21.37, "humidity": 45.12, "pressure": 1013.25},
           "status": "ok"}  # fmt: skip


class CountingTransport:
    """Stands in for a client socket: the syscall is not what these figures are about."""

    def __init__(self) -> None:
        self.written = 0

    def write(self, data: bytes) -> None:
        self.written += 1

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return False


def fanout(clients: int, *, direct: bool) -> Callable[[], None]:
    """Fanout.reading to `clients` websocket members that keep up (direct) or whose writer is
    busy (queued: the library's path, before its per-client writer tasks run)."""
    sio = create_sio()
    for i in range(clients):
        q = Outbox()
        sock = SimpleNamespace(upgraded=True, upgrading=False, closing=False, closed=False, queue=q)
        q.attach(sock, CountingTransport(), compressed=False)  # type: ignore[arg-type]
        q.waiting = 1 if direct else 0
        sio.fanout.members[f"c{i}"] = sock  # type: ignore[assignment]

    def call() -> None:
        sio.fanout.reading(READING)
        if not direct:
            for sock in sio.fanout.members.values():
                sock.queue._queue.clear()  # type: ignore[attr-defined]

    return call


def cases() -> dict[str, Callable[[], object]]:
    pipeline = Pipeline(unit="°C", precision=2, binary=False, deadband=0.0)
    raw = iter(range(10**9))
    state = State()
    state.add_sensor(
        id="s", type="demo", name="s", interval=1.0,
        channels=[ChannelMeta(id=c, name=c, unit=None) for c in ("t", "h", "p")],
    )  # fmt: skip
    sio = create_sio()

    def bme280() -> None:
        _, fine = compensate_temperature(CAL, 519888)
        compensate_pressure(CAL, 415148, fine)
        compensate_humidity(CAL, 30000, fine)

    def publish() -> None:
        state.publish_values("s", time.time(), {"t": 21.5, "h": 45.0, "p": 1013.0})

    return {
        "bme280 compensation (T, P, H)": bme280,
        "pipeline.process (one channel)": lambda: pipeline.process(20.0 + next(raw) % 7 / 10, 0.0),
        "state.publish_values (3 channels)": publish,
        "Reading.to_json": Reading(sensor="s", ts=1.0, values={"t": 1.0}).to_json,
        "encode reading + websocket frame": lambda: event_frame("reading", READING),
        "the same through the library's packets": lambda: frame_of(
            encode_event(sio, "reading", READING)
        ),
        "fanout, 100 clients, fast path": fanout(100, direct=True),
        "fanout, 100 clients, queued": fanout(100, direct=False),
        **auth_cases(),
    }


def auth_cases() -> dict[str, Callable[[], object]]:
    """What `[server.auth]` costs: a login's scrypt, and the check every request with a token
    pays (a stat of auth.json, a SHA-256, a dict lookup)."""
    import tempfile
    from pathlib import Path

    from pi_dashboard.config import AuthConfig
    from pi_dashboard.web.auth import Auth
    from pi_dashboard.web.credentials import CredentialFile

    stored = hash_password("correct horse battery")
    f = CredentialFile(Path(tempfile.mkdtemp(prefix="pi-dashboard-bench-")))
    token = f.create_token("bench")
    auth = Auth(AuthConfig(enabled=True), f)
    bearer = f"Bearer {token}"
    return {
        "login: scrypt verify (N=2^14, r=8, p=1)": lambda: verify_password("x" * 12, stored),
        "request check: token (stat + sha256)": lambda: auth.identify("192.0.2.1", bearer, None),
    }


def measure(fn: Callable[[], object], seconds: float) -> float:
    """Nanoseconds per call: the best of three runs of about `seconds` / 3 each."""
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t
        if dt >= seconds / 30:
            break
        n *= 4
    runs = max(1, int(n * seconds / 3 / dt))
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(runs):
            fn()
        best = min(best, (time.perf_counter() - t) / runs)
    return best * 1e9


def main(*, smoke: bool) -> dict[str, float]:
    out = {}
    print("== micro (ns per call, best of 3)")
    for name, fn in cases().items():
        out[name] = ns = measure(fn, 0.03 if smoke else 0.6)
        print(f"{name:40s} {ns:12,.0f}", flush=True)
    return out
