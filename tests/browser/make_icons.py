"""Draws the web app's PNG icons (static/icons/) from its SVG with the tests' Chromium.

Run once when the logo changes: `.venv/bin/python tests/browser/make_icons.py`; the PNGs are
committed. The maskable icon keeps the logo inside the central 80 % a launcher may crop to.
"""

from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parents[2] / "static" / "icons"
MASKABLE = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" fill="#2563eb"/>'
    '<path d="M9.5 18.2h3.9l2.3-6.2 3.1 10 2.3-6.2h3.4" fill="none" stroke="#fff" '
    'stroke-width="1.9" stroke-linecap="round" stroke-linejoin="round"/></svg>'
)


def main() -> None:
    svg = (OUT / "icon.svg").read_text(encoding="utf-8")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--headless=new"]
        )
        for name, source, size in [
            ("icon-192.png", svg, 192),
            ("icon-512.png", svg, 512),
            ("maskable-512.png", MASKABLE, 512),
        ]:
            page = b.new_page(viewport={"width": size, "height": size})
            sized = source.replace("<svg ", f'<svg width="{size}" height="{size}" ')
            page.set_content(f'<body style="margin:0;background:transparent">{sized}</body>')
            page.screenshot(path=str(OUT / name), omit_background=True)
            page.close()
        b.close()


if __name__ == "__main__":
    main()
