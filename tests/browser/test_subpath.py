"""Behind a reverse proxy under a sub-path (/dash/ -> the daemon's /), as nginx's `location /dash/
{ proxy_pass http://pi:8080/; }` does it, websocket upgrade included: the page, its assets, the
manifest, the history API and the Socket.IO feed all work, because every URL the page uses is
relative to it. The proxy is a few lines of aiohttp on 127.0.0.1, in a thread of its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import aiohttp
import pytest
from aiohttp import web
from conftest import wait_live

pytestmark = pytest.mark.browser

DAEMON_CONFIG = '[[sensors]]\nid = "living"\ntype = "demo"\nroom = "Den"\ninterval = 0.2\n'
PREFIX = "/dash"
HOP = {"connection", "keep-alive", "upgrade", "transfer-encoding", "content-length", "host"}


def proxy_app(upstream: str) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        path = request.raw_path.removeprefix(PREFIX) or "/"
        url = upstream + path
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP}
        headers["Host"] = request.host  # passed through, as `proxy_set_header Host $host`
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            if request.headers.get("Upgrade", "").lower() == "websocket":
                return await pipe_websocket(request, session, url, headers)
            async with session.request(
                request.method, url, headers=headers, data=await request.read(),
                allow_redirects=False,
            ) as up:  # fmt: skip
                body = await up.read()
                out = {k: v for k, v in up.headers.items() if k.lower() not in HOP}
                return web.Response(status=up.status, body=body, headers=out)

    async def pipe_websocket(request, session, url, headers) -> web.StreamResponse:  # type: ignore[no-untyped-def]
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        headers = {k: v for k, v in headers.items() if not k.lower().startswith("sec-websocket")}
        async with session.ws_connect(url.replace("http", "ws", 1), headers=headers) as up:

            async def down() -> None:
                async for msg in up:
                    await ws.send_str(msg.data)

            task = asyncio.create_task(down())
            async for msg in ws:
                await up.send_str(msg.data)
            task.cancel()
        return ws

    app = web.Application()
    app.router.add_route("*", PREFIX + "/{tail:.*}", handle)
    return app


@pytest.fixture
def proxy(daemon) -> Iterator[str]:
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, object] = {}

    async def start() -> None:
        runner = web.AppRunner(proxy_app(daemon.url))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        holder["runner"] = runner
        holder["port"] = runner.addresses[0][1]
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()))
    thread.start()
    assert ready.wait(10)
    yield f"http://127.0.0.1:{holder['port']}{PREFIX}"
    asyncio.run_coroutine_threadsafe(holder["runner"].cleanup(), loop).result(10)  # type: ignore[attr-defined]
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_everything_works_under_a_sub_path(proxy, open_page):
    w = open_page(proxy + "/")
    wait_live(w)
    sel = "[data-sensor='living'] [data-channel='temperature'] .ch-value"
    before = w.page.text_content(sel)
    w.page.wait_for_function(
        "([sel, b]) => document.querySelector(sel).textContent !== b", arg=[sel, before]
    )
    w.page.click("[data-sensor='living'] [data-channel='temperature'] .ch-open")
    w.page.wait_for_selector(".chart-plot[data-state='ready'] canvas", timeout=8000)
    manifest = w.page.request.get(proxy + "/manifest.webmanifest")
    assert manifest.ok
    outside = [u for u in w.requests + w.websockets if f"127.0.0.1:{proxy.split(':')[2]}" not in u]
    assert outside == [], "everything went through the proxy"
    assert all(PREFIX + "/" in u for u in w.requests), "every URL stays under the prefix"
    assert any("/dash/socket.io/" in u for u in w.websockets), "the socket too"
    assert w.errors == []
