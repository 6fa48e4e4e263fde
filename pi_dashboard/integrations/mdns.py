"""Found on the LAN: the dashboard announced as `_http._tcp` over mDNS/DNS-SD (zeroconf), so a
phone's browser or `pi-dashboard scan --lan` finds it; and the browsing side of `scan --lan`.

The TXT record says what it is (`app=pi-dashboard`), so a scan lists dashboards and not every
printer. Raspberry Pi OS's avahi already answers `<hostname>.local`; zeroconf shares port 5353
with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

from zeroconf import IPVersion, ServiceInfo, ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

log = logging.getLogger(__name__)

SERVICE = "_http._tcp.local."
APP = "pi-dashboard"


def lan_addresses() -> list[str]:
    """Every IPv4 address of this machine but loopback."""
    import ifaddr

    return [
        ip.ip
        for adapter in ifaddr.get_adapters()
        for ip in adapter.ips
        if isinstance(ip.ip, str) and not ip.ip.startswith("127.")
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class Announcement:
    name: str
    port: int
    addresses: tuple[str, ...]
    node: str
    version: str
    path: str = "/"

    def info(self) -> ServiceInfo:
        host = socket.gethostname().split(".")[0]
        return ServiceInfo(
            SERVICE,
            f"{self.name}.{SERVICE}",
            port=self.port,
            parsed_addresses=list(self.addresses),
            server=f"{host}.local.",
            properties={"app": APP, "path": self.path, "node": self.node, "version": self.version},
        )


async def announce(a: Announcement, interfaces: list[str] | None) -> AsyncIterator[None]:
    """The body of app.py's cleanup_ctx: registered while the daemon runs, goodbye on stop."""
    zc = AsyncZeroconf(interfaces=interfaces or list(a.addresses), ip_version=IPVersion.V4Only)
    info = a.info()
    try:
        await zc.async_register_service(info, allow_name_change=True)
        log.info("announced on the LAN (mDNS) as %s", info.name)
    except Exception as e:  # the LAN is a nicety: never a reason not to run
        log.warning("mDNS announcement failed: %s", e)
    yield
    with contextlib.suppress(Exception):
        async with asyncio.timeout(1.0):
            await zc.async_unregister_all_services()
    with contextlib.suppress(Exception):
        async with asyncio.timeout(1.0):
            await zc.async_close()


@dataclass(frozen=True, slots=True, kw_only=True)
class Found:
    name: str
    url: str
    node: str
    version: str


async def browse(timeout_s: float, interfaces: list[str] | None = None) -> list[Found]:
    """Every pi-dashboard that answers on the LAN within `timeout_s`."""
    zc = AsyncZeroconf(interfaces=interfaces or "all", ip_version=IPVersion.V4Only)
    names: set[str] = set()

    def changed(zeroconf: object, service_type: str, name: str, state_change: object) -> None:
        if state_change is ServiceStateChange.Added:
            names.add(name)

    browser = AsyncServiceBrowser(zc.zeroconf, [SERVICE], handlers=[changed])
    found: dict[str, Found] = {}
    deadline = asyncio.get_running_loop().time() + timeout_s
    try:
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            for name in list(names - found.keys()):
                info = AsyncServiceInfo(SERVICE, name)
                if not await info.async_request(zc.zeroconf, 1000):
                    continue
                props = {
                    k.decode(): (v or b"").decode(errors="replace")
                    for k, v in info.properties.items()
                }
                if props.get("app") != APP:
                    found[name] = Found(name="", url="", node="", version="")  # not ours
                    continue
                addresses = info.parsed_addresses()
                if not addresses:
                    continue
                url = f"http://{addresses[0]}:{info.port}{props.get('path') or '/'}"
                found[name] = Found(
                    name=name.removesuffix("." + SERVICE),
                    url=url,
                    node=props.get("node", ""),
                    version=props.get("version", ""),
                )
            await asyncio.sleep(min(0.1, max(left, 0)))
    finally:
        await browser.async_cancel()
        await zc.async_close()
    return sorted((f for f in found.values() if f.url), key=lambda f: f.name)
