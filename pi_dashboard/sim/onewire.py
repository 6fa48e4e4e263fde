"""Simulated 1-Wire thermometers: the files Linux's w1_therm shows under /sys/bus/w1/devices.

Each probe converts `world.env.<quantity>` the way the chip does (12-bit register, 1/16 °C, the
configuration byte, its own CRC-8) and the files are rewritten on every tick, in the kernel's
exact text. `SimProbe.fault` makes the probe answer as it does when something is wrong:

    "crc"     a corrupted bit: line 1 says `crc=.. NO` (line 2 repeats the last good scratchpad)
    "empty"   a failed conversion on newer kernels: an empty file
    "ff"      nothing drives the line, the pull-up reads all ff (older kernels)
    "00"      the data line held low: all 00, which passes the CRC
    "reset"   a brownout: the power-up scratchpad (85 °C, byte 6 = 0Ch), with a good CRC
    "glitch"  07FFh = 127.94 °C, with a good CRC
    "garbage" nine random bytes, and the kernel's verdict on them

`unplug()` removes the slave's directory, as the w1 core does once a slave stops answering its
bus searches; `hang()` makes reads block, as a w1_slave read does while the kernel waits on a
stuck bus, until `release()`. Fault injection (`sim/faults.py`) sets `injector`, `env` and the
bus's `storm`. `ds18b20` names `place` as its simulated counterpart.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from pi_dashboard.hw.onewire import W1_DEVICES
from pi_dashboard.sim.chips.base import Room
from pi_dashboard.sim.fs import write_atomic

if TYPE_CHECKING:
    from pi_dashboard.config import SensorConfig
    from pi_dashboard.sim.world import SimWorld

Fault = Literal["crc", "empty", "ff", "00", "reset", "glitch", "garbage"]

ATTRS = ("w1_slave", "temperature")
RELEASE_HOLD_S = 0.2
"""How long a released hang keeps a writer on its FIFO: a reader that found the FIFO just before
the release still gets its (empty) answer instead of blocking."""

AUTO_PROBES = (
    ("28-0316a2795e1f", "water_temperature"),
    ("28-01193a5b7c2d", "temperature"),
)
"""What mock mode puts on the bus for `probes = "auto"`: one in the water tank, one in the room."""

TH, TL = 0x4B, 0x46
"""Alarm registers as shipped (75 °C / 70 °C), as in the kernel documentation's example."""


def crc8(data: bytes) -> int:
    """The chip's CRC generator (X^8 + X^5 + X^4 + 1, LSB first), apart from the driver's."""
    crc = 0
    for byte in data:
        for bit in range(8):
            mix = (crc ^ (byte >> bit)) & 1
            crc >>= 1
            if mix:
                crc ^= 0x8C
    return crc


def _with_crc(body: bytes) -> bytes:
    return body + bytes([crc8(body)])


def _le16(raw: int) -> bytes:
    return (raw & 0xFFFF).to_bytes(2, "little")


def _hex(data: bytes) -> str:
    """The kernel prints each byte as "%02x " (so a trailing space before ": crc" and "t=")."""
    return "".join(f"{b:02x} " for b in data)


class SimProbe:
    def __init__(self, bus: SimW1Bus, slave: str, quantity: str, offset: float = 0.0) -> None:
        self.bus = bus
        self.slave = slave
        self.family = slave[:2]
        self.quantity = quantity
        self.offset = offset
        self.env: Room = bus.world.env
        """What the probe measures: the room, or a fault-injecting view of it."""
        self.injector: Callable[[], Fault | None] | None = None
        """Asked on every conversion for a fault to show this time (sim/faults.py)."""
        self._fifo: Path | None = None
        self.resolution = 12
        """9..12 bits (DS18B20/DS1822); the DS18S20 is always 9 bits plus COUNT_REMAIN."""
        self.fault: Fault | None = None
        self.plugged = True
        self.has_w1_slave = True
        self.has_temperature = True
        """Which attributes this kernel shows (`temperature` appeared in 5.x kernels)."""
        self._last_good: bytes | None = None

    @property
    def dir(self) -> Path:
        return self.bus.base / self.slave

    def celsius(self) -> float:
        value: float = getattr(self.env, self.quantity)
        return value + self.offset

    # --- the chip ------------------------------------------------------------------------------

    def scratchpad(self) -> bytes:
        """What Read Scratchpad returns after a good conversion of the current temperature."""
        t = min(max(self.celsius(), -55.0), 125.0)
        if self.family == "10":  # DS18S20: 9-bit register + COUNT_REMAIN for extended resolution
            raw = round(t * 2)
            temp_read = raw >> 1
            count_remain = min(max(16 - round((t - temp_read + 0.25) * 16), 0), 16)
            return _with_crc(_le16(raw) + bytes([TH, TL, 0xFF, 0xFF, count_remain, 0x10]))
        step = 1 << (12 - self.resolution)  # undefined low bits read as 0 here
        raw = round(t * 16 / step) * step
        config = 0x1F | (self.resolution - 9) << 5
        count_remain = 0x10 - (raw & 0x0F)
        return _with_crc(_le16(raw) + bytes([TH, TL, config, 0xFF, count_remain, 0x10]))

    def _fault_scratchpad(self, fault: Fault) -> bytes:
        if fault == "ff":
            return b"\xff" * 9
        if fault == "00":
            return bytes(9)
        if fault == "garbage":
            return self.bus.world.rng.randbytes(9)
        config = 0x1F | (self.resolution - 9) << 5
        if fault == "reset":
            if self.family == "10":
                return _with_crc(bytes([0xAA, 0x00, TH, TL, 0xFF, 0xFF, 0x0C, 0x10]))
            return _with_crc(bytes([0x50, 0x05, TH, TL, config, 0xFF, 0x0C, 0x10]))
        if fault == "glitch":
            return _with_crc(bytes([0xFF, 0x07, TH, TL, config, 0xFF, 0x01, 0x10]))
        good = bytearray(self.scratchpad())
        good[0] ^= 0x04  # "crc": one bit flipped on the wire, the CRC byte left as sent
        return bytes(good)

    # --- the kernel ----------------------------------------------------------------------------

    def _millicelsius(self, sp: bytes) -> int:
        """w1_therm's conversion (C integer division truncates toward zero)."""
        raw = int.from_bytes(sp[:2], "little", signed=True)
        if self.family == "10":
            if sp[7] == 0:
                return 0
            t = (raw >> 1) * 1000 - 250 + int(1000 * (sp[7] - sp[6]) / sp[7])
            return t
        return int(raw * 1000 / 16)

    def _w1_slave_text(self, sp: bytes) -> str:
        verdict = crc8(sp[:8]) == sp[8]
        if verdict:
            self._last_good = sp
        shown = sp if verdict else (self._last_good or bytes(9))
        line1 = f"{_hex(sp)}: crc={crc8(sp[:8]):02x} {'YES' if verdict else 'NO'}\n"
        return f"{line1}{_hex(shown)}t={self._millicelsius(sp)}\n"

    def update(self) -> None:
        with self.bus.lock:
            if self.plugged and self._fifo is None:
                self._update()

    def _update(self) -> None:
        fault = self.fault
        if fault is None and self.bus.storm:
            fault = "empty"  # no presence pulse from anyone: every conversion fails
        if fault is None and self.injector is not None:
            fault = self.injector()
        if fault == "empty":
            w1_slave = temperature = ""
        else:
            sp = self.scratchpad() if fault is None else self._fault_scratchpad(fault)
            w1_slave = self._w1_slave_text(sp)
            # `temperature` prints the conversion whatever the CRC said, or nothing if no answer
            temperature = "" if fault == "ff" else f"{self._millicelsius(sp)}\n"
        self._write("w1_slave", w1_slave if self.has_w1_slave else None)
        self._write("temperature", temperature if self.has_temperature else None)
        write_atomic(self.dir / "name", f"{self.slave}\n")

    def _write(self, attr: str, text: str | None) -> None:
        path = self.dir / attr
        if text is None:
            path.unlink(missing_ok=True)
        else:
            write_atomic(path, text)

    def unplug(self) -> None:
        with self.bus.lock:
            self.release()  # the kernel gives up on a read from a slave that is gone
            self.plugged = False
            shutil.rmtree(self.dir, ignore_errors=True)
            self.bus.write_master()

    def plug(self) -> None:
        with self.bus.lock:
            self.plugged = True
            self.update()
            self.bus.write_master()

    @property
    def hung(self) -> bool:
        return self._fifo is not None

    def hang(self) -> None:
        """From now on a read of w1_slave or temperature blocks: each becomes a FIFO no one writes
        to (hard links of one, kept beside them so `release()` can reach it)."""
        with self.bus.lock:
            if self._fifo is not None or not self.plugged:
                return
            fifo = self.dir / ".hang.fifo"
            os.mkfifo(fifo)
            for attr in ATTRS:
                if (self.dir / attr).exists():
                    link = self.dir / f".{attr}.hang"
                    os.link(fifo, link)
                    os.replace(link, self.dir / attr)
            self._fifo = fifo

    def release(self) -> None:
        """End a hang: regular files again, and every blocked read gets an empty answer (the
        kernel's way of reporting a failed read)."""
        with self.bus.lock:
            fifo, self._fifo = self._fifo, None
            if fifo is None:
                return
            self.update()  # new reads find regular files
            # a writer wakes readers blocked opening the FIFO; once it closes they read EOF
            try:
                fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
            except FileNotFoundError:  # the directory went with it: no reader is left there
                return
            fifo.unlink()
            timer = threading.Timer(RELEASE_HOLD_S, os.close, (fd,))
            timer.daemon = True
            timer.start()


class SimW1Bus:
    """The w1-gpio bus master and its slaves; `world.tickers` rewrites the files every tick."""

    def __init__(self, world: SimWorld) -> None:
        self.world = world
        self.base = world.root / W1_DEVICES
        self.probes: dict[str, SimProbe] = {}
        self.lock = threading.RLock()
        """The tick rewrites files while the fault panel unplugs or hangs probes."""
        self.storm = False
        """No slave answers (the data line shorted): every conversion fails."""
        self.base.mkdir(parents=True, exist_ok=True)
        self.write_master()

    def add(self, slave: str, quantity: str = "water_temperature", offset: float = 0.0) -> SimProbe:
        probe = self.probes.get(slave)
        if probe is None:
            probe = self.probes[slave] = SimProbe(self, slave, quantity, offset)
            probe.update()
            self.write_master()
        return probe

    def write_master(self) -> None:
        slaves = [s for s, p in self.probes.items() if p.plugged]
        master = self.base / "w1_bus_master1"
        listing = "".join(f"{s}\n" for s in slaves) or "not found.\n"
        write_atomic(master / "w1_master_slaves", listing)
        write_atomic(master / "w1_master_slave_count", f"{len(slaves)}\n")

    def update(self) -> None:
        for probe in self.probes.values():
            probe.update()

    def __call__(self, dt: float) -> None:
        """A world ticker: every tick, each probe converts the current temperature again."""
        self.update()


def w1_bus(world: SimWorld) -> SimW1Bus:
    """The world's one 1-Wire bus: created, and added to its tickers, on first use."""
    for ticker in world.tickers:
        if isinstance(ticker, SimW1Bus):
            return ticker
    bus = SimW1Bus(world)
    world.tickers.append(bus)
    return bus


@runtime_checkable
class ProbeList(Protocol):
    """`probes`: serials, or "auto" for the two probes a simulated bus carries."""

    @property
    def probes(self) -> tuple[str, ...] | Literal["auto"]: ...


def place(world: SimWorld, cfg: SensorConfig[ProbeList]) -> None:
    bus = w1_bus(world)
    probes = cfg.options.probes
    if probes == "auto":
        for slave, quantity in AUTO_PROBES:
            bus.add(slave, quantity)
        return
    for i, slave in enumerate(probes):
        bus.add(slave, AUTO_PROBES[i % len(AUTO_PROBES)][1])
