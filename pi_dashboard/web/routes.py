"""The page, the REST API and JSON errors. Documented in docs/protocol.md."""

from __future__ import annotations

import importlib.resources
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
from aiohttp import web

from pi_dashboard import PROTOCOL_VERSION, __version__
from pi_dashboard.model import Status
from pi_dashboard.web.history import setup_history_routes
from pi_dashboard.web.keys import CLIENTS, CONFIG, HISTORY, MOCK, STATE, STATIC_DIR

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'none'"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def static_dir() -> Path:
    """The installed package's copy (wheel), else the checkout's top-level static/."""
    try:
        installed = Path(str(importlib.resources.files("pi_dashboard.static")))
        if (installed / "index.html").is_file():
            return installed
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parents[2] / "static"


def json_response(data: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def json_error(status: int, message: str) -> web.Response:
    return json_response({"error": message}, status=status)


@web.middleware
async def errors_and_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """JSON errors for everything but Socket.IO (which keeps python-socketio's own answers)."""
    if request.path.startswith("/socket.io/"):
        if "Sec-WebSocket-Extensions" in request.headers:
            # Decline permessage-deflate: readings are ~100 bytes, so compressing each one for
            # each client costs the Pi (and the phone) far more CPU than it saves on a LAN.
            # node's socket.io declines it by default for the same reason.
            headers = request.headers.copy()
            del headers["Sec-WebSocket-Extensions"]
            request = request.clone(headers=headers)
        return await handler(request)
    try:
        resp = await handler(request)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        message = {404: "not found", 405: f"method {request.method} not allowed"}.get(
            e.status, e.reason
        )
        resp = json_error(e.status, f"{message}: {request.path}" if e.status == 404 else message)
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "no-referrer")
    return resp


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
            "uptime_s": round(time.time() - state.started, 3),
            "sensors": state.counts(),
            "clients": len(request.app[CLIENTS]),
            "title": request.app[CONFIG].server.title,
            "history": history.stats() if (history := request.app.get(HISTORY)) else None,
        }
    )


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/api/sensors", api_sensors)
    app.router.add_get("/api/sensors/{sensor}", api_sensor)
    app.router.add_get("/api/health", api_health)
    setup_history_routes(app)
    app.router.add_static("/static/", app[STATIC_DIR], append_version=False)
