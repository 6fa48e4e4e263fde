"""What `run` imports, read from `python -X importtime` (docs/performance.md, "Startup").

The web stack (aiohttp, python-socketio) is most of a start's CPU: a bad config or a busy port is
reported before it is imported, and a daemon imports nothing its config does not use. A test
fails here when a module-level import brings one of these back."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from waiting import output_until

WEB_STACK = ("aiohttp", "socketio", "engineio", "pi_dashboard.app", "pi_dashboard.web")

BEFORE_THE_PORT = (*WEB_STACK, "asyncio")
"""Nothing a failed start needs: a bad config and a busy port exit before these are imported."""

UNUSED = (
    # integrations, none configured: each library only with its section
    "aiomqtt",
    "prometheus_client",
    "zeroconf",
    "pi_dashboard.integrations",
    "pi_dashboard.alerts",
    # hardware: demo sensors have no driver, and mock mode no gpiozero for them
    "gpiozero",
    "pi_dashboard.drivers",
    "smbus2",  # with ctypes: only for a chip on I2C
    "ctypes",
    # other commands and options
    "pi_dashboard.cli.auth",  # each command's module only for it (cli.COMMANDS)
    "pi_dashboard.cli.checks",
    "pi_dashboard.cli.service",
    "pi_dashboard.history.export",  # with csv: only for /api/history.csv, or a relative time
    "csv",
    "encodings.idna",  # with stringprep: a str host name to getaddrinfo (cli/run.py listen)
    "pi_dashboard.scan",
    "pi_dashboard.doctor",
    "pi_dashboard.install",
    "pi_dashboard.history.replay",
    "pi_dashboard.web.tls",
    "statistics",  # only for a median filter
    "importlib.resources",  # only for the built-in demo config
)

CONFIG = """\
[server]
host = "127.0.0.1"

[alerts]
enabled = false

[[sensors]]
id = "a"
type = "demo"

[[sensors]]
id = "b"
type = "demo"
"""


def imported(stderr: str) -> list[str]:
    """Every module `-X importtime` reported, in import order."""
    names = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and "[us]" not in line:
            names.append(line.rsplit("|", 1)[1].strip())
    return names


def loaded(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [m for m in modules if m in prefixes or m.startswith(tuple(p + "." for p in prefixes))]


def run_with_importtime(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pi_dashboard", "run", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_a_bad_config_exits_before_the_web_stack_is_imported(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[server]\nport = "http"\n')
    done = run_with_importtime("--config", str(bad))
    assert done.returncode == 2, done.stderr[-2000:]
    assert "config error: " in done.stderr
    modules = imported(done.stderr)
    assert "pi_dashboard.config" in modules  # the parse is seen at all
    assert loaded(modules, BEFORE_THE_PORT) == []


def test_a_busy_port_exits_before_the_web_stack_is_imported(tmp_path: Path):
    config = tmp_path / "c.toml"
    config.write_text(CONFIG)
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        done = run_with_importtime("--mock", "--config", str(config), "--port", str(port))
    assert done.returncode == 1, done.stderr[-2000:]
    assert "already in use" in done.stderr
    assert loaded(imported(done.stderr), BEFORE_THE_PORT) == []


def test_run_imports_only_what_its_config_uses(tmp_path: Path):
    """Modules imported until the daemon serves; the stop afterwards is not counted."""
    config = tmp_path / "c.toml"
    config.write_text(CONFIG)
    argv = ["run", "--mock", "--config", str(config), "--port", "0"]
    err = output_until(
        [sys.executable, "-X", "importtime", "-m", "pi_dashboard", *argv], "serving http://", 30
    )
    modules = imported(err)
    assert "aiohttp.web" in modules  # a real start
    assert "pi_dashboard.sim.world" in modules
    assert loaded(modules, UNUSED) == []
