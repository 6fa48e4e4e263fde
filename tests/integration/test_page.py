"""How the page is served (web/routes.py, web/assets.py): the values it shows first inside it,
assets gzipped, named by release and cached for a year, the minified bundle only while it matches
its sources, the manifest; all relative, so a reverse proxy's sub-path works."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import shutil
import threading
from pathlib import Path

import pytest

from pi_dashboard.sensors.registry import TYPES
from pi_dashboard.web.assets import IMMUTABLE, Assets, page_html
from pi_dashboard.web.bundle import bundle_is_fresh
from pi_dashboard.web.keys import ASSETS
from pi_dashboard.web.routes import static_dir

CONFIG = """
[server]
title = "Green </script> house"

[[sensors]]
id = "living"
type = "demo"
name = "Living room"
room = "Downstairs"
interval = 0.2
"""
ASSET_RE = re.compile(r'"(static/v/([0-9a-f]{12})/[^"]+)"')


async def page(client, path: str = "/") -> str:
    resp = await client.get(path)
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-cache"
    return await resp.text()


def snapshot_of(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="snapshot">(.*?)</script>', html, re.S)
    assert m, "the page carries a snapshot"
    return json.loads(m.group(1))


@pytest.fixture
async def client(aiohttp_client, world, make_config):
    from pi_dashboard.app import create_app

    config = make_config(CONFIG)
    world.populate(config, TYPES)
    return await aiohttp_client(create_app(config, world=world))


async def test_the_page_carries_the_values_it_shows_first(client):
    html = await page(client)
    snap = snapshot_of(html)
    assert snap["protocol"] == 3
    (s,) = snap["sensors"]
    assert s["id"] == "living"
    assert s["room"] == "Downstairs"
    assert "Green &lt;/script&gt; house</title>" in html, "the title, escaped"
    assert html.count("</script>") == 2, "a '</' in the data cannot end its element"
    assert "data-kiosk" not in html
    assert "data-kiosk" in await page(client, "/?kiosk=1")


async def test_assets_are_named_by_release_gzipped_and_cached_for_a_year(client):
    html = await page(client)
    urls = [m.group(1) for m in ASSET_RE.finditer(html)]
    assert urls, "every asset under static/v/<release>/"
    assert len({m.group(2) for m in ASSET_RE.finditer(html)}) == 1
    assert not re.search(r'(src|href)="/', html), "relative URLs only (reverse proxies)"
    script = next(u for u in urls if u.endswith(".js"))
    resp = await client.get("/" + script, headers={"Accept-Encoding": "gzip, deflate"})
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == IMMUTABLE
    assert resp.headers["Content-Encoding"] == "gzip"
    assert resp.headers["Content-Type"].startswith("text/javascript")
    body = await resp.read()  # aiohttp's client inflates it
    plain = await client.get("/" + script, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert await plain.read() == body
    etag = resp.headers["ETag"]
    again = await client.get("/" + script, headers={"If-None-Match": etag})
    assert again.status == 304
    old = re.sub(r"/v/[0-9a-f]{12}/", "/v/000000000000/", script)
    stale = await client.get("/" + old)
    assert stale.status == 200
    assert stale.headers["Cache-Control"] == "no-cache", "an old release is not cached for a year"
    bare = await client.get("/static/js/store.js")
    assert bare.headers["Cache-Control"] == "no-cache"


async def test_a_page_load_reads_and_gzips_on_one_thread_that_cleanup_ends(
    aiohttp_client, world, make_config
):
    """The loop's default executor would start a thread per file asked for at once, and one to
    gzip the page, and keep each for the life of the process (its stack and malloc arena)."""
    from pi_dashboard.app import create_app

    config = make_config(CONFIG)
    world.populate(config, TYPES)
    # the client inflating nothing: it would use the default executor too
    client = await aiohttp_client(create_app(config, world=world), auto_decompress=False)
    gz = {"Accept-Encoding": "gzip"}
    before = set(threading.enumerate())
    resp = await client.get("/", headers=gz)
    assert resp.headers["Content-Encoding"] == "gzip"
    urls = [m.group(1) for m in ASSET_RE.finditer(gzip.decompress(await resp.read()).decode())]
    assert len(urls) > 1
    for resp in await asyncio.gather(*(client.get("/" + u, headers=gz) for u in urls * 2)):
        assert resp.status == 200
    new = [t for t in threading.enumerate() if t not in before]
    assert [t.name.rsplit("_", 1)[0] for t in new] == ["assets"], new
    await client.app[ASSETS].close()
    new[0].join(timeout=5)
    assert not new[0].is_alive()


async def test_missing_or_outside_files_are_json_404s(client):
    for path in ("/static/nope.js", "/static/../pyproject.toml", "/static/v/0123456789ab/x.js"):
        resp = await client.get(path)
        assert resp.status == 404, path
        assert "error" in await resp.json()


def test_the_bundle_is_served_only_while_it_matches_its_sources(tmp_path: Path):
    static = static_dir()
    if not bundle_is_fresh(static):
        pytest.skip("static/dist/ is older than static/js: run `make vendor`")
    template = (static / "index.html").read_text(encoding="utf-8")

    def html(root: Path) -> str:
        release = Assets(root)._current()
        return page_html(template, release, title="t", kiosk=False, snapshot=b"{}")

    built = html(static)
    assert "/dist/main.js" in built
    assert "/dist/app.css" in built
    copy = tmp_path / "static"
    shutil.copytree(static, copy)
    (copy / "js" / "format.js").write_text(
        (copy / "js" / "format.js").read_text() + "\n// edited\n", encoding="utf-8"
    )  # as if the checkout were edited after `make vendor`
    edited = html(copy)
    assert "/js/main.js" in edited, "the edited sources, not a stale bundle"
    assert "/dist/" not in edited
    assert ASSET_RE.search(edited).group(2) != ASSET_RE.search(built).group(2)  # type: ignore[union-attr]


async def test_the_manifest_is_relative_and_named_by_the_config(client):
    resp = await client.get("/manifest.webmanifest")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("application/manifest+json")
    m = json.loads(await resp.read())
    assert m["name"] == "Green </script> house"
    assert m["start_url"] == "./"
    for icon in m["icons"]:
        assert not icon["src"].startswith("/")
        got = await client.get("/" + icon["src"])
        assert got.status == 200, icon


def test_gzip_is_kept_per_file_and_read_again_when_it_changes(tmp_path: Path):
    (tmp_path / "a.js").write_text("x" * 4000, encoding="utf-8")
    assets = Assets(tmp_path)
    first = assets._load("a.js")
    assert first is not None
    assert first.gzipped is not None
    assert gzip.decompress(first.gzipped) == first.body
    assert assets._load("a.js") is first, "cached"
    (tmp_path / "a.js").write_text("y" * 4001, encoding="utf-8")
    assert assets._load("a.js").body == b"y" * 4001  # type: ignore[union-attr]
