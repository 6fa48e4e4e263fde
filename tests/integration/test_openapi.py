"""`/api/openapi.json` (docs/openapi.json is the same file) against the routes that exist: every
route is described, everything described exists, and each endpoint's query parameters are the
ones it accepts (it names them when refusing an unknown one)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from aiohttp import ClientSession

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
[metrics]
enabled = true

[[sensors]]
id = "d"
type = "demo"
"""
UNDESCRIBED = ("/socket.io/", "/static/")
"""Socket.IO (docs/protocol.md) and the page's files are not REST endpoints."""


def test_docs_keeps_the_served_file():
    docs = ROOT / "docs" / "openapi.json"
    served = ROOT / "pi_dashboard" / "web" / "openapi.json"
    assert docs.read_bytes() == served.read_bytes()
    assert json.loads(served.read_text())["openapi"].startswith("3.")


async def test_every_route_is_described_and_every_description_is_a_route(start_server):
    server = await start_server(CONFIG)  # mock mode: the fault routes exist too
    async with ClientSession() as s:
        resp = await s.get(server.make_url("/api/openapi.json"))
        assert resp.status == 200
        spec = await resp.json(content_type=None)
    described = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    routes = set()
    for r in server.app.router.routes():
        info = r.resource.get_info() if r.resource is not None else {}
        path = info.get("path") or info.get("formatter") or ""
        path = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", path)
        if r.method in ("HEAD", "*") or path.startswith(UNDESCRIBED):
            continue
        routes.add((r.method, path))
    assert described == routes


async def test_query_parameters_are_the_ones_each_endpoint_accepts(start_server):
    server = await start_server(CONFIG)
    spec = json.loads((ROOT / "docs" / "openapi.json").read_text())
    checked = 0
    async with ClientSession() as s:
        for path, ops in spec["paths"].items():
            get = ops.get("get")
            if get is None or "{" in path:
                continue
            documented = {p["name"] for p in get.get("parameters", []) if p["in"] == "query"}
            resp = await s.get(server.make_url(path), params={"zz_unknown": "1"})
            if not documented:
                continue  # takes none: refuses (400) or ignores it
            assert resp.status == 400, path
            message = (await resp.json())["error"]
            known = re.search(r"\(known: ([^)]*)\)", message)
            assert known, (path, message)
            assert set(known.group(1).split(", ")) == documented, path
            checked += 1
    assert checked >= 3
