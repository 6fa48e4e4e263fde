"""Hostile clients against a real daemon: `python -m pi_dashboard run --mock --port 0` on 127.0.0.1,
its port read from its startup line. Each test starts its own daemon, measures the daemon's RSS
before and after (printed, and summed up at the end of the run), and stops it by its PID."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVING_RE = re.compile(r"serving http://127\.0\.0\.1:(\d+)/")
START_TIMEOUT_S = 15.0
FIGURES: list[str] = []
"""One line per test: what was tried and the daemon's RSS before and after."""


@dataclass
class Daemon:
    config: Path
    tmp: Path
    port: int = 0
    proc: subprocess.Popen[str] | None = None
    log: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> Daemon:
        found = threading.Event()
        env = {**os.environ, "TMPDIR": str(self.tmp)}
        self.proc = proc = subprocess.Popen(
            [sys.executable, "-m", "pi_dashboard", "run", "--mock", "--config", str(self.config),
             "--host", "127.0.0.1", "--port", "0"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

        def drain() -> None:  # keep reading, or a chatty daemon blocks on a full pipe
            assert proc.stderr is not None
            for line in proc.stderr:
                self.log.append(line.rstrip("\n"))
                m = SERVING_RE.search(line)
                if m:
                    self.port = int(m.group(1))
                    found.set()

        threading.Thread(target=drain, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not found.wait(0.05) or self.health() is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail("daemon did not start:\n" + "\n".join(self.log[-20:]))
        return self

    def health(self) -> dict | None:
        try:
            with urllib.request.urlopen(f"{self.url}/api/health", timeout=2) as resp:
                return json.load(resp)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def rss_kb(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(status.split("VmRSS:")[1].split()[0])

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def log_bytes(self) -> int:
        return sum(len(line) + 1 for line in list(self.log))

    def stop(self) -> None:
        """By PID: SIGTERM, then SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@dataclass
class Measure:
    """RSS of the daemon around one attack, printed and kept for the run's summary."""

    daemon: Daemon
    name: str
    limit_mib: float = 10.0
    """The growth allowed: the attacks that broke the daemon grew it by 37 to 225 MiB."""
    before: int = 0

    def __enter__(self) -> Measure:
        self.before = self.daemon.rss_kb()
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            after = self.daemon.rss_kb()
            line = (
                f"{self.name}: RSS {self.before / 1024:.1f} -> {after / 1024:.1f} MiB "
                f"({(after - self.before) / 1024:+.1f})"
            )
            print(line)
            FIGURES.append(line)
            assert after - self.before < self.limit_mib * 1024, line


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Callable[[str], Daemon]]:
    """TOML text -> a running daemon; stopped after the test whatever happened."""
    started: list[Daemon] = []

    def start(text: str) -> Daemon:
        config = tmp_path / f"config{len(started)}.toml"
        config.write_text(text, encoding="utf-8")
        d = Daemon(config=config, tmp=tmp_path)
        started.append(d)
        return d.start()

    yield start
    for d in started:
        d.stop()
        assert "Traceback" not in "\n".join(d.log), "\n".join(d.log[-30:])


@pytest.fixture
def measure() -> Callable[..., Measure]:
    """`with measure(daemon, "what was tried"):` prints and records RSS before and after, and
    fails if it grew by `limit_mib` or more."""
    return Measure


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("abuse suite: daemon RSS before -> after")
        for line in FIGURES:
            terminalreporter.write_line(line)
