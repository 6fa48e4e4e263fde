"""Draws the web app's PNG icons (static/icons/) from its SVG with the tests' Chromium.

Run once when the logo changes: `.venv/bin/python tests/browser/make_icons.py`; the PNGs are
committed. The maskable icon keeps the logo inside the central 80 % a launcher may crop to.
"""

from pathlib import Path
from playwright.sync_api import sync_playwright

out = Path("static/icons")
SVG = out.joinpath("icon.svg").read_text()
MASK = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" fill="#2563eb"/><path d="M9.5 18.2h3.9l2.3-6.2 3.1 10 2.3-6.2h3.4" fill="none" stroke="#fff" stroke-width="1.9" stroke-linecap="round" stroke-linejoin="round"/></svg>'
with sync_playwright() as p:
    b = p.chromium.launch(
        executable_path="/usr/bin/chromium", args=["--no-sandbox", "--headless=new"]
    )
    for name, svg, size in [
        ("icon-192.png", SVG, 192),
        ("icon-512.png", SVG, 512),
        ("maskable-512.png", MASK, 512),
    ]:
        page = b.new_page(viewport={"width": size, "height": size})
        sized = svg.replace("<svg ", '<svg width="%d" height="%d" ' % (size, size))
        page.set_content(
            '<html><body style="margin:0;background:transparent">' + sized + "</body></html>"
        )
        page.screenshot(path=str(out / name), omit_background=True)
        page.close()
    b.close()
