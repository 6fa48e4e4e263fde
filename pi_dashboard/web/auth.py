"""Optional login and API tokens (`[server.auth]`, docs/security.md); off by default.

With auth on, every request must come from a trusted network, carry `Authorization: Bearer
<token>`, or a session cookie from `/auth/login`; otherwise `/api/*`, `/metrics` and anything not
listed as public get 401 JSON, and the page redirects to `/login`. The Socket.IO handshake is
checked in the namespace's connect handler (web/live.py), so a refused client gets a
`connect_error` it can show ("login required"). A logout, a revoked token or an expired session
also closes the sockets opened with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookies import Morsel
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from pi_dashboard.config import AuthConfig
from pi_dashboard.errors import PiDashboardError
from pi_dashboard.web.keys import CONFIG, SIO, STATIC_DIR
from pi_dashboard.web.networks import Networks
from pi_dashboard.web.routes import Handler, Middleware, json_error, json_response

if TYPE_CHECKING:  # imported by Auth, made only with login on: nothing of it loads when it is off
    from pi_dashboard.web.credentials import CredentialFile

log = logging.getLogger(__name__)

COOKIE = "pi_dashboard_session"
SWEEP_S = 2.0
"""How often expired sessions and revoked tokens close their sockets (requests check at once)."""
USED_FLUSH_S = 60.0
"""Tokens' last-used times reach the SD card at most this often."""
MAX_PASSWORD_BYTES = 1024
MAX_PENDING_LOGINS = 8
"""Logins checked or waiting for the one scrypt at a time; more at once get 429 at once."""
PUBLIC_PATHS = frozenset(
    {"/login", "/auth/login", "/auth/logout", "/auth/session", "/manifest.webmanifest"}
)
"""The manifest too: browsers fetch it (and its icons) without cookies; it holds the title."""
LOGIN_ASSETS = frozenset(
    {"login.html", "js/login.js", "css/login.css", "css/app.css", "vendor/uPlot.min.css"}
)
"""Files under /static/ the login page needs: public even when the page is not (icons/ too)."""
RELEASE_RE = re.compile(r"^v/[0-9a-f]{12}/")
"""`/static/v/<release>/...`: the page's own URLs for the same files (web/routes.py)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request is: `via` is "session", "token" or "trusted" (network)."""

    via: str
    name: str = ""
    """The session's key or the token's name: what its sockets are filed under."""


PRINCIPAL = web.RequestKey("principal", Principal)
"""Who the request is (set by the middleware; absent when nobody)."""


class Auth:
    """The credentials file, the sessions, the login limit, and which socket came in how."""

    def __init__(
        self,
        cfg: AuthConfig,
        file: CredentialFile | None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from pi_dashboard.web.credentials import Credentials
        from pi_dashboard.web.sessions import LoginLimiter, Sessions

        self.cfg = cfg
        self.file = file
        self.sessions = Sessions(cfg.session_lifetime, cfg.max_sessions, clock)
        self.limiter = LoginLimiter(cfg.login_failures, cfg.login_lockout, cfg.max_addresses, clock)
        self.networks = Networks(cfg.trusted_networks)
        self.creds = Credentials()
        self._stamp: tuple[int, int] | None = None
        self._tokens: dict[str, str] = {}
        """token hash -> name."""
        self.used: dict[str, float] = {}
        """token name -> last use (epoch seconds), not yet written."""
        self.sockets: dict[str, Principal] = {}
        """Socket.IO sid -> how it was let in."""
        self.disconnect: Callable[[str], Awaitable[None]] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.verifying = asyncio.Semaphore(1)
        """One scrypt at a time: 16 MiB each, and a Pi Zero has one core to spare."""
        self.hasher = ThreadPoolExecutor(1, thread_name_prefix="scrypt")
        """Its own thread, so at most one 16 MiB block is in use at any time."""
        release_large_blocks()
        self.pending = 0
        self.refresh()

    # --- credentials ---------------------------------------------------------------------

    def refresh(self) -> list[str]:
        """Re-read auth.json if it changed (one stat); the names of tokens gone since."""
        if self.file is None:
            return []
        stamp = self.file.stamp()
        if stamp == self._stamp:
            return []
        self._stamp = stamp  # a broken file is read again once it changes, not per request
        try:
            creds = self.file.load()
        except PiDashboardError as e:
            log.warning("%s: keeping the previous credentials", e)
            return []
        old_password, old_tokens = self.creds.password, self._tokens
        self.creds = creds
        self._tokens = {t.hash: t.name for t in creds.tokens}
        if old_password is not None and creds.password != old_password:
            ended = self.sessions.end_all()
            log.info("password changed: %d sessions ended", len(ended))
            self._close(lambda p: p.via == "session")
        gone = sorted({name for h, name in old_tokens.items() if h not in self._tokens})
        if gone:
            log.info("token revoked: %s", ", ".join(gone))
            self._close(lambda p: p.via == "token" and p.name in gone)
        return gone

    @property
    def password_set(self) -> bool:
        return self.creds.password is not None

    # --- who is asking ---------------------------------------------------------------------

    def trusted(self, address: str | None) -> bool:
        return self.networks.contain(address)

    def token(self, token: str) -> Principal | None:
        from pi_dashboard.web.credentials import hash_token

        name = self._tokens.get(hash_token(token))
        if name is None:
            return None
        self.used[name] = time.time()
        return Principal("token", name)

    def identify(
        self, remote: str | None, authorization: str | None, cookie: str | None
    ) -> tuple[Principal | None, str | None]:
        """(who, a rotated cookie value to send back) for one request or handshake."""
        self.refresh()
        token = bearer(authorization)
        if token is not None:
            return self.token(token), None
        if cookie:
            session, rotated = self.sessions.find(cookie)
            if self.sessions.lapsed:
                self.sweep()
            if session is not None:
                return Principal("session", session.key), rotated
        if self.trusted(remote):
            return Principal("trusted"), None
        return None, None

    # --- sockets ---------------------------------------------------------------------------

    def admit_socket(self, sid: str, environ: dict[str, Any], auth: object) -> str | None:
        """The Socket.IO connect check: None to let it in, else why not (its connect_error)."""
        request: web.Request | None = environ.get("aiohttp.request")
        if request is None:
            return "login required"
        authorization = request.headers.get("Authorization")
        if isinstance(auth, dict) and isinstance(auth.get("token"), str):
            authorization = f"Bearer {auth['token']}"
        who, _ = self.identify(request.remote, authorization, request.cookies.get(COOKIE))
        if who is None:
            return "login required" if bearer(authorization) is None else "invalid or revoked token"
        self.sockets[sid] = who
        return None

    def socket_gone(self, sid: str) -> None:
        self.sockets.pop(sid, None)

    def _close(self, which: Callable[[Principal], bool]) -> None:
        sids = [sid for sid, p in self.sockets.items() if which(p)]
        for sid in sids:
            self.sockets.pop(sid, None)
            if self.disconnect is not None:
                task = asyncio.ensure_future(self.disconnect(sid))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def sweep(self) -> None:
        """End expired sessions (closing their sockets) and notice a revoked token."""
        self.refresh()
        ended = set(self.sessions.expired())
        if ended:
            self._close(lambda p: p.via == "session" and p.name in ended)

    def take_used(self) -> dict[str, float]:
        """Tokens used since the last call, and when (on the event loop: no lock needed)."""
        pending, self.used = self.used, {}
        return pending

    def write_used(self, pending: dict[str, float]) -> None:
        """Add `take_used()`'s times to auth-used.json (blocking: call it in an executor)."""
        if self.file is None or not pending:
            return
        merged = {**self.file.last_used(), **pending}
        try:
            self.file.save_used(merged)
        except PiDashboardError as e:
            log.warning("%s", e)

    # --- login and logout ----------------------------------------------------------------

    async def login(self, remote: str | None, password: str) -> tuple[int, str, int]:
        """(HTTP status, message, seconds to wait); 200 means the password is right."""
        self.refresh()
        if self.creds.password is None:
            return 503, "no password is set: run `pi-dashboard set-password` on the Pi", 0
        if self.pending >= MAX_PENDING_LOGINS:
            return 429, "too many logins at once: try again in 1 s", 1
        self.pending += 1
        try:
            return await self._verify(remote, password, self.creds.password)
        finally:
            self.pending -= 1

    async def _verify(self, remote: str | None, password: str, stored: str) -> tuple[int, str, int]:
        async with self.verifying:  # the limit checked inside: parallel guesses queue, then wait
            wait = self.limiter.retry_after(remote)
            if wait > 0:
                seconds = max(1, round(wait))
                return 429, f"too many failed logins: try again in {seconds} s", seconds
            from pi_dashboard.web.credentials import verify_password

            loop = asyncio.get_running_loop()
            ok = await loop.run_in_executor(self.hasher, verify_password, password, stored)
            if not ok:
                self.limiter.failed(remote)
                log.warning("failed login from %s", remote or "?")
                return 401, "wrong password", 0
        self.limiter.succeeded(remote)
        return 200, "ok", 0

    def logout(self, key: str) -> None:
        if self.sessions.end(key) is not None:
            self._close(lambda p: p.via == "session" and p.name == key)


LARGE_BLOCK = 4 << 20
M_MMAP_THRESHOLD = -3


def release_large_blocks() -> None:
    """Blocks of 4 MiB and more go back to the system when freed. glibc's mmap threshold
    otherwise grows to the largest block freed (scrypt's 16 MiB), and the next ones stay in the
    heap for good: measured, RSS +16 MiB after the second login, +33 MiB when logins ran in two
    of the shared executor's threads; with this, +0 (tests/abuse/test_logins.py)."""
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK)
    except (OSError, AttributeError):  # not glibc (musl, macOS): its own policy applies
        pass


def bearer(authorization: str | None) -> str | None:
    """The token of `Authorization: Bearer <token>`; another scheme (a proxy's Basic) is not
    ours, and leaves the cookie or the address to decide."""
    if authorization is None:
        return None
    scheme, _, value = authorization.partition(" ")
    return (value.strip() or None) if scheme.lower() == "bearer" else None


AUTH = web.AppKey("auth", Auth)


def may_see_values(request: web.Request) -> bool:
    """Whether the page may carry the values: always with login off; with it on, only for a
    request that got in (`public_page` serves the page's files to anyone, not its values)."""
    return AUTH not in request.app or request.get(PRINCIPAL) is not None


def _public(path: str, public_page: bool) -> bool:
    """Socket.IO is checked at its CONNECT (web/live.py), where a refusal has a message."""
    if path in PUBLIC_PATHS or path.startswith("/socket.io/"):
        return True
    if path.startswith("/static/"):
        name = RELEASE_RE.sub("", path.removeprefix("/static/"))
        return public_page or name in LOGIN_ASSETS or name.startswith("icons/")
    return public_page and path == "/"


def _is_page(request: web.Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("Accept", "")


def auth_middleware(auth: Auth) -> Middleware:
    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        who, rotated = auth.identify(
            request.remote, request.headers.get("Authorization"), request.cookies.get(COOKIE)
        )
        path = request.path
        if who is None and not _public(path, auth.cfg.public_page):
            if path == "/" and _is_page(request):
                raise web.HTTPFound("login")
            if bearer(request.headers.get("Authorization")) is not None:
                return _unauthorized("invalid or revoked token")
            return _unauthorized("login required: log in at /login, or send a token")
        if who is not None:
            request[PRINCIPAL] = who
        resp = await handler(request)
        if rotated is not None:
            _set_cookie(resp, request, rotated, auth.cfg.session_lifetime)
        return resp

    return check


def _unauthorized(message: str) -> web.Response:
    resp = json_error(401, message)
    resp.headers["WWW-Authenticate"] = 'Bearer realm="pi-dashboard"'
    return resp


def _set_cookie(resp: web.StreamResponse, request: web.Request, value: str, age: float) -> None:
    resp.set_cookie(
        COOKIE, value, max_age=int(age), path="/", httponly=True, samesite="Strict",
        secure=request.secure,
    )  # fmt: skip
    resp.headers["Cache-Control"] = "no-store"


def _same_origin(request: web.Request) -> bool:
    """A browser's POST says where its page came from; a script's may say nothing."""
    origin = request.headers.get("Origin")
    return origin is None or request.app[SIO].hosts.same_origin(origin, request.host)


async def login_page(request: web.Request) -> web.StreamResponse:
    if AUTH not in request.app:
        raise web.HTTPFound("./")
    return web.FileResponse(
        request.app[STATIC_DIR] / "login.html", headers={"Cache-Control": "no-cache"}
    )


async def login(request: web.Request) -> web.StreamResponse:
    """`POST /auth/login` `{"password": "..."}`: JSON only, so a cross-site form cannot post it
    without a CORS preflight, which this server never grants."""
    auth = request.app.get(AUTH)
    if auth is None:
        return json_error(404, "login is off ([server.auth] enabled = true turns it on)")
    if not _same_origin(request):
        return json_error(403, "cross-site login refused")
    if request.content_type != "application/json":
        return json_error(415, 'send {"password": "..."} as application/json')
    if (request.content_length or 0) > MAX_PASSWORD_BYTES + 64:
        return json_error(413, "the body is too large for a password")
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return json_error(400, "the body is not JSON")
    password = body.get("password") if isinstance(body, dict) else None
    if not isinstance(password, str) or not password:
        return json_error(400, 'the body must be {"password": "..."}')
    status, message, wait = await auth.login(request.remote, password)
    if status != 200:
        resp = json_error(status, message)
        if wait:
            resp.headers["Retry-After"] = str(wait)
        return resp
    old = request.get(PRINCIPAL)
    if old is not None and old.via == "session":
        auth.logout(old.name)  # a new value at every login: a planted cookie is worth nothing
    raw, _ = auth.sessions.create()
    log.info("login from %s (%d sessions)", request.remote or "?", len(auth.sessions))
    resp = json_response({"ok": True, "expires_in": auth.cfg.session_lifetime})
    _set_cookie(resp, request, raw, auth.cfg.session_lifetime)
    return resp


async def logout(request: web.Request) -> web.StreamResponse:
    auth = request.app.get(AUTH)
    if auth is None:
        return json_error(404, "login is off")
    if not _same_origin(request):
        return json_error(403, "cross-site logout refused")
    who = request.get(PRINCIPAL)
    if who is not None and who.via == "session":
        auth.logout(who.name)
    resp = json_response({"ok": True})
    resp.del_cookie(COOKIE, path="/")
    morsel: Morsel[str] | None = resp.cookies.get(COOKIE)
    if morsel is not None:
        morsel["samesite"] = "Strict"
        morsel["httponly"] = True
    resp.headers["Cache-Control"] = "no-store"
    return resp


async def session_info(request: web.Request) -> web.Response:
    """`GET /auth/session`: whether login is on, and how this request is let in (public; the
    title too, which mDNS announces anyway, for the login page)."""
    auth = request.app.get(AUTH)
    who = request.get(PRINCIPAL)
    return json_response(
        {
            "title": request.app[CONFIG].server.title,
            "auth": auth is not None,
            "via": who.via if who is not None else None,
            "password_set": auth.password_set if auth is not None else None,
        }
    )


def setup_auth(app: web.Application, auth: Auth | None) -> None:
    """The login routes always (they say when login is off); the rest only with auth on."""
    app.router.add_get("/login", login_page)
    app.router.add_post("/auth/login", login)
    app.router.add_post("/auth/logout", logout)
    app.router.add_get("/auth/session", session_info)
    if auth is None:
        return
    app[AUTH] = auth

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        sio = app[SIO]

        async def disconnect(sid: str) -> None:
            with contextlib.suppress(Exception):
                await sio.disconnect(sid)

        auth.disconnect = disconnect
        loop = asyncio.get_running_loop()
        task = asyncio.create_task(_sweeper(auth), name="auth-sweep")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await loop.run_in_executor(None, auth.write_used, auth.take_used())
        auth.hasher.shutdown(wait=False)  # a scrypt in progress ends within a second

    app.cleanup_ctx.append(ctx)


async def _sweeper(auth: Auth) -> None:
    loop = asyncio.get_running_loop()
    flushed = time.monotonic()
    while True:
        await asyncio.sleep(SWEEP_S)
        try:
            auth.sweep()
            if time.monotonic() - flushed >= USED_FLUSH_S:
                flushed = time.monotonic()
                await loop.run_in_executor(None, auth.write_used, auth.take_used())
        except Exception:
            log.exception("auth sweep failed")
