"""The CLI as a user runs it: a subprocess, its exit code and the one line it prints. Every config
error is tested in process (tests/unit/test_config.py); a few here check what the user sees."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from waiting import output_until, wait_until

from pi_dashboard.cli import COMMANDS, build_parser

GOOD = '[[sensors]]\nid = "a"\ntype = "demo"\n'

# A few of tests/unit/test_config.py's cases, for the exit code and the one line a user sees.
BAD = [
    (
        "wrong type",
        '[[sensors]]\nid = "a"\ntype = "demo"\ninterval = "ten"\n',
        'sensors[0].interval: must be a number, got "ten"',
    ),
    ("missing file", None, "no such file"),
    (
        "unknown channel",
        '[[sensors]]\nid = "a"\ntype = "demo"\n[sensors.channels.temprature]\noffset = 1\n',
        "sensors[0].channels.temprature: unknown channel",
    ),
]


def cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pi_dashboard", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(("name", "text", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_config_exits_2_with_one_line(tmp_path: Path, name, text, expected):
    path = tmp_path / "my.toml"
    if text is not None:
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    for args in (["check-config", str(path)], ["run", "--config", str(path), "--port", "0"]):
        r = cli(*args)
        assert r.returncode == 2, (args, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, r.stderr
        assert "Traceback" not in r.stderr, r.stderr
        assert lines[0].startswith(f"config error: {path}: "), lines[0]
        assert expected in lines[0], lines[0]


def test_good_config_checks(tmp_path: Path):
    path = tmp_path / "ok.toml"
    path.write_text(GOOD)
    r = cli("check-config", str(path))
    assert r.returncode == 0, r.stderr
    assert "ok (1 sensors)" in r.stdout


def test_port_in_use_is_one_line_exit_1(tmp_path: Path):
    path = tmp_path / "ok.toml"
    path.write_text(GOOD)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = cli("run", "--mock", "--config", str(path), "--host", "127.0.0.1", "--port", str(port))
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in r.stderr.strip().splitlines()[-1]


def test_run_serves_and_stops_on_sigterm(tmp_path: Path):
    """`run` prints one line with the URL, serves, and exits 0 on SIGTERM (what systemd sends)."""
    import json
    import urllib.request

    path = tmp_path / "ok.toml"
    path.write_text(GOOD)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pi_dashboard",
            "run",
            "--mock",
            "--config",
            str(path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )

    def health() -> dict | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1) as r:
                return json.load(r)
        except OSError:
            return None

    try:
        assert wait_until(health, limit=15)["mock"] is True
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert (
        f"serving http://127.0.0.1:{port}/ (this machine only; --host 0.0.0.0 shares it on the "
        "LAN) (mock mode, 1 sensors)" in err
    )
    assert "Traceback" not in err


def test_demo_binds_loopback_and_says_how_to_share_it():
    """Without --config the demo runs on 127.0.0.1 (a user's config keeps its own host)."""
    line = output_until([sys.executable, "-m", "pi_dashboard", "run", "--port", "0"], "serving", 20)
    assert "serving http://127.0.0.1:" in line
    assert "(this machine only; --host 0.0.0.0 shares it on the LAN)" in line
    assert "built-in demo config" in line


def command_names(parser: argparse.ArgumentParser) -> list[str]:
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


def test_commands_name_every_command_and_its_module():
    """`COMMANDS` is what a command line is routed by: every module's parsers are in it, in
    order, and each command's own module builds its parser."""
    assert command_names(build_parser()) == list(COMMANDS)
    for command in COMMANDS:
        assert command in command_names(build_parser(command))


def test_a_command_loads_only_its_own_module():
    code = (
        "import sys\n"
        "from pi_dashboard.cli import main\n"
        "main(['check-config', sys.argv[1]])\n"
        "print(sorted(m for m in sys.modules if m.startswith('pi_dashboard.cli.')))\n"
    )
    config = Path(__file__).parent.parent.parent / "pi_dashboard" / "demo.toml"
    r = subprocess.run(
        [sys.executable, "-c", code, str(config)], capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[-2] == "['pi_dashboard.cli.checks', 'pi_dashboard.cli.codes']"
