"""Which `Host:` headers we answer: the defence against DNS rebinding.

A page on evil.example can make its own name resolve to this Pi and then read our API as if it
were same-origin; its requests still say `Host: evil.example`, so refusing unknown names stops it.
IP literals are always accepted (as Syncthing does): a page cannot be served from an address the
attacker does not control, so an IP-literal origin can never be a rebinding one.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit


def host_name(header: str) -> str | None:
    """`Host:` value -> lower-case name or address without port or brackets; None if malformed."""
    try:
        name = urlsplit(f"//{header}").hostname
    except ValueError:
        return None
    return name.rstrip(".") if name else None


def is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostAllowList:
    """This machine's names (`localhost`, `*.localhost`, its hostname and `<hostname>.local`),
    any IP address, plus `[server] allowed_hosts`; `"*"` there turns the check off."""

    def __init__(self, extra: Iterable[str] = (), hostname: str | None = None) -> None:
        extra = list(extra)
        self.any = "*" in extra
        me = (hostname if hostname is not None else socket.gethostname()).lower().rstrip(".")
        names = {"localhost", me, f"{me.split('.')[0]}.local"}
        for e in extra:
            n = host_name(e)
            if n:
                names.add(n)
        names.discard("")
        self.names = frozenset(names)

    def allows(self, header: str | None) -> bool:
        """No Host header at all is HTTP/1.0 from a script, never a browser: allowed."""
        if self.any or header is None:
            return True
        name = host_name(header)
        if name is None:
            return False
        return name in self.names or name.endswith(".localhost") or is_ip(name)

    def same_origin(self, origin: str | None, host: str | None) -> bool:
        """python-socketio's Origin check, against the allowed `Host:` only.

        The library's own check also trusts X-Forwarded-Host, which any script may send."""
        if not origin or not host or not self.allows(host):
            return False
        try:
            parts = urlsplit(origin)
        except ValueError:
            return False
        return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()
