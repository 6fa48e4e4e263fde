"""The page, the REST API and JSON errors. Documented in docs/protocol.md."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
from aiohttp import typedefs, web

from pi_dashboard import PROTOCOL_VERSION, __version__, data_dir
from pi_dashboard.model import Status
from pi_dashboard.web.history import setup_history_routes
from pi_dashboard.web.keys import (
    ALERTS,
    CLIENTS,
    CONFIG,
    HISTORY,
    MOCK,
    MQTT,
    STARTED,
    STATE,
    STATIC_DIR,
)

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'none'"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = typedefs.Middleware
"""aiohttp's own: a protocol with named parameters (`request`, `handler`)."""


def static_dir() -> Path:
    """The page: the installed package's copy (wheel), else the checkout's top-level static/."""
    return data_dir("static")


def json_response(data: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def json_error(status: int, message: str) -> web.Response:
    return json_response({"error": message}, status=status)


@web.middleware
async def errors_and_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error is JSON `{"error": "..."}`, Socket.IO's too; a bug is a 500, with a traceback
    in the log but none in the answer."""
    if request.path.startswith("/socket.io/"):
        resp = await handler(request)  # (permessage-deflate is declined in web/inbound.py)
        if resp.status >= 400 and isinstance(resp, web.Response) and resp.body is not None:
            return _as_json_error(resp)
        return resp
    try:
        resp = await handler(request)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        message = {404: "not found", 405: f"method {request.method} not allowed"}.get(
            e.status, e.reason
        )
        resp = json_error(e.status, f"{message}: {request.path}" if e.status == 404 else message)
    except Exception:
        log.exception("error answering %s %s", request.method, request.path)
        resp = json_error(500, "internal error (see the daemon's log)")
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "no-referrer")
    return resp


def _as_json_error(resp: web.Response) -> web.Response:
    """python-engineio answers errors in text (a JSON string, in fact): make it our shape."""
    if resp.content_type == "application/json":
        return resp
    body = resp.body if isinstance(resp.body, bytes) else b""
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError:
        message = body.decode(errors="replace")
    if not isinstance(message, str) or not message:
        message = resp.reason or "error"
    return json_error(resp.status, message)


def _only_params(request: web.Request, allowed: set[str]) -> None:
    unknown = sorted(set(request.query) - allowed)
    if unknown:
        hint = f" (known: {', '.join(sorted(allowed))})" if allowed else ""
        raise BadRequest(f"unknown query parameter: {unknown[0]}{hint}")


class BadRequest(Exception):
    pass


async def index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(
        request.app[STATIC_DIR] / "index.html", headers={"Cache-Control": "no-cache"}
    )


async def static_file(request: web.Request) -> web.StreamResponse:
    """Like aiohttp's add_static, but a missing file is a 404 the error middleware turns into
    JSON (aiohttp's FileResponse discovers it too late, with an empty body)."""
    root = request.app[STATIC_DIR]
    name = request.match_info["filename"]
    path = await asyncio.get_running_loop().run_in_executor(None, _static_path, root, name)
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(path)


def _static_path(root: Path, name: str) -> Path | None:
    """The regular file under `root` that `name` means, or None: nothing outside `root`, and a
    name the file system rejects (256 characters: ENAMETOOLONG) is simply not there."""
    try:
        path = (root / name).resolve()
        path.relative_to(root.resolve())
        return path if path.is_file() else None
    except (ValueError, OSError):
        return None


async def api_sensors(request: web.Request) -> web.Response:
    try:
        _only_params(request, {"status", "type"})
        wanted = request.query.get("status")
        if wanted is not None and wanted not in {s.value for s in Status}:
            raise BadRequest(f"status must be one of ok, error, pending; got {wanted!r}")
    except BadRequest as e:
        return json_error(400, str(e))
    kind = request.query.get("type")
    sensors = [
        s.to_json()
        for s in request.app[STATE].sensors.values()
        if (wanted is None or s.status.value == wanted) and (kind is None or s.type == kind)
    ]
    return json_response(sensors)


async def api_sensor(request: web.Request) -> web.Response:
    sid = request.match_info["sensor"]
    s = request.app[STATE].sensors.get(sid)
    if s is None:
        return json_error(404, f"no sensor with id {sid!r}")
    return json_response(s.to_json())


async def api_health(request: web.Request) -> web.Response:
    if request.query:
        return json_error(400, f"unknown query parameter: {next(iter(request.query))}")
    state = request.app[STATE]
    return json_response(
        {
            "status": "ok",
            "version": __version__,
            "protocol": PROTOCOL_VERSION,
            "mock": request.app[MOCK],
            "uptime_s": round(time.monotonic() - request.app[STARTED], 3),
            "sensors": state.counts(),
            "clients": len(request.app[CLIENTS]),
            "title": request.app[CONFIG].server.title,
            "history": history.stats() if (history := request.app.get(HISTORY)) else None,
            "mqtt": mqtt.stats() if (mqtt := request.app.get(MQTT)) else None,
            "alerts": alerts.counts() if (alerts := request.app.get(ALERTS)) else None,
        }
    )


def setup_routes(app: web.Application) -> None:
    app[STARTED] = time.monotonic()
    app.router.add_get("/", index)
    app.router.add_get("/api/sensors", api_sensors)
    app.router.add_get("/api/sensors/{sensor}", api_sensor)
    app.router.add_get("/api/health", api_health)
    setup_history_routes(app)
    app.router.add_get("/static/{filename:.*}", static_file)
