"""Security headers on every answer (page, API, errors, login, Socket.IO), and CORS for /api only
for the origins `[server] cors_origins` lists."""

from __future__ import annotations

import aiohttp

from pi_dashboard.web.policy import HEADERS

SENSOR = '[[sensors]]\nid = "d"\ntype = "demo"\ninterval = 0.2\n'
GRAFANA = "https://grafana.home.lan"


async def test_security_headers_on_every_response(start_server):
    server = await start_server(SENSOR)
    csp = HEADERS["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    cases = [
        ("GET", "/", {}, 200),
        ("GET", "/api/sensors", {}, 200),
        ("GET", "/api/nope", {}, 404),
        ("POST", "/api/sensors", {}, 405),
        ("GET", "/login", {}, 302),  # login is off: back to the page
        ("GET", "/auth/session", {}, 200),
        ("GET", "/api/sensors", {"Host": "evil.example"}, 421),
        ("GET", "/socket.io/?EIO=4&transport=polling", {}, 200),
        ("GET", "/socket.io/?EIO=4&transport=polling", {"Origin": "http://evil.example"}, 400),
    ]
    async with aiohttp.ClientSession() as http:
        for method, path, headers, status in cases:
            url = server.make_url(path)
            async with http.request(method, url, headers=headers, allow_redirects=False) as r:
                assert r.status == status, (method, path)
                for name, value in HEADERS.items():
                    assert r.headers.get(name) == value, (path, name)
                assert "Access-Control-Allow-Origin" not in r.headers


async def test_cors_only_for_listed_origins_and_only_api(start_server):
    server = await start_server(f'[server]\ncors_origins = ["{GRAFANA}"]\n{SENSOR}')
    async with aiohttp.ClientSession() as http:
        api = server.make_url("/api/sensors")
        async with http.get(api, headers={"Origin": GRAFANA}) as r:
            assert r.status == 200
            assert r.headers["Access-Control-Allow-Origin"] == GRAFANA
            assert "Access-Control-Allow-Credentials" not in r.headers
        async with http.get(api, headers={"Origin": "https://evil.example"}) as r:
            assert "Access-Control-Allow-Origin" not in r.headers
        async with http.options(
            api, headers={"Origin": GRAFANA, "Access-Control-Request-Method": "GET"}
        ) as r:
            assert r.status == 204
            assert r.headers["Access-Control-Allow-Headers"] == "Authorization"
            assert r.headers["Access-Control-Allow-Methods"] == "GET, HEAD"
        async with http.options(api, headers={"Origin": "https://evil.example"}) as r:
            assert r.status == 403
            assert (await r.json())["error"].startswith("origin not allowed")
        async with http.get(server.make_url("/"), headers={"Origin": GRAFANA}) as r:
            assert "Access-Control-Allow-Origin" not in r.headers  # the page: never
