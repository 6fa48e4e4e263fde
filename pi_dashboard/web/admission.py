"""The first middleware every request meets: Host allow-list (web/hosts.py, kept on the Socket.IO
server, whose Origin check uses it too), body size, Socket.IO's own checks (web/inbound.py).

It also tells the connection (web/server.py) when a request head has arrived and when its answer
is done, which is how the request-head timeout knows what it is timing.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from pi_dashboard.config import ServerConfig
from pi_dashboard.web.keys import SIO
from pi_dashboard.web.routes import Handler, Middleware, errors_and_headers, json_error

SOCKETIO_PATH = "/socket.io/"


def admission(cfg: ServerConfig) -> Middleware:
    max_body = cfg.max_request_bytes

    @web.middleware
    async def admit(request: web.Request, handler: Handler) -> web.StreamResponse:
        protocol = request.protocol
        if hasattr(protocol, "head_complete"):
            protocol.head_complete()
        try:
            return await _admit(request, handler)
        finally:
            if hasattr(protocol, "response_done"):
                protocol.response_done()

    async def _admit(request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get("Host")
        sio = request.app[SIO]
        if not sio.hosts.allows(host):
            return json_error(421, f"unknown host {host!r}: add it to [server] allowed_hosts")
        if not request.path.startswith(SOCKETIO_PATH):
            length = request.content_length
            if (length or 0) > max_body or (length is None and request.body_exists):
                return _close(json_error(413, f"request body too large (limit {max_body} bytes)"))
            return await handler(request)
        refused, token = await sio.guard.check_request(request)
        if refused is not None:
            return _close(refused)
        try:
            return await handler(request)
        finally:
            if token is not None:
                token.var.reset(token)

    return admit


def _close(resp: web.Response) -> web.Response:
    """The unread body must not be read as the next request."""
    resp.force_close()
    return resp


def middlewares(cfg: ServerConfig, extra: Sequence[Middleware] = ()) -> list[Middleware]:
    """What `create_app` installs, outermost first; `extra` (CORS, auth) after admission. Behind
    a trusted proxy the client's address is found first, so everything after sees it."""
    first: list[Middleware] = []
    if cfg.trusted_proxies:
        from pi_dashboard.web.proxies import forwarded_for

        first.append(forwarded_for(cfg.trusted_proxies))
    return [*first, admission(cfg), *extra, errors_and_headers]
