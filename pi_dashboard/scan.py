"""`pi-dashboard scan`: what is wired to this Pi, and a ready-to-paste TOML block for it.

I2C probing follows i2cdetect's default ("auto") mode: a quick write for most addresses, a byte read
for 0x30-0x37 and 0x50-0x5F, where a quick write can corrupt some EEPROMs. Chips are named by a
harmless identification (a chip-id register, a serial number with a valid CRC) where their type has
one, and by address otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pi_dashboard.hw.i2c import I2CBus
from pi_dashboard.sensors.base import Types

log = logging.getLogger(__name__)

FIRST, LAST = 0x03, 0x77


@dataclass(frozen=True, slots=True, kw_only=True)
class I2CFinding:
    bus: int
    address: int
    type: str | None
    """The sensor type it is, or None when nothing we know answers there."""
    identified: bool
    """True when the chip confirmed it (chip id, serial + CRC); False when named by address."""
    candidates: tuple[str, ...] = ()


@dataclass(slots=True, kw_only=True)
class ScanResult:
    i2c: list[I2CFinding] = field(default_factory=list)
    buses: list[int] = field(default_factory=list)
    bus_errors: dict[int, str] = field(default_factory=dict)
    onewire: list[str] = field(default_factory=list)
    """1-Wire slave ids (`28-0316a2795e1f`)."""
    iio: list[tuple[str, str]] = field(default_factory=list)
    """(device dir name, driver name) of IIO devices such as `dht11@4`."""


def probe(bus: I2CBus, address: int) -> bool:
    try:
        if 0x30 <= address <= 0x37 or 0x50 <= address <= 0x5F:
            bus.read_byte(address)
        else:
            bus.write_quick(address)
    except OSError:
        return False
    return True


def identify(bus: I2CBus, address: int, types: Types) -> I2CFinding:
    candidates = tuple(name for name, t in types.items() if address in t.i2c_addresses)
    unconfirmed: list[str] = []
    for name in candidates:
        check = types[name].identify
        if check is None:
            unconfirmed.append(name)
            continue
        try:
            if check(bus, address):
                return I2CFinding(
                    bus=0, address=address, type=name, identified=True, candidates=candidates
                )
        except OSError as e:
            log.debug("identify %s at 0x%02x: %s", name, address, e)
    guess = unconfirmed[0] if unconfirmed else None
    return I2CFinding(bus=0, address=address, type=guess, identified=False, candidates=candidates)


def scan_i2c(
    buses: Mapping[int, Callable[[], I2CBus]], types: Types
) -> tuple[list[I2CFinding], dict[int, str]]:
    findings: list[I2CFinding] = []
    errors: dict[int, str] = {}
    for number, opener in sorted(buses.items()):
        try:
            bus = opener()
        except OSError as e:
            errors[number] = f"{e.strerror or e}" + (f": {e.filename}" if e.filename else "")
            continue
        for address in range(FIRST, LAST + 1):
            if probe(bus, address):
                f = identify(bus, address, types)
                findings.append(
                    I2CFinding(
                        bus=number,
                        address=address,
                        type=f.type,
                        identified=f.identified,
                        candidates=f.candidates,
                    )
                )
    return findings, errors


def to_toml(result: ScanResult) -> str:
    """A `[[sensors]]` block per finding, with ids that are unique and valid."""
    lines: list[str] = []
    used: set[str] = set()

    def new_id(base: str) -> str:
        sid, n = base, 2
        while sid in used:
            sid, n = f"{base}_{n}", n + 1
        used.add(sid)
        return sid

    for f in result.i2c:
        if f.type is None:
            continue
        how = "identified" if f.identified else "guessed from its address"
        lines += [
            f"# {f.type} on I2C bus {f.bus} at 0x{f.address:02x} ({how})",
            "[[sensors]]",
            f'id = "{new_id(f.type)}"',
            f'type = "{f.type}"',
            f"bus = {f.bus}",
            f"address = 0x{f.address:02x}",
            "",
        ]
    probes = [p for p in result.onewire if p.startswith("28-")]
    if probes:
        listed = ", ".join(f'"{p}"' for p in probes)
        lines += [
            f"# {len(probes)} DS18B20 probe(s) on the 1-Wire bus",
            "[[sensors]]",
            f'id = "{new_id("ds18b20")}"',
            'type = "ds18b20"',
            f"probes = [{listed}]",
            "",
        ]
    for dirname, name in result.iio:
        if not name.startswith("dht11@"):
            continue
        try:  # the overlay names the device after its pin in hex: gpiopin=12 -> dht11@c
            where = f"gpio = {int(name.split('@', 1)[1], 16)}"
        except ValueError:
            where = f"device = {int(dirname.removeprefix('iio:device'))}"
        lines += [
            f"# DHT11/DHT22 through the kernel's dht11 driver ({dirname}, {name}); "
            'use type = "dht11" for a DHT11',
            "[[sensors]]",
            f'id = "{new_id("dht22")}"',
            'type = "dht22"',
            where,
            "",
        ]
    return "\n".join(lines)


def report(result: ScanResult) -> str:
    out: list[str] = []
    if not result.buses and not result.bus_errors:
        out.append("I2C: no buses (enable I2C: sudo raspi-config nonint do_i2c 0)")
    for number in result.buses:
        found = [f for f in result.i2c if f.bus == number]
        out.append(f"I2C bus {number}: {len(found)} device(s)")
        for f in found:
            if f.type is None:
                what = "unknown device"
            elif f.identified:
                what = f.type
            else:
                what = (
                    f"{f.type}? (by address; could be {', '.join(f.candidates)})"
                    if len(f.candidates) > 1
                    else f"{f.type} (by address)"
                )
            out.append(f"  0x{f.address:02x}  {what}")
    for number, err in sorted(result.bus_errors.items()):
        out.append(f"I2C bus {number}: cannot open ({err})")
    if result.onewire:
        out.append(f"1-Wire: {len(result.onewire)} device(s)")
        out += [f"  {p}" for p in result.onewire]
    else:
        out.append("1-Wire: none (enable with dtoverlay=w1-gpio)")
    if result.iio:
        out.append(f"IIO: {len(result.iio)} device(s)")
        out += [f"  {d}  {n}" for d, n in result.iio]
    return "\n".join(out)
