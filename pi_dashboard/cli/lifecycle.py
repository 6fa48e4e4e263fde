"""The daemon's process lifecycle, bounded at both ends: stop signals, the event loop without
unbounded waits, and an exit that never waits on a stuck thread.

SIGTERM/SIGINT stop the daemon from its first line on, the stop takes at most STOP_S in the event
loop, the process is gone EXIT_S after the signal whatever a thread is doing, and a second signal
exits at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import TYPE_CHECKING

from pi_dashboard.cli.codes import EXIT_FAILURE, EXIT_OK

if TYPE_CHECKING:  # asyncio loads after the signal handlers are in place
    import asyncio

STOP_S = 1.5
"""The event loop's share of a stop: web, sensors and the rest of the cleanup together."""
EXIT_S = 1.8
"""From the stop signal to process exit at the latest: threads still running are abandoned."""
LEFTOVER_S = 0.1
"""Tasks still running after the stop get this long to end once cancelled."""
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Signals:
    """SIGINT/SIGTERM: the first asks for a stop, a second one exits at once.

    Until the event loop runs, a Python-level handler exits at once (SystemExit(0)); while it
    runs, the loop's own handlers set the stop event (they wake it through its self-pipe, which
    the bounded thread hand-off in polling never fills); after it, a signal is a second one."""

    def __init__(self) -> None:
        self.received: float | None = None
        """`time.monotonic()` of the first stop signal."""
        self._on_stop: Callable[[], None] | None = None
        self._attached = False
        """The event loop has run: from then on a stop goes through the cleanup."""
        self._holding = False
        """The event loop is being built: a stop is recorded, and `attach` acts on it."""
        self._default_unraisable = sys.unraisablehook

    def install(self) -> None:
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._python_handler)
        if sys.unraisablehook is not self._unraisable:
            self._default_unraisable = sys.unraisablehook
            sys.unraisablehook = self._unraisable

    def _unraisable(self, info: sys.UnraisableHookArgs) -> None:
        """A signal that lands inside a callback Python cannot raise from (an import lock's
        weakref callback, say) has its SystemExit printed as "Exception ignored" and dropped.
        The stop is not lost — `received` is set, and `attach` stops at once — so that
        SystemExit is not an error worth a traceback; anything else is reported as usual."""
        if isinstance(info.exc_value, SystemExit) and self.received is not None:
            return
        self._default_unraisable(info)

    def attach(self, loop: asyncio.AbstractEventLoop, on_stop: Callable[[], None]) -> None:
        self._attached = True
        self._on_stop = on_stop
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, self.handle)
        if self.received is not None:
            on_stop()

    def detach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._on_stop = None
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
        self.install()

    def hold(self) -> None:
        """From here until `attach`, a first stop signal is recorded instead of raised: a
        SystemExit raised inside the event loop's constructor leaves a half-made loop whose
        `__del__` fails with a traceback. `attach` then stops at once."""
        self._holding = True

    def _python_handler(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None and not self._attached and not self._holding:
            # Still starting (importing, reading the config): nothing runs that a stop must
            # undo, so unwind now rather than at the next check, which may be a second away.
            self.received = time.monotonic()
            raise SystemExit(EXIT_OK)
        self.handle()

    def stopped_starting(self, error: BaseException) -> bool:
        """`error` is the start-up stop's SystemExit, maybe wrapped on its way out: Python 3.11
        turns one raised inside a class body's `__set_name__` into a RuntimeError caused by it."""
        if self.received is None or self._attached:
            return False
        seen: BaseException | None = error
        for _ in range(16):  # a cause chain is short; never loop on a cycle
            if seen is None:
                return False
            if isinstance(seen, SystemExit):
                return True
            seen = seen.__cause__ or seen.__context__
        return False

    def handle(self) -> None:
        if self.received is not None:
            force_exit("second stop signal: exiting at once")
        self.received = time.monotonic()
        if self._on_stop is not None:
            self._on_stop()


def force_exit(why: str, code: int = EXIT_FAILURE) -> None:
    """Exit now, from any thread: programs that command sensors started are killed first."""
    command = sys.modules.get("pi_dashboard.sensors.command")
    if command is not None:
        command.kill_all()
    with contextlib.suppress(Exception):
        os.write(2, f"pi-dashboard: {why}\n".encode())
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def run_loop(main: Coroutine[object, object, int]) -> int:
    """asyncio.run without its unbounded waits: leftover tasks get LEFTOVER_S once cancelled,
    and the default executor's threads are not joined (one may be stuck in a driver call)."""
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(main)
    finally:
        try:
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.wait(tasks, timeout=LEFTOVER_S))
            closing = loop.create_task(loop.shutdown_asyncgens())
            loop.run_until_complete(asyncio.wait((closing,), timeout=LEFTOVER_S))
        finally:
            loop.close()  # shuts the default executor down without waiting for its threads


def exit_in_time(code: int, signals: Signals) -> None:
    """Interpreter exit joins every non-daemon thread (executor workers too): give them until
    EXIT_S after the signal, then leave without them."""
    start = signals.received if signals.received is not None else time.monotonic()
    deadline = start + EXIT_S
    for t in threading.enumerate():
        if t is threading.main_thread() or t.daemon:
            continue
        t.join(max(deadline - time.monotonic(), 0.0))
        if t.is_alive():
            force_exit(f"stopped; abandoning thread {t.name}, still busy", code)
