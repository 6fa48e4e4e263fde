"""Log hygiene for a daemon that writes to an SD card: whatever a client or the kernel does, the
log grows by a bounded number of lines, and only `--debug` prints other libraries' tracebacks.

Installed on the root handlers by `cli.run.setup_logging`; `[server] log_repeat_interval` adjusts
it.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable

OUR_LOGGER = "pi_dashboard"


class RepeatFilter(logging.Filter):
    """A line seen before is written at most once per `interval`, with the count of its repeats.

    The key is the formatted line (logger, level, text), so "sensor a lost" and "sensor b lost"
    are different lines while the 194,000th "accept() out of system resource" is the same one.
    A global budget (`rate` lines/s, `burst`) also caps floods of lines that all differ.
    """

    def __init__(
        self,
        interval: float = 60.0,
        *,
        rate: float = 20.0,
        burst: float = 200.0,
        max_keys: int = 512,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.interval = interval
        self.rate, self.burst = rate, burst
        self.max_keys = max_keys
        self.clock = clock
        self._seen: OrderedDict[tuple[str, int, str], list[float]] = OrderedDict()
        self._tokens = burst
        self._refilled = clock()
        self._dropped = 0
        """Lines lost to the global budget or to eviction from `_seen`, told with the next line."""

    def filter(self, record: logging.LogRecord) -> bool:
        now = self.clock()
        key = (record.name, record.levelno, record.getMessage())
        entry = self._seen.get(key)
        if entry is not None and now - entry[0] < self.interval:
            entry[1] += 1
            return False
        self._tokens = min(self.burst, self._tokens + (now - self._refilled) * self.rate)
        self._refilled = now
        if self._tokens < 1:
            self._dropped += 1
            return False
        self._tokens -= 1
        notes = []
        if entry is not None and entry[1]:
            notes.append(f"repeated {entry[1]:.0f} times in {now - entry[0]:.0f} s")
        if self._dropped:
            notes.append(f"{self._dropped} other lines suppressed")
            self._dropped = 0
        if notes:
            record.msg, record.args = f"{record.getMessage()} ({'; '.join(notes)})", None
        self._seen[key] = [now, 0]
        self._seen.move_to_end(key)
        while len(self._seen) > self.max_keys:
            _, (_, count) = self._seen.popitem(last=False)
            self._dropped += int(count)
        return True


class OneLineFilter(logging.Filter):
    """Other libraries' tracebacks become one line: a bad packet from a client is not our bug."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == OUR_LOGGER or record.name.startswith(OUR_LOGGER + "."):
            return True
        text = record.getMessage()
        first = text.split("\n", 1)[0]
        if record.exc_info and record.exc_info[1] is not None:
            e = record.exc_info[1]
            first = f"{first}: {type(e).__name__}: {e}"
            record.exc_info, record.exc_text = None, None
        if first != text:
            record.msg, record.args = first, None
        return True


def install(debug: bool) -> None:
    """Add the filters to every root handler (filters on a logger would miss its children).

    `--debug` keeps every line and traceback: it is for a person watching, not for a service."""
    if debug:
        return
    for handler in logging.getLogger().handlers:
        handler.addFilter(OneLineFilter())
        handler.addFilter(RepeatFilter())


def set_repeat_interval(seconds: float) -> None:
    """Apply `[server] log_repeat_interval`, read after logging had to be set up."""
    for handler in logging.getLogger().handlers:
        for f in handler.filters:
            if isinstance(f, RepeatFilter):
                f.interval = seconds
