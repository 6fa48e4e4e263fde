"""systemd: sd_notify (READY, WATCHDOG, STATUS, STOPPING) and log lines that fit the journal.

sd_notify is one datagram to `$NOTIFY_SOCKET` (sd_notify(3)); it is written out here rather than
taken from libsystemd's Python bindings, which need a C build on the Pi, or a small unmaintained
wrapper. Outside systemd (no `$NOTIFY_SOCKET`) every call is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # the CLI sets up logging (log_formatter) before it reads the config: a bad
    # config's exit 2 imports neither the web stack nor asyncio (~10 ms)
    import asyncio

    from aiohttp import web

log = logging.getLogger(__name__)

STATUS_EVERY_S = 2.0
"""How often `systemctl status` may see a new STATUS= line (sent only when it changed)."""

BLOCK_LOOP_ENV = "PI_DASHBOARD_TEST_BLOCK_LOOP"
"""Test-only, never for production: "AFTER:SECONDS" blocks the event loop for SECONDS, AFTER
seconds after READY=1, so a test can see the watchdog pings stop while the loop is stuck."""

SYSLOG_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


class Notifier:
    """Talks to the service manager; `from_env()` gives an inert one outside systemd."""

    def __init__(
        self,
        address: str | None,
        *,
        watchdog_s: float | None = None,
        block_loop: tuple[float, float] | None = None,
    ) -> None:
        self.address = address
        self.watchdog_s = watchdog_s
        """systemd's WatchdogSec: a ping is due every half of it."""
        self.block_loop = block_loop
        self._sock: socket.socket | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def from_env(cls, environ: MutableMapping[str, str] = os.environ) -> Notifier:
        """Reads and unsets NOTIFY_SOCKET and WATCHDOG_* (as sd_notify's unset_environment does),
        so the programs command sensors run cannot talk to systemd in our name."""
        address = environ.pop("NOTIFY_SOCKET", None) or None
        usec = environ.pop("WATCHDOG_USEC", "")
        pid = environ.pop("WATCHDOG_PID", "")
        watchdog_s = None
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            watchdog_s = int(usec) / 1e6
        block = None
        if spec := environ.get(BLOCK_LOOP_ENV):
            after, _, seconds = spec.partition(":")
            block = (float(after), float(seconds))
        return cls(address, watchdog_s=watchdog_s, block_loop=block)

    def send(self, *fields: str) -> bool:
        """One datagram, never blocking the loop: a full queue at systemd's end drops it."""
        if self.address is None:
            return False
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.setblocking(False)
            self._sock.sendto("\n".join(fields).encode(), target)
        except OSError as e:
            log.debug("sd_notify to %s failed: %s", self.address, e)
            return False
        return True

    def ready(self, status: Callable[[], str]) -> None:
        """Call once the port is bound and serving; starts the watchdog and status tasks."""
        if self.address is None:
            return
        import asyncio

        last = status()
        self.send("READY=1", f"STATUS={last}")
        if self.watchdog_s is not None:
            self._tasks.append(asyncio.create_task(self._watchdog(), name="sd-watchdog"))
        self._tasks.append(asyncio.create_task(self._status(status, last), name="sd-status"))
        if self.block_loop is not None:
            after, seconds = self.block_loop
            asyncio.get_running_loop().call_later(after, time.sleep, seconds)

    async def _watchdog(self) -> None:
        import asyncio

        assert self.watchdog_s is not None
        while True:
            self.send("WATCHDOG=1")
            await asyncio.sleep(self.watchdog_s / 2)

    async def _status(self, status: Callable[[], str], last: str) -> None:
        import asyncio

        while True:
            await asyncio.sleep(STATUS_EVERY_S)
            text = status()
            if text != last:
                self.send(f"STATUS={text}")
                last = text

    def stopping(self) -> None:
        """On the way out: systemd shows "deactivating" and stops expecting pings."""
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        self.send("STOPPING=1", "STATUS=stopping")
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def status_line(app: web.Application) -> str:
    """What `systemctl status` shows: "18 sensors, 1 failing, 3 browsers"."""
    from pi_dashboard.web.keys import CLIENTS, STATE

    counts = app[STATE].counts()
    parts = [f"{counts['total']} sensors", f"{counts['error']} failing"]
    if counts["pending"]:
        parts.append(f"{counts['pending']} starting")
    clients = len(app[CLIENTS])
    parts.append(f"{clients} browser{'' if clients == 1 else 's'}")
    return ", ".join(parts)


def under_journal(stream: TextIO) -> bool:
    """True when `stream` is the journal stream systemd gave us ($JOURNAL_STREAM = "dev:inode"),
    not merely a terminal started from a session that inherited the variable."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return expected == f"{st.st_dev}:{st.st_ino}"


class JournalFormatter(logging.Formatter):
    """No timestamp (journald adds one) and a `<N>` syslog priority on every line, so
    `journalctl -p warning` finds warnings and a traceback stays at its record's priority."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{SYSLOG_PRIORITY.get(record.levelno, 6)}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines())


def log_formatter(stream: TextIO) -> logging.Formatter:
    fmt = "%(levelname)s %(name)s: %(message)s"
    if under_journal(stream):
        return JournalFormatter(fmt)
    return logging.Formatter("%(asctime)s " + fmt)
