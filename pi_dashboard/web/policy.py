"""What every response tells the browser: security headers, and CORS for `/api` where configured.

The headers go on in `on_response_prepare`, so every answer gets them, whichever middleware or
library (Socket.IO's, say) made it. CORS: by default no other site's script may read the API;
`[server] cors_origins` lists those that may, for GET only, with a token (never with cookies,
which are SameSite=Strict anyway).
"""

from __future__ import annotations

from aiohttp import web

from pi_dashboard.config import ServerConfig
from pi_dashboard.web.routes import CSP, Handler, Middleware, json_error

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
"""CSP without 'unsafe-inline', with frame-ancestors 'none' (X-Frame-Options: old browsers)."""
CORS_MAX_AGE_S = 600


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    origin = request.headers.get("Origin")
    if origin is not None and request.path.startswith("/api/"):
        allowed = request.app[CORS_ORIGINS]
        if origin in allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
        if allowed:
            response.headers.add("Vary", "Origin")


CORS_ORIGINS = web.AppKey("cors_origins", frozenset)


def cors_preflight(cfg: ServerConfig) -> Middleware:
    """`OPTIONS /api/...` from a listed origin: GET with an Authorization header is allowed."""
    allowed = frozenset(cfg.cors_origins)

    @web.middleware
    async def preflight(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "OPTIONS" or not request.path.startswith("/api/"):
            return await handler(request)
        origin = request.headers.get("Origin")
        if origin is None or origin not in allowed:
            return json_error(403, "origin not allowed ([server] cors_origins)")
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Methods": "GET, HEAD",
                "Access-Control-Allow-Headers": "Authorization",
                "Access-Control-Max-Age": str(CORS_MAX_AGE_S),
            },
        )

    return preflight


def setup_policy(app: web.Application, cfg: ServerConfig) -> None:
    app[CORS_ORIGINS] = frozenset(cfg.cors_origins)
    app.on_response_prepare.append(security_headers)
