"""`[server.auth]` on a real server: every way in refused without a session or token, accepted
with one; login limited per address; a revoked token, a logout and an expired session end at
once, open sockets included (docs/security.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
import socketio
from aiohttp.test_utils import TestServer
from waiting import until

from pi_dashboard.app import create_app
from pi_dashboard.history.service import History, HistoryOptions
from pi_dashboard.sensors.registry import TYPES
from pi_dashboard.sim.world import SimWorld
from pi_dashboard.web.auth import AUTH, COOKIE
from pi_dashboard.web.auth import MAX_PENDING_LOGINS as MAX
from pi_dashboard.web.credentials import CredentialFile
from pi_dashboard.web.sessions import GRACE_S, ROTATE_S

PASSWORD = "correct horse battery"
SENSORS = '[[sensors]]\nid = "d"\ntype = "demo"\ninterval = 0.2\n'
PROTECTED = [
    "/api/sensors",
    "/api/sensors/d",
    "/api/health",
    "/api/alerts",
    "/api/openapi.json",
    "/api/history?sensor=d&channel=temperature&from=0",
    "/api/history.csv?from=0",
    "/api/history/backup",
    "/metrics",
    "/api/mock/faults",
    "/no-such-page",
]

Start = Callable[..., Awaitable[TestServer]]


@pytest.fixture
def creds(tmp_path: Path) -> CredentialFile:
    f = CredentialFile(tmp_path / "data")
    f.set_password(PASSWORD)
    return f


@pytest.fixture
def start(aiohttp_server, world: SimWorld, make_config, creds, tmp_path) -> Start:
    """`[server.auth]` keys (TOML lines) -> a running server with history and metrics on."""

    async def run(auth_toml: str = "", server_toml: str = "") -> TestServer:
        config = make_config(
            f"[server]\n{server_toml}\n[server.auth]\nenabled = true\n{auth_toml}\n"
            f"[metrics]\nenabled = true\n{SENSORS}"
        )
        world.populate(config, TYPES)
        history = History(HistoryOptions(path=tmp_path / "h.sqlite3", flush_interval=0.2))
        app = create_app(config, world=world, history=history, credentials=creds)
        return await aiohttp_server(app)

    return run


async def login(server: TestServer, password: str = PASSWORD) -> aiohttp.ClientResponse:
    async with (
        aiohttp.ClientSession() as http,
        http.post(server.make_url("/auth/login"), json={"password": password}) as r,
    ):
        await r.read()
        return r


async def session_cookie(server: TestServer) -> str:
    r = await login(server)
    assert r.status == 200, await r.text()
    return r.cookies[COOKIE].value


async def statuses(server: TestServer, headers: dict[str, str]) -> dict[str, int]:
    out = {}
    async with aiohttp.ClientSession() as http:
        for path in PROTECTED:
            async with http.get(server.make_url(path), headers=headers) as r:
                body = await r.read()
                out[path] = r.status
                if r.status == 401:
                    assert r.content_type == "application/json", path
                    assert b'"error"' in body, path
    return out


async def connect(server: TestServer, **kwargs) -> tuple[socketio.AsyncClient, list[dict]]:
    """A client that got past the handshake; the snapshots it receives."""
    if "headers" in kwargs:
        kwargs["headers"] = dict(kwargs["headers"])  # python-engineio takes the Cookie out
    client = socketio.AsyncClient(reconnection=False)
    snapshots: list[dict] = []
    client.on("snapshot", snapshots.append)
    await client.connect(
        str(server.make_url("/")), transports=["websocket"], wait_timeout=5, **kwargs
    )
    return client, snapshots


async def refused(server: TestServer, **kwargs) -> str:
    """The handshake fails; the message of its `connect_error`."""
    client = socketio.AsyncClient(reconnection=False)
    errors: list[object] = []
    client.on("connect_error", errors.append)
    if "headers" in kwargs:
        kwargs["headers"] = dict(kwargs["headers"])
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            str(server.make_url("/")), transports=["websocket"], wait_timeout=5, **kwargs
        )
    await client.disconnect()
    return str(errors)


async def test_nothing_without_a_session_or_token(start):
    server = await start()
    got = await statuses(server, {})
    assert got == dict.fromkeys(PROTECTED, 401)
    async with aiohttp.ClientSession() as http:
        page = server.make_url("/")
        async with http.get(page, headers={"Accept": "text/html"}, allow_redirects=False) as r:
            assert r.status == 302
            assert r.headers["Location"] == "login"
        async with http.get(server.make_url("/login")) as r:  # the login page is public
            assert r.status == 200
            assert "password" in await r.text()
        async with http.get(server.make_url("/auth/session")) as r:
            assert await r.json() == {
                "title": "pi-dashboard", "auth": True, "via": None, "password_set": True
            }  # fmt: skip
    assert "login required" in await refused(server)
    assert "invalid or revoked token" in await refused(server, auth={"token": "pid_nope"})


async def test_a_token_opens_everything(start, creds):
    token = creds.create_token("prometheus")
    server = await start()
    got = await statuses(server, {"Authorization": f"Bearer {token}"})
    assert got.pop("/no-such-page") == 404
    assert got.pop("/api/mock/faults") == 200  # the simulator exists: this is mock mode
    assert set(got.values()) == {200}
    for kwargs in ({"headers": {"Authorization": f"Bearer {token}"}}, {"auth": {"token": token}}):
        client, snapshots = await connect(server, **kwargs)
        await until(lambda s=snapshots: s)
        await client.disconnect()
    bad = await statuses(server, {"Authorization": f"Bearer {token}x"})
    assert set(bad.values()) == {401}
    await until(lambda: "prometheus" in server.app[AUTH].used)


async def test_a_session_opens_everything(start):
    server = await start()
    r = await login(server)
    assert r.status == 200
    cookie = r.cookies[COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert not cookie["secure"]  # plain HTTP here; tests/integration/test_tls.py has Secure
    assert 0 < int(cookie["max-age"]) <= 7 * 86400
    got = await statuses(server, {"Cookie": f"{COOKIE}={cookie.value}"})
    assert got.pop("/no-such-page") == 404
    assert set(got.values()) == {200}
    proxied = {"Cookie": f"{COOKIE}={cookie.value}", "Authorization": "Basic cHJveHk6cHc="}
    assert (await statuses(server, proxied))["/api/sensors"] == 200  # a proxy's own login
    client, snapshots = await connect(server, headers={"Cookie": f"{COOKIE}={cookie.value}"})
    await until(lambda: snapshots)
    await client.disconnect()
    async with aiohttp.ClientSession() as http:
        url = server.make_url("/")
        async with http.get(url, headers={"Cookie": f"{COOKIE}={cookie.value}"}) as r:
            assert r.status == 200


async def test_wrong_origin_handshake_refused(start):
    server = await start()
    cookie = await session_cookie(server)
    own = {"Cookie": f"{COOKIE}={cookie}", "Origin": f"http://{server.host}:{server.port}"}
    client, snapshots = await connect(server, headers=own)
    await until(lambda: snapshots)
    await client.disconnect()
    evil = {**own, "Origin": "http://evil.example"}
    await refused(server, headers=evil)
    async with aiohttp.ClientSession() as http:
        url = server.make_url("/socket.io/?EIO=4&transport=polling")
        async with http.get(url, headers=evil) as r:
            assert r.status == 400
        async with http.post(
            server.make_url("/auth/login"), json={"password": PASSWORD}, headers=evil
        ) as r:
            assert r.status == 403  # nor can another site log a browser in (or out)


async def test_login_rate_limited_after_n_failures(start):
    server = await start("login_failures = 3\nlogin_lockout = 600")
    for _ in range(3):
        r = await login(server, "wrong password")
        assert r.status == 401
    async with (
        aiohttp.ClientSession() as http,
        http.post(server.make_url("/auth/login"), json={"password": "x"}) as r,
    ):
        assert r.status == 429
        body = await r.json()
        assert body["error"].startswith("too many failed logins: try again in ")
        assert 500 <= int(r.headers["Retry-After"]) <= 600
    r = await login(server)  # even the right password waits
    assert r.status == 429


async def test_parallel_guesses_are_limited_too(start):
    server = await start("login_failures = 3\nlogin_lockout = 600")
    got = await asyncio.gather(*(login(server, f"guess {i}") for i in range(12)))
    assert sorted(r.status for r in got) == [401] * 3 + [429] * 9
    assert server.app[AUTH].pending == 0  # at most MAX_PENDING_LOGINS waited meanwhile


async def test_logins_waiting_at_once_are_limited(start):
    server = await start("login_failures = 100")
    auth = server.app[AUTH]
    async with auth.verifying:  # hold the one scrypt: every login waits
        tasks = [asyncio.create_task(login(server, f"guess {i}")) for i in range(MAX + 4)]
        await until(lambda: auth.pending == MAX and sum(t.done() for t in tasks) == 4)
    got = [r.status for r in await asyncio.gather(*tasks)]
    assert sorted(got) == [401] * MAX + [429] * 4
    assert auth.pending == 0


async def test_revoked_token_stops_working_at_once(start, creds, cli):
    token = creds.create_token("script")
    kept = creds.create_token("grafana")
    server = await start()
    bearer = {"Authorization": f"Bearer {token}"}
    client, snapshots = await connect(server, headers=bearer)
    other, _ = await connect(server, headers={"Authorization": f"Bearer {kept}"})
    await until(lambda: snapshots)
    result = cli("token", "revoke", "script", "--data-dir", str(creds.directory))
    assert result.returncode == 0, result.stderr
    got = await statuses(server, bearer)
    assert set(got.values()) == {401}
    await until(lambda: not client.connected, what="the revoked token's socket closed")
    assert other.connected
    assert "invalid or revoked token" in await refused(server, headers=bearer)
    await other.disconnect()


async def test_logout_ends_the_session_and_its_socket(start):
    server = await start()
    cookie = await session_cookie(server)
    jar = {"Cookie": f"{COOKIE}={cookie}"}
    client, snapshots = await connect(server, headers=jar)
    await until(lambda: snapshots)
    async with aiohttp.ClientSession() as http:
        logout = server.make_url("/auth/logout")
        async with http.post(logout, headers=jar) as r:
            assert r.status == 200
            assert r.cookies[COOKIE].value == ""
    await until(lambda: not client.connected, what="the session's socket closed")
    assert set((await statuses(server, jar)).values()) == {401}


async def test_a_new_password_ends_every_session(start, creds):
    server = await start()
    jar = {"Cookie": f"{COOKIE}={await session_cookie(server)}"}
    client, snapshots = await connect(server, headers=jar)
    await until(lambda: snapshots)
    creds.set_password("another good password")  # as `pi-dashboard set-password` does
    assert set((await statuses(server, jar)).values()) == {401}
    await until(lambda: not client.connected, what="the old session's socket closed")
    assert (await login(server)).status == 401
    assert (await login(server, "another good password")).status == 200


async def test_session_expires(start):
    server = await start("session_lifetime = 3600")
    now = [1000.0]
    server.app[AUTH].sessions.clock = lambda: now[0]  # the session's clock, no waiting
    cookie = await session_cookie(server)
    jar = {"Cookie": f"{COOKIE}={cookie}"}
    client, snapshots = await connect(server, headers=jar)
    await until(lambda: snapshots)
    now[0] += 3599
    assert (await statuses(server, jar))["/api/sensors"] == 200
    now[0] += 1
    assert set((await statuses(server, jar)).values()) == {401}
    await until(lambda: not client.connected, what="the expired session's socket closed")
    assert "login required" in await refused(server, headers=jar)


async def test_the_session_cookie_rotates(start):
    server = await start()
    now = [1000.0]
    server.app[AUTH].sessions.clock = lambda: now[0]
    old = await session_cookie(server)
    now[0] += ROTATE_S
    async with aiohttp.ClientSession() as http:
        url = server.make_url("/api/sensors")
        async with http.get(url, headers={"Cookie": f"{COOKIE}={old}"}) as r:
            assert r.status == 200
            new = r.cookies[COOKIE]
    assert new.value != old
    assert new["httponly"] is True
    assert new["samesite"] == "Strict"
    assert (await statuses(server, {"Cookie": f"{COOKIE}={new.value}"}))["/api/sensors"] == 200
    now[0] += GRACE_S
    assert (await statuses(server, {"Cookie": f"{COOKIE}={old}"}))["/api/sensors"] == 401


async def test_trusted_network_needs_no_login(start):
    server = await start('trusted_networks = ["127.0.0.0/8"]')
    got = await statuses(server, {})
    assert got.pop("/no-such-page") == 404
    assert set(got.values()) == {200}
    client, snapshots = await connect(server)
    await until(lambda: snapshots)
    await client.disconnect()


async def test_login_takes_json_only(start):
    server = await start()
    async with aiohttp.ClientSession() as http:
        url = server.make_url("/auth/login")
        async with http.post(url, data={"password": PASSWORD}) as r:  # a cross-site form's shape
            assert r.status == 415
        async with http.post(url, json={"pass": PASSWORD}) as r:
            assert r.status == 400


async def test_no_password_set_says_how(aiohttp_server, world, make_config, tmp_path):
    config = make_config(f"[server.auth]\nenabled = true\n{SENSORS}")
    world.populate(config, TYPES)
    app = create_app(config, world=world, credentials=CredentialFile(tmp_path / "empty"))
    server = await aiohttp_server(app)
    r = await login(server)
    assert r.status == 503
    async with (
        aiohttp.ClientSession() as http,
        http.post(server.make_url("/auth/login"), json={"password": "x"}) as r,
    ):
        assert "pi-dashboard set-password" in (await r.json())["error"]


@pytest.mark.parametrize("public", [False, True])
async def test_the_page_public_or_not(start, creds, public):
    server = await start(f"public_page = {str(public).lower()}")
    async with aiohttp.ClientSession() as http:

        async def status(path: str) -> int:
            url = server.make_url(path)
            async with http.get(url, headers={"Accept": "text/html"}, allow_redirects=False) as r:
                return r.status

        assert await status("/") == (200 if public else 302)
        assert await status("/static/js/main.js") == (200 if public else 401)
        for login_file in ("/login", "/static/js/login.js", "/static/css/login.css"):
            assert await status(login_file) == 200
        for no_data in ("/manifest.webmanifest", "/static/icons/icon-192.png"):
            assert await status(no_data) == 200  # fetched without cookies by the browser
        assert await status("/static/css/app.css") == 200  # the login page wears it too
        assert await status("/api/sensors") == 401  # the values: never without a login
        if public:  # the page is served, without the values it carries for a visitor let in
            async with http.get(server.make_url("/")) as r:
                assert '<script type="application/json" id="snapshot"></script>' in await r.text()
            token = {"Authorization": f"Bearer {creds.create_token('kiosk')}"}
            async with http.get(server.make_url("/"), headers=token) as r:
                assert '"sensors":[{"id":"d"' in await r.text()


async def test_a_broken_credentials_file_keeps_the_previous_ones(start, creds):
    token = creds.create_token("script")
    server = await start()
    bearer = {"Authorization": f"Bearer {token}"}
    creds.path.write_text("{half written")  # by hand, say: one warning, nothing lost
    assert (await statuses(server, bearer))["/api/sensors"] == 200
    assert (await login(server)).status == 200


PROXIED = 'trusted_proxies = ["127.0.0.1/32"]'


async def test_behind_a_trusted_proxy_the_forwarded_client_is_who_logs_in(start):
    """Each client behind the proxy has its own login limit; a client's own spoofed entries (to
    the left of what the proxy appended) change nothing."""
    server = await start("login_failures = 2\nlogin_lockout = 600", PROXIED)

    async def guess(client: str, password: str = "wrong password") -> int:
        headers = {"X-Forwarded-For": client}
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                server.make_url("/auth/login"), json={"password": password}, headers=headers
            ) as r,
        ):
            return r.status

    assert [await guess("198.51.100.7") for _ in range(3)] == [401, 401, 429]
    assert await guess("10.0.0.1, 198.51.100.7") == 429  # a spoofed first hop is ignored
    assert await guess("198.51.100.8", PASSWORD) == 200  # another client is not locked out
    assert await guess("198.51.100.7", PASSWORD) == 429


async def test_trusted_networks_see_the_forwarded_client(start):
    server = await start('trusted_networks = ["192.168.1.0/24"]', PROXIED)
    home = {"X-Forwarded-For": "192.168.1.20"}
    assert set((await statuses(server, home)).values()) == {200, 404}
    assert set((await statuses(server, {"X-Forwarded-For": "203.0.113.9"})).values()) == {401}
    assert set((await statuses(server, {})).values()) == {401}  # the proxy itself is not trusted
    client, snapshots = await connect(server, headers=home)
    await until(lambda: snapshots)
    await client.disconnect()
    assert "login" in await refused(server, headers={"X-Forwarded-For": "203.0.113.9"})


async def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(start):
    server = await start('trusted_networks = ["192.168.1.0/24"]')
    assert set((await statuses(server, {"X-Forwarded-For": "192.168.1.20"})).values()) == {401}


async def test_a_malformed_forwarded_for_from_the_proxy_is_a_400(start):
    server = await start("", PROXIED)
    async with (
        aiohttp.ClientSession() as http,
        http.get(server.make_url("/api/sensors"), headers={"X-Forwarded-For": "x, 1.2.3.4"}) as r,
    ):
        assert r.status == 400
        assert (await r.json())["error"] == (
            "bad X-Forwarded-For from a trusted proxy: 'x' is not an IP address"
        )
