"""The real JavaScript socket.io-client (node, from the npm registry) against the real server."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from waiting import until

from pi_dashboard.web.keys import STATE

ROOT = Path(__file__).resolve().parents[2]
CLIENT = Path(__file__).with_name("js") / "live_client.mjs"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules" / "socket.io-client").is_dir(),
    reason="needs node and `npm ci` (make test runs it)",
)

CONFIG = """
[[sensors]]
id = "moving"
type = "demo"
interval = 0.1

[[sensors]]
id = "quiet"
type = "demo"
interval = 0.1
deadband = 1000
"""


async def run_client(url: str, transport: str, readings: int, sensor: str) -> list:
    """live_client.mjs until it has `readings` readings of `sensor` (it fails after 30 s)."""
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(CLIENT),
        url,
        transport,
        str(readings),
        sensor,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    return json.loads(out)["events"]


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_js_client_gets_snapshot_then_changes(start_server, transport):
    server = await start_server(CONFIG)
    state = server.app[STATE]
    await until(lambda: all(s.ts is not None for s in state.sensors.values()))  # first values
    events = await run_client(str(server.make_url("/")), transport, 6, "moving")
    assert events[0][0] == "snapshot", "the snapshot must arrive first, after the CONNECT ack"
    snapshot = events[0][1]
    assert {s["id"] for s in snapshot["sensors"]} == {"moving", "quiet"}
    readings = [data for kind, data in events[1:]]
    assert {kind for kind, _ in events[1:]} == {"reading"}
    # "quiet" was polled as often as "moving" meanwhile: every change stayed in its deadband
    assert not [r for r in readings if r["sensor"] == "quiet"]
    assert all(r["status"] == "ok" and r["values"] for r in readings)
