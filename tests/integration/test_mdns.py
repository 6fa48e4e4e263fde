"""Found on the LAN: the daemon's mDNS announcement resolved by zeroconf, on loopback only (no
packet leaves this machine), through the same code `pi-dashboard scan --lan` uses."""

from __future__ import annotations

import asyncio
import sys

from pi_dashboard import __version__
from pi_dashboard.integrations.mdns import browse

CONFIG = """
[server]
port = 8123

[mdns]
enabled = true
name = "Greenhouse dashboard"
interfaces = ["127.0.0.1"]

[mqtt]
host = "127.0.0.1"
port = 1
node = "greenhouse"

[[sensors]]
id = "d"
type = "demo"
"""


async def test_the_announced_dashboard_is_resolved(start_server):
    server = await start_server(CONFIG)
    found = await browse(2.0, interfaces=["127.0.0.1"])
    ours = [f for f in found if f.name == "Greenhouse dashboard"]
    assert ours, found
    (f,) = ours
    assert f.url == "http://127.0.0.1:8123/"
    assert f.node == "greenhouse"
    assert f.version == __version__
    # `pi-dashboard scan --lan` lists it (a subprocess, as a user runs it)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pi_dashboard", "scan", "--lan", "--interface", "127.0.0.1",
        "--timeout", "2", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    line = next(x for x in out.decode().splitlines() if "Greenhouse dashboard" in x)
    assert "http://127.0.0.1:8123/" in line
    assert "greenhouse" in line
    await server.close()  # the goodbye: a later scan does not list it
    again = await browse(1.5, interfaces=["127.0.0.1"])
    assert not [f for f in again if f.name == "Greenhouse dashboard"]


async def test_mock_mode_announces_nothing_unless_asked(start_server):
    server = await start_server(
        '[mdns]\ninterfaces = ["127.0.0.1"]\n[[sensors]]\nid = "d"\ntype = "demo"\n'
    )
    assert await browse(1.0, interfaces=["127.0.0.1"]) == []
    await server.close()
