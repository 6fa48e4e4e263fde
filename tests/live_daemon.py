"""`pi-dashboard run --mock` as a user starts it: a subprocess on a port the OS picks (`--port 0`;
the daemon logs the one it got), for the tests that need the real process (browser, abuse).

Stopped by its PID, never by name. Shared by tests/browser and tests/abuse through their conftest.
"""

from __future__ import annotations

import json
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
SERVING_RE = re.compile(r"serving (https?)://127\.0\.0\.1:(\d+)/")
START_TIMEOUT_S = 15.0


@dataclass
class Daemon:
    """`pi-dashboard run --mock` in a subprocess; its log lines are collected as they come."""

    config: Path | None
    tmp: Path
    port: int = 0
    mock: bool = True
    data: Path | None = None
    """The data directory; by default one beside the config (or in `tmp`)."""
    extra: tuple[str, ...] = ()
    """More `run` arguments (`--replay FILE`, ...)."""
    proc: subprocess.Popen[str] | None = None
    log: list[str] = field(default_factory=list)
    scheme: str = "http"
    ca_file: Path | None = None
    """With `[server.tls]`: the certificate to trust (the test's self-signed one)."""

    @property
    def data_dir(self) -> Path:
        """Its own history; a restart (`start()` again) finds what it kept."""
        if self.data is not None:
            return self.data
        if self.config is None:
            return self.tmp / "data"
        return self.config.with_name(f"{self.config.stem}-data")

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def context(self) -> ssl.SSLContext | None:
        return ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None

    def start(self) -> Daemon:
        found = threading.Event()
        env = {**os.environ, "TMPDIR": str(self.tmp)}  # the simulated /sys, if no /dev/shm
        args = ["--mock"] if self.mock else []
        if self.config is not None:
            args += ["--config", str(self.config)]
        self.proc = proc = subprocess.Popen(
            [sys.executable, "-m", "pi_dashboard", "run", *args, *self.extra,
             "--host", "127.0.0.1", "--port", str(self.port), "--data-dir", str(self.data_dir)],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

        def drain() -> None:  # keep reading, or a chatty daemon blocks on a full pipe
            assert proc.stderr is not None
            for line in proc.stderr:
                self.log.append(line.rstrip())
                m = SERVING_RE.search(line)
                if m:
                    self.scheme, self.port = m.group(1), int(m.group(2))
                    found.set()

        threading.Thread(target=drain, daemon=True).start()

        def serving() -> bool:
            if proc.poll() is not None:
                pytest.fail("daemon exited:\n" + "\n".join(self.log[-20:]))
            return found.is_set()

        def answering() -> bool:
            try:
                url = f"{self.url}/api/health"
                with urllib.request.urlopen(url, timeout=2, context=self.context()) as resp:
                    return resp.status == 200
            except urllib.error.HTTPError as e:
                return e.code == 401  # [server.auth] on: answering, and refusing strangers
            except (urllib.error.URLError, ConnectionError):
                return False

        try:
            wait_until(serving, START_TIMEOUT_S, what=lambda: "\n".join(self.log[-20:]))
            wait_until(answering, START_TIMEOUT_S, what=lambda: "\n".join(self.log[-20:]))
        except BaseException:
            self.kill()
            raise
        return self

    def get_json(self, path: str) -> object:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=5, context=self.context()) as resp:
            return json.load(resp)

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, sig: int | None = None) -> int:
        """Send `sig` (SIGTERM) by PID and wait for the exit: its code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM if sig is None else sig)
        return self.proc.wait(10)

    def kill(self) -> None:
        """By PID: SIGTERM, then SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def health(self) -> dict:
        health = self.get_json("/api/health")
        assert isinstance(health, dict)
        return health

    def rss_kb(self) -> int:
        assert self.proc is not None
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(status.split("VmRSS:")[1].split()[0])

    def fds(self) -> int:
        assert self.proc is not None
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def log_bytes(self) -> int:
        return sum(len(line) + 1 for line in list(self.log))


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[Callable[[str], Daemon]]:
    """TOML text -> a running daemon (mock mode), stopped after the test."""
    started: list[Daemon] = []

    def start(toml: str) -> Daemon:
        config = tmp_path / f"config{len(started)}.toml"
        config.write_text(toml, encoding="utf-8")
        d = Daemon(config=config, tmp=tmp_path)
        started.append(d)
        return d.start()

    yield start
    for d in started:
        d.kill()
