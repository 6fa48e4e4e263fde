"""Is an address inside a list of networks: one check for trusted networks (web/auth.py) and
trusted proxies (web/proxies.py). An IPv4 client reaching an IPv6 socket shows up as
::ffff:a.b.c.d; it is matched as the IPv4 address it is."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable


class Networks:
    def __init__(self, cidrs: Iterable[str]) -> None:
        self.networks = [ipaddress.ip_network(n, strict=False) for n in cidrs]

    def contain(self, address: str | None) -> bool:
        if not self.networks or not address:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.networks)
