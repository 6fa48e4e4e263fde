"""Every config in docs/examples/ validates and runs in mock mode: the docs cannot rot."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from pi_dashboard.demo import load

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "docs" / "examples").glob("*.toml"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
async def test_example_runs_in_mock_mode(path: Path, start_server):
    load(path)
    text = path.read_text()  # noqa: ASYNC240 - a small file in a test
    server = await start_server(text)
    deadline = time.monotonic() + 15
    async with aiohttp.ClientSession() as http:
        while True:
            async with http.get(server.make_url("/api/sensors")) as resp:
                sensors = await resp.json()
            hardware = [s for s in sensors if s["type"] != "command"]
            if all(s["status"] == "ok" for s in hardware):
                break
            assert time.monotonic() < deadline, [
                (s["id"], s["status"], s.get("error")) for s in hardware if s["status"] != "ok"
            ]
            await asyncio.sleep(0.2)
    for s in hardware:
        assert any(c["value"] is not None for c in s["channels"]), s["id"]
