"""`/api/mock/faults`: the fault panel's endpoint, registered by app.py in mock mode only.

Documented in docs/protocol.md. The simulator sits behind `keys.FaultController`; its calls touch
the simulated /sys tree, so they run in the default executor, never on the event loop.
"""

from __future__ import annotations

import asyncio

import orjson
from aiohttp import web

from pi_dashboard.errors import ConfigError
from pi_dashboard.web.keys import MOCK_FAULTS
from pi_dashboard.web.routes import json_error, json_response

MAX_BODY = 4096
"""A fault change is a few keys; anything bigger is not one."""


async def list_faults(request: web.Request) -> web.Response:
    if request.query:
        return json_error(400, f"unknown query parameter: {next(iter(request.query))}")
    return json_response({"sensors": request.app[MOCK_FAULTS].describe()})


async def get_faults(request: web.Request) -> web.Response:
    sensor = request.match_info["sensor"]
    entry = request.app[MOCK_FAULTS].get(sensor)
    if entry is None:
        return json_error(404, f"no simulated faults for sensor {sensor!r}")
    return json_response(entry)


async def set_faults(request: web.Request) -> web.Response:
    """Merge a JSON object of fault keys into the sensor's faults. JSON only: a cross-site form
    cannot send it without a CORS preflight, which this server never grants."""
    controller = request.app[MOCK_FAULTS]
    sensor = request.match_info["sensor"]
    if controller.get(sensor) is None:
        return json_error(404, f"no simulated faults for sensor {sensor!r}")
    if request.content_type != "application/json":
        return json_error(415, "send the changes as application/json")
    if request.content_length is None or request.content_length > MAX_BODY:
        return json_error(413, f"the body must have a Content-Length of at most {MAX_BODY} bytes")
    try:
        changes = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return json_error(400, "the body is not JSON")
    if not isinstance(changes, dict):
        return json_error(400, 'the body must be a JSON object such as {"unplugged": true}')
    loop = asyncio.get_running_loop()
    try:
        entry = await loop.run_in_executor(None, controller.update, sensor, changes)
    except ConfigError as e:
        return json_error(400, str(e))
    return json_response(entry)


async def clear_faults(request: web.Request) -> web.Response:
    controller = request.app[MOCK_FAULTS]
    sensor = request.match_info["sensor"]
    if controller.get(sensor) is None:
        return json_error(404, f"no simulated faults for sensor {sensor!r}")
    loop = asyncio.get_running_loop()
    return json_response(await loop.run_in_executor(None, controller.clear, sensor))


def setup_mock_routes(app: web.Application) -> None:
    app.router.add_get("/api/mock/faults", list_faults)
    app.router.add_get("/api/mock/faults/{sensor}", get_faults)
    app.router.add_post("/api/mock/faults/{sensor}", set_faults)
    app.router.add_delete("/api/mock/faults/{sensor}", clear_faults)
