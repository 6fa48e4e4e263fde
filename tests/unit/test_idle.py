"""What an idle daemon loads: only what its config uses (each module is RSS on a Pi Zero)."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

LOGIN = ("pi_dashboard.web.credentials", "pi_dashboard.web.sessions")


def loaded_after_create_app(toml: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules of `prefixes` a fresh interpreter holds once create_app() built `toml`."""
    code = (
        "import sys, tomllib\n"
        "from pi_dashboard.app import create_app\n"
        "from pi_dashboard.config import parse_config\n"
        "from pi_dashboard.sensors.registry import TYPES\n"
        f"create_app(parse_config(tomllib.loads({toml!r}), TYPES), mock=False)\n"
        f"print(sorted(m for m in sys.modules if m.startswith({prefixes!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return ast.literal_eval(out.stdout)


SENSOR = '[[sensors]]\nid = "d"\ntype = "demo"\n'


@pytest.mark.parametrize(
    ("auth", "expected"),
    [("false", []), ("true", sorted(LOGIN))],
)
def test_login_modules_load_only_with_login_on(auth, expected):
    toml = f"[server.auth]\nenabled = {auth}\n{SENSOR}"
    assert loaded_after_create_app(toml, LOGIN) == expected
