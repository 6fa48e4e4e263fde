"""Every config in docs/examples/ validates and runs in mock mode: the docs cannot rot."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from waiting import until

from pi_dashboard.demo import load

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "docs" / "examples").glob("*.toml"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
async def test_example_runs_in_mock_mode(path: Path, start_server):
    load(path)
    text = path.read_text()  # noqa: ASYNC240 - a small file in a test
    server = await start_server(text)
    last: list[dict] = []

    async def all_ok() -> list[dict] | None:
        async with aiohttp.ClientSession() as http, http.get(server.make_url("/api/sensors")) as r:
            last[:] = [s for s in await r.json() if s["type"] != "command"]
        return last if all(s["status"] == "ok" for s in last) else None

    def not_ok() -> str:
        return str([(s["id"], s["status"], s.get("error")) for s in last if s["status"] != "ok"])

    hardware = await until(all_ok, limit=15, what=not_ok)
    for s in hardware:
        assert any(c["value"] is not None for c in s["channels"]), s["id"]
