"""The client's address behind a reverse proxy: `X-Forwarded-For`, believed only when the request
comes from one of `[server] trusted_proxies` (anyone can send the header).

Every proxy appends the address it got the request from, so the list is read from the right and
the first address that is not a trusted proxy is the client; whatever a client wrote to the left
of it is ignored. The request is cloned with that address as `remote`, so the login limit, trusted
networks and the log see the browser rather than the proxy. Nothing changes for direct requests.
Written by hand: aiohttp-remotes does the same, but a dependency for 40 lines did not pay.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from aiohttp import web

from pi_dashboard.web.networks import Networks
from pi_dashboard.web.routes import Handler, Middleware, json_error

HEADER = "X-Forwarded-For"
MAX_HOPS = 32
"""Longer chains are refused: no real proxy chain is this long, and parsing stays bounded."""


class Proxies:
    def __init__(self, networks: Iterable[str]) -> None:
        self.networks = Networks(networks)

    def trusted(self, address: str | None) -> bool:
        return self.networks.contain(address)

    def client(self, forwarded: str) -> str:
        """The client's address; ValueError names what is wrong with the header."""
        hops = [h.strip() for h in forwarded.split(",")]
        if len(hops) > MAX_HOPS:
            raise ValueError(f"more than {MAX_HOPS} addresses")
        for hop in hops:
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                raise ValueError(f"{hop[:64]!r} is not an IP address") from None
        for hop in reversed(hops):
            if not self.trusted(hop):
                return hop
        return hops[0]  # every hop is one of ours: the first is as close to a client as we get


def forwarded_for(networks: Iterable[str]) -> Middleware:
    proxies = Proxies(networks)

    @web.middleware
    async def from_proxy(request: web.Request, handler: Handler) -> web.StreamResponse:
        forwarded = request.headers.get(HEADER)
        if forwarded is None or not proxies.trusted(request.remote):
            return await handler(request)
        try:
            client = proxies.client(forwarded)
        except ValueError as e:
            return json_error(400, f"bad {HEADER} from a trusted proxy: {e}")
        return await handler(request.clone(remote=client))

    return from_proxy
