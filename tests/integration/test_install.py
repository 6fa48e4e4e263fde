"""install-service / uninstall-service: the plan for a fresh Pi and for a Pi that has a config,
under a temporary root; the CLI's --dry-run; the unit as installed, through systemd-analyze."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pi_dashboard import install
from pi_dashboard.app import scan
from pi_dashboard.config import Config
from pi_dashboard.errors import ConfigError
from pi_dashboard.install import Remove, Run, System, Write
from pi_dashboard.scan import to_toml

Cli = Callable[..., subprocess.CompletedProcess[str]]
"""The `cli` fixture (tests/integration/conftest.py)."""

REQUIRE_SYSTEMD = os.environ.get("PI_DASHBOARD_REQUIRE_SYSTEMD") == "1"
MAX_EXPOSURE = 2.0
PROGRAM = "/opt/pi-dashboard/bin/pi-dashboard"
WIRED = """
[[sensors]]
id = "air"
type = "bme280"
address = 0x76

[[sensors]]
id = "tank"
type = "ds18b20"
probes = ["28-0316a2795e1f"]
"""
USERS_CONFIG = """
[server]
port = 9001

[[sensors]]
id = "mine"
type = "pi_health"
"""


def pi(
    root: Path,
    *,
    scan_toml: Callable[[], str] = str,
    users: frozenset[str] = frozenset(),
    groups: frozenset[str] = frozenset({"i2c", "gpio"}),
    program: str = PROGRAM,
) -> System:
    return System(
        root=root,
        program=program,
        user_exists=users.__contains__,
        group_exists=groups.__contains__,
        scan_toml=scan_toml,
        hostname="greenhouse",
        addresses=("192.168.1.23",),
    )


def dry_run(plan: install.Plan) -> str:
    return "\n".join([*map(install.describe, plan.steps), *plan.notes])


def test_fresh_pi_gets_user_config_from_scan_unit_and_a_started_service(
    tmp_path: Path, make_config: Callable[[str], Config]
):
    wired = make_config(WIRED)
    system = pi(tmp_path, scan_toml=lambda: to_toml(scan(mock=True, config=wired)))
    plan, config = install.plan_install(system, None)
    text = dry_run(plan)

    assert plan.steps[0] == Run(
        (
            *("useradd", "--system", "--user-group", "--no-create-home"),
            *("--home-dir", "/var/lib/pi-dashboard", "--shell", "/usr/sbin/nologin"),
            *("--comment", "pi-dashboard sensor dashboard", "pi-dashboard"),
        )
    )
    writes = {s.path: s for s in plan.steps if isinstance(s, Write)}
    written = writes[tmp_path / "etc/pi-dashboard/config.toml"]
    assert (written.mode, written.group) == (0o640, "pi-dashboard")
    # The config comes from scan: what is wired, plus the Pi itself, served to the LAN.
    assert {(s.id, s.type) for s in config.sensors} == {
        ("pi", "pi_health"),
        ("bme280", "bme280"),
        ("ds18b20", "ds18b20"),
    }
    assert config.server.host == "0.0.0.0"
    assert make_config(written.text).sensors == config.sensors
    unit = writes[tmp_path / "etc/systemd/system/pi-dashboard.service"].text
    assert f"ExecStart={PROGRAM} run --config /etc/pi-dashboard/config.toml\n" in unit
    assert "ProtectHome=yes\n" in unit
    assert "@" not in unit.replace("@system-service", "").replace("@privileged", "").replace(
        "@resources", ""
    ), "a placeholder was left in the unit"
    assert plan.steps[-3:] == [
        Run(("systemctl", "daemon-reload")),
        Run(("systemctl", "enable", "pi-dashboard")),
        Run(("systemctl", "restart", "pi-dashboard"), if_failed=plan.steps[-1].if_failed),
    ]
    assert "http://greenhouse.local:8080/ or http://192.168.1.23:8080/" in text
    assert not (tmp_path / "etc").exists(), "planning must not touch the machine"


def test_pi_with_a_config_keeps_it_and_the_user(tmp_path: Path):
    config = tmp_path / "etc/pi-dashboard/config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(USERS_CONFIG)
    system = pi(tmp_path, scan_toml=_no_scan, users=frozenset({"pi-dashboard"}))
    plan, loaded = install.plan_install(system, None)

    assert [s.path for s in plan.steps if isinstance(s, Write)] == [
        tmp_path / "etc/systemd/system/pi-dashboard.service"
    ]
    assert not any(isinstance(s, Run) and s.argv[0] in ("useradd", "groupadd") for s in plan.steps)
    assert [s.id for s in loaded.sensors] == ["mine"]
    text = dry_run(plan)
    assert f"kept your config {config} (1 sensors)" in text
    assert "http://greenhouse.local:9001/" in text
    assert config.read_text() == USERS_CONFIG


def _no_scan() -> str:
    raise AssertionError("a Pi with a config must not be scanned")


def test_missing_device_groups_are_created(tmp_path: Path):
    plan, _ = install.plan_install(pi(tmp_path, groups=frozenset()), None)
    assert plan.steps[:2] == [
        Run(("groupadd", "--system", "i2c")),
        Run(("groupadd", "--system", "gpio")),
    ]


def test_an_invalid_existing_config_stops_before_anything(tmp_path: Path):
    config = tmp_path / "etc/pi-dashboard/config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[[sensors]]\nid = "a"\ntype = "sht3x"\naddress = 0x99\n')
    with pytest.raises(ConfigError, match=r"sensors\[0\]\.address"):
        install.plan_install(pi(tmp_path), None)


def test_given_config_is_installed_but_never_overwrites_a_different_one(tmp_path: Path):
    mine = tmp_path / "my.toml"
    mine.write_text(USERS_CONFIG)
    plan, _ = install.plan_install(pi(tmp_path / "fresh"), mine)
    (write,) = [s for s in plan.steps if isinstance(s, Write) and s.path.name == "config.toml"]
    assert write.text == USERS_CONFIG

    existing = tmp_path / "used/etc/pi-dashboard/config.toml"
    existing.parent.mkdir(parents=True)
    existing.write_text(USERS_CONFIG)
    plan, _ = install.plan_install(pi(tmp_path / "used"), mine)  # the same text: fine
    assert not any(isinstance(s, Write) and s.path == existing for s in plan.steps)
    existing.write_text(USERS_CONFIG.replace("9001", "9002"))
    with pytest.raises(install.InstallError, match="never overwritten"):
        install.plan_install(pi(tmp_path / "used"), mine)
    assert "9002" in existing.read_text()


def test_program_in_a_home_directory(tmp_path: Path):
    """ProtectHome= would hide it: read-only then; a private (0700) home stops the install."""
    unit = install.render_unit("/home/pi/venv/bin/pi-dashboard")
    assert "ProtectHome=read-only\n" in unit
    private = tmp_path / "home"
    (private / "venv/bin").mkdir(parents=True)
    private.chmod(0o700)
    with pytest.raises(install.InstallError, match="cannot enter"):
        install.plan_install(pi(tmp_path, program=str(private / "venv/bin/pi-dashboard")), None)


def test_uninstall_keeps_config_and_history_unless_purged(tmp_path: Path):
    for rel in (install.UNIT, install.CONFIG, install.STATE + "/history.db"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    system = pi(tmp_path, users=frozenset({"pi-dashboard"}))
    plan = install.plan_uninstall(system, purge=False)
    assert plan.steps == [
        Run(("systemctl", "disable", "--now", "pi-dashboard")),
        Remove(tmp_path / install.UNIT),
        Run(("systemctl", "daemon-reload")),
    ]
    assert "kept /etc/pi-dashboard/ (your config)" in plan.notes[0]
    purge = install.plan_uninstall(system, purge=True)
    assert purge.steps[3:] == [
        Remove(tmp_path / "etc/pi-dashboard"),
        Remove(tmp_path / "var/lib/pi-dashboard"),
        Run(("userdel", "pi-dashboard")),
    ]


def test_apply_writes_atomically_with_mode_and_names_a_failed_command(tmp_path: Path):
    target = tmp_path / "etc/pi-dashboard/config.toml"
    install.apply(Write(target, "x = 1\n", 0o640))
    assert target.read_text() == "x = 1\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in target.parent.iterdir()] == ["config.toml"]
    install.apply(Remove(target.parent))
    assert not target.parent.exists()
    with pytest.raises(install.InstallError, match=r"`false` failed \(exit 1\); look there"):
        install.apply(Run(("false",), if_failed="look there"))


def installed_unit(output: str) -> str:
    m = re.search(
        r"^--- write /etc/systemd/system/pi-dashboard\.service [^\n]*\n(.*?)\n---$",
        output,
        re.M | re.S,
    )
    assert m, output
    return m.group(1) + "\n"


def test_cli_dry_run_prints_every_file_and_command_and_changes_nothing(cli: Cli):
    before = Path("/etc/systemd/system/pi-dashboard.service").exists()
    r = cli("install-service", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("# --dry-run: nothing is changed")
    unit = installed_unit(r.stdout)
    program = Path(sys.executable).parent / "pi-dashboard"
    assert f"ExecStart={program} run --config /etc/pi-dashboard/config.toml" in unit
    assert "$ systemctl restart pi-dashboard" in r.stdout
    assert Path("/etc/systemd/system/pi-dashboard.service").exists() == before
    r = cli("uninstall-service", "--dry-run", "--purge")
    assert r.returncode == 0, r.stderr


def test_cli_without_root_is_one_line_exit_1(cli: Cli):
    if os.geteuid() != 0:
        r = cli("install-service")
    else:  # what a user without sudo sees: drop to nobody once the modules are loaded
        code = (
            "import os, sys, pi_dashboard.cli as c, pi_dashboard.install\n"
            "os.setegid(65534); os.seteuid(65534)\n"
            "sys.exit(c.main(['install-service']))"
        )
        r = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
        )
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "run it as root (sudo " in lines[0]
    assert "--dry-run" in lines[0]


def _systemd_analyze() -> str:
    exe = shutil.which("systemd-analyze")
    if exe is None:
        if REQUIRE_SYSTEMD:
            pytest.fail("systemd-analyze is missing (apt install systemd)")
        pytest.skip("no systemd-analyze (apt install systemd); CI requires it")
    return exe


def exposure(analyze: str, unit: Path) -> float:
    r = subprocess.run(
        [analyze, "security", "--offline=yes", unit.name],
        cwd=unit.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout)
    assert m, r.stdout + r.stderr
    return float(m.group(1))


def test_installed_unit_verifies_and_is_hardened(tmp_path: Path, cli: Cli):
    """The unit exactly as `install-service --dry-run` would write it: `systemd-analyze verify`
    is clean (its ExecStart is this environment's real pi-dashboard), exposure <= 2.0."""
    analyze = _systemd_analyze()
    r = cli("install-service", "--dry-run")
    assert r.returncode == 0, r.stderr
    unit = tmp_path / "pi-dashboard.service"
    unit.write_text(installed_unit(r.stdout))
    verify = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert str(unit) not in verify.stderr, verify.stderr
    score = exposure(analyze, unit)
    print(f"systemd-analyze security exposure: {score}")
    assert score <= MAX_EXPOSURE
    # A program under /home needs ProtectHome=read-only; that costs a little, still within.
    (tmp_path / "home").mkdir()
    home_unit = tmp_path / "home" / "pi-dashboard.service"
    home_unit.write_text(install.render_unit("/home/pi/venv/bin/pi-dashboard"))
    assert exposure(analyze, home_unit) <= MAX_EXPOSURE
