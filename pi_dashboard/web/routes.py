"""The page, the REST API and JSON errors. Documented in docs/protocol.md."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
from aiohttp import typedefs, web

from pi_dashboard import PROTOCOL_VERSION, __version__, data_dir
from pi_dashboard.model import Status
from pi_dashboard.web.assets import IMMUTABLE, REVALIDATE, Asset, Assets, page_html
from pi_dashboard.web.history import setup_history_routes
from pi_dashboard.web.keys import (
    ALERTS,
    ASSETS,
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
    """The page, with the values the server knows now in it: they show before a socket opens."""
    from pi_dashboard.web.auth import may_see_values  # auth -> routes: not at the top either
    from pi_dashboard.web.live import snapshot_payload  # live -> inbound -> routes: not at the top

    assets = request.app[ASSETS]
    template = await assets.get("index.html")
    if template is None:
        raise web.HTTPNotFound()
    history = request.app.get(HISTORY)
    snapshot = (
        orjson.dumps(
            snapshot_payload(request.app[STATE], history.recent if history is not None else None)
        )
        if may_see_values(request)
        else b""
    )
    html = page_html(
        template.body.decode(),
        await assets.release(),
        title=request.app[CONFIG].server.title,
        kiosk=request.query.get("kiosk", "") not in ("", "0"),
        snapshot=snapshot,
    )
    resp = web.Response(
        text=html,
        content_type="text/html",
        headers={"Cache-Control": "no-cache"},
        zlib_executor=assets.thread,
    )
    resp.enable_compression()
    return resp


async def static_file(request: web.Request) -> web.StreamResponse:
    """A file under static/, revalidated on every use (ETag); the page itself asks for the
    release-named URLs below. A missing file is a 404 the error middleware turns into JSON."""
    return await _send_asset(request, request.match_info["filename"], REVALIDATE)


async def release_file(request: web.Request) -> web.StreamResponse:
    """`static/v/<release>/<file>`: cached for a year, since the next release has another name.
    An old page asking for an old release gets today's file, revalidated."""
    release = await request.app[ASSETS].release()
    cache = IMMUTABLE if request.match_info["version"] == release.version else REVALIDATE
    return await _send_asset(request, request.match_info["filename"], cache)


async def _send_asset(request: web.Request, name: str, cache: str) -> web.Response:
    asset = await request.app[ASSETS].get(name)
    if asset is None:
        raise web.HTTPNotFound()
    headers = {"Cache-Control": cache, "ETag": asset.etag, "Vary": "Accept-Encoding"}
    if asset.etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    body = _encoded(request, asset, headers)
    return web.Response(body=body, headers=headers, content_type=asset.content_type.split(";")[0],
                        charset="utf-8" if "charset" in asset.content_type else None)  # fmt: skip


def _encoded(request: web.Request, asset: Asset, headers: dict[str, str]) -> bytes:
    if asset.gzipped is not None and "gzip" in request.headers.get("Accept-Encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return asset.gzipped
    return asset.body


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


THEME_COLOUR = "#2563eb"
BACKGROUND = "#f3f4f6"


async def manifest(request: web.Request) -> web.Response:
    """The web app manifest: "Add to home screen" gives a standalone app named by the config's
    title. Every URL in it is relative, so it works behind a reverse proxy's sub-path too."""
    title = request.app[CONFIG].server.title
    body = {
        "id": "./",
        "name": title,
        "short_name": title if len(title) <= 12 else "Sensors",
        "description": "Live sensor readings from this Raspberry Pi",
        "start_url": "./",
        "scope": "./",
        "display": "standalone",
        "orientation": "any",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND,
        "icons": [
            {"src": "static/icons/icon.svg", "sizes": "any", "type": "image/svg+xml"},
            {"src": "static/icons/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "static/icons/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {
                "src": "static/icons/maskable-512.png",
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    return web.Response(
        body=orjson.dumps(body),
        content_type="application/manifest+json",
        headers={"Cache-Control": "no-cache"},
    )


def setup_routes(app: web.Application) -> None:
    app[STARTED] = time.monotonic()
    app.router.add_get("/", index)
    app.router.add_get("/api/sensors", api_sensors)
    app.router.add_get("/api/sensors/{sensor}", api_sensor)
    app.router.add_get("/api/health", api_health)
    app.router.add_get("/manifest.webmanifest", manifest)
    setup_history_routes(app)
    app[ASSETS] = Assets(app[STATIC_DIR])
    app.on_cleanup.append(app[ASSETS].close)
    app.router.add_get("/static/v/{version:[0-9a-f]{12}}/{filename:.*}", release_file)
    app.router.add_get("/static/{filename:.*}", static_file)
