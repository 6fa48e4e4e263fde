"""Small mechanics behind `[server]`'s limits: a token bucket and the open-files budget."""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

LISTEN_BACKLOG = 128
FD_RESERVE = 128
"""Descriptors kept for everything but clients: SQLite, sensors' files and commands, the loop."""


class TokenBucket:
    """`rate` events per second on average, `burst` at once: what a rate limit usually means."""

    __slots__ = ("burst", "clock", "rate", "stamp", "tokens")

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = burst
        self.stamp = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def burst_for(rate: float) -> float:
    """Ten seconds' worth, at least ten: a page's connect sequence fits, a flood does not."""
    return max(10.0, rate * 10)


def fit_connections(max_connections: int) -> int:
    """Raise RLIMIT_NOFILE's soft limit if `max_connections` needs it; else lower the cap.

    Running out of descriptors makes accept() fail in a tight loop (and asyncio log it each
    time), so the cap must stay below the limit with room for the listen backlog and our files.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = max_connections + LISTEN_BACKLOG + FD_RESERVE
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft != resource.RLIM_INFINITY and soft < needed:
        fitted = max(1, soft - LISTEN_BACKLOG - FD_RESERVE)
        log.warning(
            "max_connections lowered from %d to %d: the open-files limit is %d "
            "(raise LimitNOFILE in the systemd unit)",
            max_connections,
            fitted,
            soft,
        )
        return fitted
    return max_connections
