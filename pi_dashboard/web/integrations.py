"""The integrations' routes: `GET /metrics` (Prometheus), `GET /api/alerts`, and the REST API's
own description at `GET /api/openapi.json` (docs/openapi.json is that file)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from pi_dashboard.web.keys import ALERTS, METRICS
from pi_dashboard.web.routes import json_error, json_response

OPENAPI = Path(__file__).with_name("openapi.json")


async def metrics(request: web.Request) -> web.StreamResponse:
    exporter = request.app.get(METRICS)
    if exporter is None:
        return json_error(404, "metrics are off ([metrics] enabled = true turns them on)")
    body, content_type = exporter.render(request.headers.get("Accept", ""))
    resp = web.Response(body=body)
    resp.headers["Content-Type"] = content_type
    resp.headers["Cache-Control"] = "no-store"
    return resp


async def api_alerts(request: web.Request) -> web.Response:
    if request.query:
        return json_error(400, f"unknown query parameter: {next(iter(request.query))}")
    alerts = request.app.get(ALERTS)
    if alerts is None:
        return json_error(404, "alerts are off ([alerts] enabled = false)")
    return json_response(alerts.to_json())


async def openapi(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(OPENAPI, headers={"Content-Type": "application/json"})


def setup_integration_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/api/alerts", api_alerts)
    app.router.add_get("/api/openapi.json", openapi)
