"""`pi-dashboard doctor`: what is wrong with this Pi for the configured sensors, each with its fix.

Every check reads files under the hardware root (/dev, /sys, /boot/firmware), as hw/ readers do,
and opens I2C buses through the same injected opener the sensors use; the rest of the machine
(user, groups, Python modules, systemd) comes in `Machine`. So tests build a Pi with each problem,
and `--mock` checks the simulated Pi the daemon would run against.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pi_dashboard.config import Config
from pi_dashboard.errors import ConfigError
from pi_dashboard.hw import Hardware
from pi_dashboard.hw.iio import iio_devices
from pi_dashboard.hw.onewire import OneWireBus
from pi_dashboard.hw.system import SystemInfo, decode_throttled
from pi_dashboard.polling import build
from pi_dashboard.scan import probe
from pi_dashboard.sensors.base import Sensor, Types
from pi_dashboard.sensors.command import CommandSensor
from pi_dashboard.sensors.dht import DhtSensor, overlay_name
from pi_dashboard.sensors.ds18b20 import FAMILIES, Ds18b20Sensor
from pi_dashboard.sensors.gpio import GpioSensor
from pi_dashboard.sensors.i2c import I2CSensor

SERVICE = "pi-dashboard"
PIN_LIBRARIES = ("lgpio", "RPi.GPIO", "pigpio")
"""What gpiozero can drive real pins with; Raspberry Pi OS bookworm ships python3-lgpio."""
BOOT_CONFIGS = ("boot/firmware/config.txt", "boot/config.txt")
"""The firmware's config.txt: bookworm's place, then the older one."""
PROBE_TRIES = 3
"""A chip busy converting (up to ~0.1 s) may not answer a probe: ask again before blaming it."""


class Level(StrEnum):
    OK = "ok"
    NOTE = "note"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    level: Level
    what: str
    detail: str
    fix: str = ""


def ok(what: str, detail: str) -> Finding:
    return Finding(level=Level.OK, what=what, detail=detail)


def fail(what: str, detail: str, fix: str) -> Finding:
    return Finding(level=Level.FAIL, what=what, detail=detail, fix=fix)


def note(what: str, detail: str, fix: str = "") -> Finding:
    return Finding(level=Level.NOTE, what=what, detail=detail, fix=fix)


@dataclass(frozen=True, slots=True, kw_only=True)
class Machine:
    """The Pi being examined; `this()` is the real one."""

    hardware: Hardware
    """Its root holds dev/, sys/, proc/ and boot/; `i2c(n)` opens bus n."""
    user: str
    groups: frozenset[str]
    has_module: Callable[[str], bool]
    service: Callable[[], Mapping[str, str] | None] | None = None
    """systemd's view of the unit (`systemctl show` properties), None without systemd; the
    attribute None skips the check (mock mode: the simulated Pi has no service)."""
    proc: Path = Path("/proc")
    """This machine's /proc, to name the program holding a port (ports are always real)."""

    @classmethod
    def this(cls, hardware: Hardware) -> Machine:
        import grp
        import pwd

        return cls(
            hardware=hardware,
            user=pwd.getpwuid(os.getuid()).pw_name,
            groups=frozenset(grp.getgrgid(g).gr_name for g in os.getgroups()),
            has_module=lambda name: importlib.util.find_spec(name) is not None,
            service=systemd_unit,
        )


def systemd_unit() -> Mapping[str, str] | None:
    systemctl = shutil.which("systemctl")
    if systemctl is None or not Path("/run/systemd/system").is_dir():  # sd_booted()
        return None
    props = "LoadState,ActiveState,SubState,UnitFileState"
    done = subprocess.run(
        [systemctl, "show", SERVICE, f"--property={props}"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


def diagnose(
    machine: Machine,
    config: Config | ConfigError | None,
    source: str,
    types: Types,
) -> list[Finding]:
    """Every finding, in the order a user fixes them: config, power, buses, sensors, port,
    service."""
    out: list[Finding] = []
    if config is None:
        out.append(
            fail(
                "config",
                f"none given, and there is no {source}",
                "sudo pi-dashboard install-service (writes one from `pi-dashboard scan`), "
                "or pi-dashboard doctor --config FILE",
            )
        )
    elif isinstance(config, ConfigError):
        where = config.file or source
        fix = f"edit {where}, then: pi-dashboard check-config {where}"
        if config.message == "permission denied":  # install-service makes it root:pi-dashboard
            fix = "sudo pi-dashboard doctor (the config is readable by root and the service only)"
        out.append(fail("config", str(config), fix))
    else:
        out.append(ok("config", f"{source}: {len(config.sensors)} sensors"))
    out += power(machine)
    if isinstance(config, Config):
        sensors = [p.sensor for p in build(config, types, machine.hardware)]
        out += i2c(machine, [s for s in sensors if isinstance(s, I2CSensor)])
        out += gpio(machine, [s for s in sensors if isinstance(s, GpioSensor)])
        out += onewire(machine, [s for s in sensors if isinstance(s, Ds18b20Sensor)])
        out += iio(machine, [s for s in sensors if isinstance(s, DhtSensor)])
        out += commands([s for s in sensors if isinstance(s, CommandSensor)])
        out += port(machine, config, source)
    if machine.service is not None:
        out.append(service(machine.service()))
    return out


def report(findings: list[Finding]) -> str:
    lines = []
    for f in findings:
        lines.append(f"{f.level.value:<5} {f.what}: {f.detail}")
        if f.fix:
            lines.append(f"      fix: {f.fix}")
    problems = sum(f.level is Level.FAIL for f in findings)
    if problems:
        lines.append(f"{problems} problem{'s' if problems > 1 else ''}: fix, then run doctor again")
    else:
        lines.append("no problems found")
    return "\n".join(lines)


def _name(sensor: Sensor[Any]) -> str:
    return f"sensor {sensor.config.id} ({sensor.config.type})"


def _boot_config(root: Path) -> tuple[str, str]:
    """(path, text) of the firmware's config.txt; ("", "") when there is none."""
    for rel in BOOT_CONFIGS:
        try:
            return f"/{rel}", (root / rel).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
    return f"/{BOOT_CONFIGS[0]}", ""


def _has_line(text: str, *prefixes: str) -> bool:
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return any(line.startswith(prefixes) for line in lines)


def _group(machine: Machine, group: str, what: str) -> Iterator[Finding]:
    """Device access through group membership; root needs none, the service gets its own."""
    if machine.user != "root" and group not in machine.groups:
        yield fail(
            what,
            f"user {machine.user} is not in group {group}, which owns the devices",
            f"sudo usermod -aG {group} {machine.user}, then log out and back in",
        )


def power(machine: Machine) -> list[Finding]:
    root = machine.hardware.root
    word = SystemInfo(root, vcgencmd=root == Path("/")).throttled()
    if word is None:
        return []
    flags = decode_throttled(word)
    fix = "use a supply that gives 5.1 V at full load (Pi 4: 3 A, Pi 5: 5 A) and a short cable"
    if flags["undervoltage"]:
        detail = f"under-voltage now (get_throttled = 0x{word:x}): expect resets and bad reads"
        return [fail("power", detail, fix)]
    if flags["undervoltage_since_boot"]:
        detail = f"under-voltage has occurred since boot (get_throttled = 0x{word:x})"
        return [note("power", detail, fix)]
    return [ok("power", "no under-voltage since boot")]


def i2c(machine: Machine, sensors: list[I2CSensor[Any, Any]]) -> list[Finding]:
    if not sensors:
        return []
    root = machine.hardware.root
    out = list(_group(machine, "i2c", "I2C"))
    present = sorted(p.name for p in (root / "dev").glob("i2c-*"))
    for bus in sorted({s.options.bus for s in sensors}):
        on_bus = [s for s in sensors if s.options.bus == bus]
        dev = root / "dev" / f"i2c-{bus}"
        if not dev.exists():
            out.append(_missing_bus(root, bus, present))
            continue
        try:
            handle = machine.hardware.i2c(bus)
        except OSError as e:
            fix = "sudo usermod -aG i2c $USER, then log out and back in"
            if e.errno != errno.EACCES:
                fix = "sudo reboot; if it stays, check /boot/firmware/config.txt's dtparam lines"
            out.append(
                fail(
                    f"I2C bus {bus}",
                    f"cannot open /dev/i2c-{bus}: {e.strerror or e}",
                    fix,
                )
            )
            continue
        for s in on_bus:
            where = f"0x{s.options.address:02x} on I2C bus {bus}"
            if _answers(handle, s.options.address):
                out.append(ok(_name(s), f"answers at {where}"))
            else:
                out.append(
                    fail(
                        _name(s),
                        f"nothing answers at {where}",
                        "check the wiring (SDA to GPIO2, SCL to GPIO3, 3.3 V, GND) and the "
                        "address; `pi-dashboard scan` lists what answers",
                    )
                )
    return out


def _answers(bus: object, address: int) -> bool:
    for attempt in range(PROBE_TRIES):
        if probe(bus, address):  # type: ignore[arg-type]
            return True
        if attempt + 1 < PROBE_TRIES:
            time.sleep(0.05)
    return False


def _missing_bus(root: Path, bus: int, present: list[str]) -> Finding:
    where, boot = _boot_config(root)
    what = f"I2C bus {bus}"
    if present:
        return fail(
            what,
            f"no /dev/i2c-{bus} (this Pi has {', '.join(present)})",
            f"set bus = {present[0].removeprefix('i2c-')} in the config, or add "
            f"dtoverlay=i2c-gpio,bus={bus} to {where} and reboot",
        )
    if _has_line(boot, "dtparam=i2c_arm=on", "dtparam=i2c=on", "dtparam=i2c1=on"):
        return fail(
            what,
            f"{where} enables I2C but there is no /dev/i2c-{bus}: i2c-dev is not loaded",
            "sudo modprobe i2c-dev && echo i2c-dev | sudo tee -a /etc/modules",
        )
    return fail(
        what,
        "I2C is not enabled (no /dev/i2c-*)",
        "sudo raspi-config nonint do_i2c 0 && sudo reboot",
    )


def gpio(machine: Machine, sensors: list[GpioSensor[Any]]) -> list[Finding]:
    if not sensors:
        return []
    out = list(_group(machine, "gpio", "GPIO"))
    libraries = [m for m in PIN_LIBRARIES if machine.has_module(m)]
    if libraries:
        out.append(ok("GPIO", f"pin library {libraries[0]}"))
    else:
        out.append(
            fail(
                "GPIO",
                "no pin library for gpiozero (lgpio, RPi.GPIO or pigpio)",
                "sudo apt install python3-lgpio (a venv needs --system-site-packages), "
                "or pip install lgpio in the venv",
            )
        )
    if not list((machine.hardware.root / "dev").glob("gpiochip*")):
        pins = ", ".join(f"{_name(s)} on GPIO {'/'.join(map(str, s.pins))}" for s in sensors)
        out.append(
            fail(
                "GPIO",
                f"no /dev/gpiochip*: this is not a Raspberry Pi ({pins})",
                "run on the Pi, or try the config with --mock",
            )
        )
    return out


def onewire(machine: Machine, sensors: list[Ds18b20Sensor]) -> list[Finding]:
    if not sensors:
        return []
    bus = OneWireBus.under(machine.hardware.root)
    if not bus.present():
        return [
            fail(
                "1-Wire",
                "1-Wire is not enabled (no /sys/bus/w1/devices)",
                "sudo raspi-config nonint do_onewire 0 && sudo reboot "
                "(data on GPIO4; dtoverlay=w1-gpio,gpiopin=N for another pin)",
            )
        ]
    found = bus.slaves(FAMILIES)
    fix = (
        "check the wiring: 3.3 V, GND, data to GPIO4 with a 4.7 kΩ pull-up to 3.3 V; "
        "`pi-dashboard scan` lists the probes the Pi sees"
    )
    out = []
    for s in sensors:
        wanted = s.options.probes
        if wanted == "auto":
            if found:
                detail = f"{len(found)} probe(s) on the 1-Wire bus"
                out.append(ok(_name(s), detail))
            else:
                detail = "no temperature probe on the 1-Wire bus"
                out.append(fail(_name(s), detail, fix))
            continue
        missing = [p for p in wanted if p not in found]
        if missing:
            detail = (
                f"probe {', '.join(missing)} not on the bus (found: {', '.join(found) or 'none'})"
            )
            out.append(fail(_name(s), detail, fix))
        else:
            out.append(ok(_name(s), f"{len(wanted)} probe(s) found"))
    return out


def iio(machine: Machine, sensors: list[DhtSensor]) -> list[Finding]:
    if not sensors:
        return []
    root = machine.hardware.root
    devices = {d.index: d.name() for d in iio_devices(root)}
    where, boot = _boot_config(root)
    out = []
    for s in sensors:
        o = s.options
        if isinstance(o.device, int):
            there, wanted = o.device in devices, f"iio:device{o.device}"
        elif isinstance(o.device, str):
            there, wanted = o.device in devices.values(), f'an IIO device named "{o.device}"'
        else:
            name = overlay_name(o.gpio if o.gpio is not None else 4)
            there, wanted = name in devices.values(), f"{name} (the kernel's DHT driver)"
        if there:
            out.append(ok(_name(s), f"{wanted} is there"))
            continue
        pin = o.gpio if o.gpio is not None else 4
        line = f"dtoverlay=dht11,gpiopin={pin}"
        if _has_line(boot, line):
            fix = f"{line} is in {where}: sudo reboot; if it stays missing, check the wiring"
        else:
            fix = f"add {line} to {where}, then sudo reboot"
        out.append(fail(_name(s), f"no {wanted}", fix))
    return out


def commands(sensors: list[CommandSensor]) -> list[Finding]:
    out = []
    for s in sensors:
        argv = s.options.command
        if not argv or shutil.which(argv[0]) is not None:
            continue
        out.append(
            fail(
                _name(s),
                f"program {argv[0]!r} not found",
                "install it, or give its full path in `command`",
            )
        )
    return out


def port(machine: Machine, config: Config, source: str) -> list[Finding]:
    host, number = config.server.host, config.server.port
    out = []
    if host.startswith("127.") or host in ("::1", "localhost"):
        out.append(
            note(
                "server",
                f"listens on {host}: only this machine can open the dashboard",
                "run with --host 0.0.0.0"
                if source.startswith("<")
                else f'set [server] host = "0.0.0.0" in {source}, or run with --host 0.0.0.0',
            )
        )
    if number == 0:
        return out
    what = f"port {number} on {host}"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, number))
        except OSError as e:
            return [*out, _port_problem(machine, e, what, number, source)]
    return [*out, ok(what, "free")]


def _port_problem(machine: Machine, e: OSError, what: str, number: int, source: str) -> Finding:
    if e.errno == errno.EADDRINUSE:
        owner = port_owner(machine.proc, number)
        if owner is not None and ("pi-dashboard" in owner[1] or "pi_dashboard" in owner[1]):
            detail = f"served by pi-dashboard (pid {owner[0]})"
            return ok(what, detail)
        if owner is not None:
            taker = f"{owner[1].split()[0].rsplit('/', 1)[-1]} (pid {owner[0]})"
        elif machine.user != "root":
            taker = "another program (sudo pi-dashboard doctor can tell which)"
        else:
            taker = "another program"
        return fail(
            what,
            f"taken by {taker}",
            f"stop it, or set [server] port to a free one in {source}",
        )
    if e.errno == errno.EACCES:
        fix = "use a port above 1023 (the service has no CAP_NET_BIND_SERVICE)"
    elif e.errno == errno.EADDRNOTAVAIL:
        fix = f'set [server] host = "0.0.0.0" in {source}'
    else:
        fix = f"set [server] host and port in {source}"
    return fail(what, f"cannot listen: {e.strerror}", fix)


def port_owner(proc: Path, number: int) -> tuple[int, str] | None:
    """(pid, command line) of the process listening on TCP `number`, from /proc/net/tcp{,6} and
    each process's fd links; None when it cannot tell (another user's process, without root)."""
    inodes = set()
    for table in ("net/tcp", "net/tcp6"):
        try:
            rows = (proc / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if (
                len(fields) > 9
                and fields[3] == "0A"
                and int(fields[1].rsplit(":", 1)[1], 16) == number
            ):
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                    return int(entry.name), cmdline.strip()
        except OSError:
            continue
    return None


def service(props: Mapping[str, str] | None) -> Finding:
    what = "service"
    if props is None:
        return note(what, "systemd is not running here")
    if props.get("LoadState") == "not-found":
        return note(
            what,
            "not installed",
            "sudo pi-dashboard install-service",
        )
    active, sub, enabled = (
        props.get("ActiveState", "?"),
        props.get("SubState", "?"),
        props.get("UnitFileState", "?"),
    )
    state = f"{active} ({sub}), {enabled}"
    logs = f"journalctl -u {SERVICE} -e says why; then sudo systemctl restart {SERVICE}"
    if active == "active":
        return ok(what, state)
    if active == "failed" or sub == "auto-restart":
        return fail(what, state, logs)
    if enabled == "enabled":
        fix = f"sudo systemctl start {SERVICE}"
        return fail(what, state, fix)
    fix = f"sudo systemctl enable --now {SERVICE}"
    return note(what, state, fix)
