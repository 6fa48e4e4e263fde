"""The daemon under a (stand-in) service manager: a unix datagram socket as $NOTIFY_SOCKET.

What systemd would see: READY=1 only once the port answers, WATCHDOG=1 every half WATCHDOG_USEC
from the event loop (and none while the loop is blocked), STATUS= lines, STOPPING=1 on SIGTERM.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest
from waiting import wait_until

CONFIG = """
[[sensors]]
id = "a"
type = "demo"
interval = 1

[[sensors]]
id = "b"
type = "demo"
interval = 1
"""
WATCHDOG_USEC = 400_000  # a ping every 0.2 s
BLOCK_AFTER_S, BLOCK_FOR_S = 1.0, 1.2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def sensor_status(port: int, sensor: str) -> str | None:
    try:
        url = f"http://127.0.0.1:{port}/api/sensors/{sensor}"
        with urllib.request.urlopen(url, timeout=2) as r:
            return json.load(r)["status"]
    except OSError:
        return None


def receive(sock: socket.socket, deadline: float) -> tuple[float, list[str]] | None:
    sock.settimeout(max(deadline - time.monotonic(), 0.01))
    try:
        data = sock.recv(4096)
    except TimeoutError:
        return None
    return time.monotonic(), data.decode().split("\n")


@contextmanager
def daemon(
    tmp_path: Path, config_text: str, env: dict[str, str], stderr: int | IO[str]
) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """`pi-dashboard run --mock` on a free loopback port; killed if a test leaves it running."""
    config = tmp_path / "c.toml"
    config.write_text(config_text)
    port = free_port()
    args = ["run", "--mock", "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "pi_dashboard", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stderr=stderr,
        text=True,
    )
    try:
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_notify_ready_watchdog_status_stopping(tmp_path: Path, abstract: bool):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = f"pi-dashboard-test-{os.getpid()}-{time.monotonic_ns()}"
        sock.bind("\0" + name)
        address = "@" + name
    else:
        address = str(tmp_path / "notify")
        sock.bind(address)
    env = {
        **os.environ,
        "NOTIFY_SOCKET": address,
        "WATCHDOG_USEC": str(WATCHDOG_USEC),
        "PI_DASHBOARD_TEST_BLOCK_LOOP": f"{BLOCK_AFTER_S}:{BLOCK_FOR_S}",
    }
    messages: list[tuple[float, list[str]]] = []
    with sock, daemon(tmp_path, CONFIG, env, subprocess.PIPE) as (proc, port):
        # READY=1 comes only once the port answers: at that moment, the API must answer.
        first = receive(sock, time.monotonic() + 20)
        assert first is not None, "no READY=1"
        assert first[1][0] == "READY=1", first
        assert health_answers(port)
        messages.append(first)
        # Pings before, during and after the blocked stretch of the loop.
        deadline = first[0] + BLOCK_AFTER_S + BLOCK_FOR_S + 2.5
        while (m := receive(sock, deadline)) is not None:
            messages.append(m)
        proc.terminate()
        end = time.monotonic() + 10
        while (m := receive(sock, end)) is not None:
            messages.append(m)
            if "STOPPING=1" in m[1]:
                break
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err

    fields = [f for _, fs in messages for f in fs]
    statuses = [f for f in fields if f.startswith("STATUS=")]
    assert "STATUS=2 sensors, 0 failing, 0 browsers" in statuses, statuses
    assert "STOPPING=1" in fields
    assert fields.index("STOPPING=1") > fields.index("READY=1")

    pings = [t for t, fs in messages if "WATCHDOG=1" in fs]
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    half = WATCHDOG_USEC / 1e6 / 2
    # The loop is blocked for BLOCK_FOR_S: exactly one gap spans it, every other one is the
    # ping period (a loaded machine may stretch a few; the median shows the rate).
    long_gaps = [g for g in gaps if g > BLOCK_FOR_S * 0.9]
    assert len(long_gaps) == 1, gaps
    normal = sorted(g for g in gaps if g <= BLOCK_FOR_S * 0.9)
    assert len(normal) >= 8, gaps
    median = normal[len(normal) // 2]
    assert 0.8 * half <= median <= 1.5 * half, (median, gaps)
    # ... and the pings resumed after the block.
    assert gaps.index(long_gaps[0]) < len(gaps) - 3, gaps


def test_journal_lines_have_priorities_and_no_timestamps(tmp_path: Path):
    """Under systemd, stderr is the journal stream named by $JOURNAL_STREAM (dev:inode):
    lines start with a syslog priority (`<4>` for a warning) and carry no timestamp."""
    read_end, write_end = os.pipe()
    st = os.fstat(write_end)
    env = {**os.environ, "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
    env.pop("NOTIFY_SOCKET", None)
    failing = CONFIG + '\n[[sensors]]\nid = "gone"\ntype = "command"\ncommand = ["false"]\n'
    with daemon(tmp_path, failing, env, write_end) as (proc, port):
        os.close(write_end)
        wait_until(lambda: sensor_status(port, "gone") == "error", limit=20)
        proc.terminate()
        proc.wait(timeout=10)
        with os.fdopen(read_end) as f:
            lines = f.read().splitlines()
    assert proc.returncode == 0, lines
    assert lines, "no log lines"
    for line in lines:
        assert line[:3] in ("<6>", "<4>", "<3>", "<7>"), line
        assert not line[3:7].isdigit(), f"timestamp in {line!r}"
    assert any(line.startswith("<6>INFO pi_dashboard: pi-dashboard") for line in lines), lines
    assert any(line.startswith("<4>WARNING") and "sensor gone failed" in line for line in lines)
