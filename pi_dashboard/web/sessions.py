"""Login sessions and the failed-login limit: two bounded tables in memory (docs/security.md).

Sessions live only in memory: a restart logs every browser out, and no session secret is ever
written to the SD card. Each has an absolute expiry; its cookie value is replaced every
`ROTATE_S` (the old value stays valid `GRACE_S`, for requests already on their way).
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

ROTATE_S = 900.0
"""A session's cookie value is replaced when it is older than this (a stolen copy ages out)."""
GRACE_S = 60.0
"""A replaced value still works this long: requests sent before the new cookie arrived."""


def _digest(raw: str) -> str:
    """Only a hash of each cookie value is kept: a memory dump does not hand out sessions."""
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(slots=True, kw_only=True)
class Session:
    key: str
    """Stable for the session's life (across rotations): what its sockets are filed under."""
    expires: float
    issued: float
    current: str
    """The digest of the newest cookie value."""
    values: dict[str, float] = field(default_factory=dict)
    """digest -> until when it is accepted."""


class Sessions:
    """At most `limit` sessions; a new login past that ends the oldest session."""

    def __init__(
        self, lifetime: float, limit: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.lifetime, self.limit, self.clock = lifetime, limit, clock
        self._by_key: OrderedDict[str, Session] = OrderedDict()
        self._by_value: dict[str, Session] = {}
        self.evicted = 0
        self.lapsed: list[str] = []
        """Keys of sessions that expired or were evicted, until their sockets are closed."""

    def __len__(self) -> int:
        return len(self._by_key)

    def create(self) -> tuple[str, Session]:
        """A new session: (cookie value, session)."""
        while len(self._by_key) >= self.limit:
            key, oldest = self._by_key.popitem(last=False)
            self._forget_values(oldest)
            self.lapsed.append(key)
            self.evicted += 1
        now = self.clock()
        raw = secrets.token_urlsafe(32)
        d = _digest(raw)
        s = Session(key=secrets.token_hex(8), expires=now + self.lifetime, issued=now, current=d)
        s.values[d] = s.expires
        self._by_key[s.key] = s
        self._by_value[d] = s
        return raw, s

    def find(self, raw: str) -> tuple[Session | None, str | None]:
        """(session, new cookie value if it was rotated just now) for a cookie value."""
        now = self.clock()
        d = _digest(raw)
        s = self._by_value.get(d)
        if s is None:
            return None, None
        if now >= s.expires:
            self.end(s.key)
            self.lapsed.append(s.key)
            return None, None
        if now >= s.values.get(d, 0.0):
            s.values.pop(d, None)
            self._by_value.pop(d, None)
            return None, None
        if d != s.current or now - s.issued < ROTATE_S:
            return s, None
        new = secrets.token_urlsafe(32)
        nd = _digest(new)
        s.values[d] = min(now + GRACE_S, s.expires)
        s.values[nd] = s.expires
        s.current, s.issued = nd, now
        self._by_value[nd] = s
        return s, new

    def end(self, key: str) -> Session | None:
        s = self._by_key.pop(key, None)
        if s is not None:
            self._forget_values(s)
        return s

    def end_all(self) -> list[str]:
        keys = list(self._by_key)
        self._by_key.clear()
        self._by_value.clear()
        return keys

    def expired(self) -> list[str]:
        """End every session past its expiry; the keys of all that lapsed since the last call."""
        now = self.clock()
        gone = [k for k, s in self._by_key.items() if now >= s.expires]
        for k in gone:
            self.end(k)
        lapsed, self.lapsed = [*self.lapsed, *gone], []
        return lapsed

    def _forget_values(self, s: Session) -> None:
        for d in s.values:
            self._by_value.pop(d, None)


class LoginLimiter:
    """Failed logins per address: `failures` in a row, then one more per `lockout` seconds.

    An IPv6 address counts as its /64 (what one household or attacker gets). The table keeps at
    most `max_addresses` (the one that failed least recently is forgotten first); a limit on all
    failures together (ten addresses' worth) keeps an attacker with many addresses at bay."""

    def __init__(
        self,
        failures: int,
        lockout: float,
        max_addresses: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst, self.rate = float(failures), 1.0 / lockout
        self.max_addresses, self.clock = max_addresses, clock
        self._table: OrderedDict[str, tuple[float, float]] = OrderedDict()
        """address -> (failures it may still make, when that was computed)."""
        self._all = (self.burst * 10, clock())

    def __len__(self) -> int:
        return len(self._table)

    @staticmethod
    def key(address: str | None) -> str:
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return address or "?"
        if ip.version == 6 and ip.ipv4_mapped is None:
            return str(ipaddress.ip_network(f"{ip}/64", strict=False))
        return str(ip.ipv4_mapped or ip) if ip.version == 6 else str(ip)

    def _level(self, entry: tuple[float, float], burst: float) -> float:
        tokens, stamp = entry
        return min(burst, tokens + (self.clock() - stamp) * self.rate * burst / self.burst)

    def retry_after(self, address: str | None) -> float:
        """0 if this address may try now, else seconds until it may."""
        waits = []
        entry = self._table.get(self.key(address))
        if entry is not None:
            waits.append((1 - self._level(entry, self.burst)) / self.rate)
        all_rate = self.rate * 10
        waits.append((1 - self._level(self._all, self.burst * 10)) / all_rate)
        return max(0.0, *waits)

    def failed(self, address: str | None) -> None:
        k = self.key(address)
        now = self.clock()
        entry = self._table.pop(k, None)
        level = self.burst if entry is None else self._level(entry, self.burst)
        while len(self._table) >= self.max_addresses:
            self._table.popitem(last=False)
        self._table[k] = (level - 1, now)
        self._all = (self._level(self._all, self.burst * 10) - 1, now)

    def succeeded(self, address: str | None) -> None:
        self._table.pop(self.key(address), None)
