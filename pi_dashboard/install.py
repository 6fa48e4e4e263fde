"""`pi-dashboard install-service` and `uninstall-service`: the systemd service in one command each.

Both first make a plan (files to write, commands to run) from what the machine has, then either
print it (`--dry-run`) or carry it out step by step, so a dry run shows exactly what a real one
does. The machine is a parameter (`System`): tests plan for a fresh Pi and for a Pi that already
has a config under a temporary root, as hw/ readers take a root directory.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pi_dashboard import data_dir
from pi_dashboard.config import Config, load_config, parse_config
from pi_dashboard.errors import PiDashboardError
from pi_dashboard.history.paths import SERVICE_DIR
from pi_dashboard.sensors.base import Types
from pi_dashboard.sensors.registry import TYPES

SERVICE = "pi-dashboard"
USER = "pi-dashboard"
"""The service's own system user; the unit adds the device groups (SupplementaryGroups=)."""
DEVICE_GROUPS = ("i2c", "gpio")
"""Owners of /dev/i2c-* and /dev/gpiochip* on Raspberry Pi OS; created if missing elsewhere."""
UNIT = "etc/systemd/system/pi-dashboard.service"
CONFIG = "etc/pi-dashboard/config.toml"
STATE = str(SERVICE_DIR.relative_to("/"))
PRIVATE_HOMES = ("/home", "/root", "/run/user")
"""What the unit's ProtectHome= hides; a program installed there needs ProtectHome=read-only."""


class InstallError(PiDashboardError):
    """Something install-service must not do (overwrite a config, run without root)."""


@dataclass(frozen=True, slots=True)
class Write:
    path: Path
    text: str
    mode: int
    group: str = "root"


@dataclass(frozen=True, slots=True)
class Run:
    argv: tuple[str, ...]
    if_failed: str = ""
    """What to tell the user when the command fails, besides its exit status."""


@dataclass(frozen=True, slots=True)
class Remove:
    path: Path


Step = Write | Run | Remove


@dataclass(slots=True)
class Plan:
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Lines for the user: what was kept, what to do next."""


@dataclass(frozen=True, slots=True, kw_only=True)
class System:
    """The machine being installed on; `this()` is the real one."""

    root: Path = Path("/")
    program: str
    """How systemd starts pi-dashboard: this interpreter environment's `pi-dashboard`."""
    user_exists: Callable[[str], bool]
    group_exists: Callable[[str], bool]
    scan_toml: Callable[[], str]
    """What `pi-dashboard scan --toml` prints on this machine."""
    hostname: str
    addresses: tuple[str, ...] = ()

    def path(self, rel: str) -> Path:
        return self.root / rel

    @classmethod
    def this(cls, scan_toml: Callable[[], str]) -> System:
        import grp
        import pwd

        def exists(lookup: Callable[[str], object]) -> Callable[[str], bool]:
            def check(name: str) -> bool:
                try:
                    lookup(name)
                except KeyError:
                    return False
                return True

            return check

        return cls(
            program=this_program(),
            user_exists=exists(pwd.getpwnam),
            group_exists=exists(grp.getgrnam),
            scan_toml=scan_toml,
            hostname=socket.gethostname(),
            addresses=lan_addresses(),
        )


def this_program() -> str:
    """The `pi-dashboard` script beside this interpreter (a venv's bin/); `-m` without one."""
    script = Path(sys.executable).parent / "pi-dashboard"
    return str(script) if script.is_file() else f"{sys.executable} -m pi_dashboard"


def lan_addresses() -> tuple[str, ...]:
    """The address other machines reach this one at: the source of the default route (a UDP
    "connect" sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere real
            return (s.getsockname()[0],)
        except OSError:
            return ()


def render_unit(program: str, config: str = "/" + CONFIG) -> str:
    """The unit file, from systemd/pi-dashboard.service.in (shipped in the package)."""
    template = (data_dir("systemd") / "pi-dashboard.service.in").read_text(encoding="utf-8")
    executable = program.split()[0]
    private = any(executable == h or executable.startswith(h + "/") for h in PRIVATE_HOMES)
    return (
        template.replace("@EXEC@", program)
        .replace("@CONFIG@", config)
        .replace("@PROTECT_HOME@", "read-only" if private else "yes")
    )


def new_config(hostname: str, found: str) -> str:
    """A first config: the Pi's own health, whatever `scan` found, served to the LAN."""
    found = found.strip() or (
        "# `pi-dashboard scan` found no I2C, 1-Wire or IIO sensors. Add yours here: every type,\n"
        "# with its wiring, is in docs/sensors.md."
    )
    return f"""\
# pi-dashboard configuration, written by `pi-dashboard install-service` from what
# `pi-dashboard scan` found on this Pi. Every key is in docs/config.md. After an edit:
#   pi-dashboard check-config /{CONFIG} && sudo systemctl restart {SERVICE}

[server]
host = "0.0.0.0"  # every interface: phones and laptops on the LAN can open the dashboard
port = 8080
title = {json.dumps(hostname)}

[[sensors]]
id = "pi"
type = "pi_health"
name = "This Pi"
interval = 30

{found}
"""


def check_readable_by_service(program: str) -> None:
    """The service user is "other" to every directory above the program: a private home
    directory (0700, the default on Raspberry Pi OS) would stop the service at its first start."""
    path = Path(program.split()[0])
    for parent in path.parents:
        try:
            mode = parent.stat().st_mode
        except OSError:
            continue
        if not mode & stat.S_IXOTH:
            raise InstallError(
                f"{path} is in {parent}, which the {USER} user cannot enter: install pi-dashboard "
                "in a venv under /opt (see README, Running on a Pi) and run its pi-dashboard"
            )


def plan_install(
    system: System, config_file: Path | None, types: Types = TYPES
) -> tuple[Plan, Config]:
    """Raises ConfigError for a config that would not start, InstallError for a conflict."""
    check_readable_by_service(system.program)
    plan = Plan()
    target = system.path(CONFIG)
    if config_file is not None:
        config = load_config(config_file, types)
        text = config_file.read_text(encoding="utf-8")
        if target.exists() and target.read_text(encoding="utf-8") != text:
            raise InstallError(
                f"{target} already exists and differs from {config_file}; it is never "
                f"overwritten: edit it, or remove it and run install-service again"
            )
    elif target.exists():
        config = load_config(target, types)
        text = None
        plan.notes.append(f"kept your config {target} ({len(config.sensors)} sensors)")
    else:
        text = new_config(system.hostname, system.scan_toml())
        config = parse_config(tomllib.loads(text), types, source=str(target))

    for group in DEVICE_GROUPS:
        if not system.group_exists(group):
            plan.steps.append(Run(("groupadd", "--system", group)))
    if not system.user_exists(USER):
        plan.steps.append(
            Run(
                (
                    *("useradd", "--system", "--user-group", "--no-create-home"),
                    *("--home-dir", f"/{STATE}", "--shell", "/usr/sbin/nologin"),
                    *("--comment", "pi-dashboard sensor dashboard", USER),
                )
            )
        )
    if text is not None and not target.exists():
        # Readable by the service's group only: a config may hold tokens and passwords.
        plan.steps.append(Write(target, text, 0o640, group=USER))
    plan.steps.append(Write(system.path(UNIT), render_unit(system.program), 0o644))
    plan.steps += [
        Run(("systemctl", "daemon-reload")),
        Run(("systemctl", "enable", SERVICE)),
        Run(
            ("systemctl", "restart", SERVICE),
            if_failed=f"the service did not start: journalctl -u {SERVICE} -e says why, and "
            "`pi-dashboard doctor` checks the usual causes",
        ),
    ]
    plan.notes += urls(system, config)
    return plan, config


def urls(system: System, config: Config) -> list[str]:
    host, port = config.server.host, config.server.port
    if host in ("0.0.0.0", "::", ""):
        where = [f"http://{system.hostname}.local:{port}/"]
        where += [f"http://{a}:{port}/" for a in system.addresses]
        return ["open the dashboard at " + " or ".join(where)]
    if host.startswith("127.") or host in ("::1", "localhost"):
        return [
            f"the config listens on {host}: only this Pi can open http://{host}:{port}/; "
            f'set [server] host = "0.0.0.0" in /{CONFIG} to share it on the LAN'
        ]
    return [f"open the dashboard at http://{host}:{port}/"]


def plan_uninstall(system: System, *, purge: bool) -> Plan:
    plan = Plan()
    unit = system.path(UNIT)
    if unit.exists():
        plan.steps += [
            Run(("systemctl", "disable", "--now", SERVICE)),
            Remove(unit),
            Run(("systemctl", "daemon-reload")),
        ]
    else:
        plan.notes.append(f"no {unit}: the service is not installed")
    if purge:
        for rel in (CONFIG.rpartition("/")[0], STATE):
            if system.path(rel).exists():
                plan.steps.append(Remove(system.path(rel)))
        if system.user_exists(USER):
            plan.steps.append(Run(("userdel", USER)))
    else:
        plan.notes.append(
            f"kept /{CONFIG.rpartition('/')[0]}/ (your config) and /{STATE}/ (history); "
            f"uninstall-service --purge removes them and the {USER} user"
        )
    return plan


def describe(step: Step) -> str:
    match step:
        case Write(path, text, mode, group):
            return f"--- write {path} (mode {mode:04o}, owner root:{group})\n{text.rstrip()}\n---"
        case Run(argv, _):
            return "$ " + shlex.join(argv)
        case Remove(path):
            return f"$ rm -r {shlex.quote(str(path))}"
    raise TypeError(step)


def apply(step: Step) -> None:
    """One step for real; a failing command is one line naming it."""
    match step:
        case Write(path, text, mode, group):
            path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.chmod(mode)
            shutil.chown(tmp, "root", group)
            os.replace(tmp, path)
        case Run(argv, if_failed):
            done = subprocess.run(argv, check=False, stdin=subprocess.DEVNULL)
            if done.returncode != 0:
                why = f"; {if_failed}" if if_failed else ""
                raise InstallError(f"`{shlex.join(argv)}` failed (exit {done.returncode}){why}")
        case Remove(path):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
