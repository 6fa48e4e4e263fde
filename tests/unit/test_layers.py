"""Imports flow one way: hw -> drivers -> sensors -> polling -> state -> web (STYLE.md section 1).

Walks every module's imports with `ast`, including imports inside functions, so a shortcut
(say, web importing polling, or a driver importing sim) fails here rather than in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "pi_dashboard"

# layer -> the layers it may import (itself and the package root are always allowed)
ALLOWED: dict[str, set[str]] = {
    "model": set(),
    "errors": set(),
    "logs": set(),
    "units": {"errors"},
    "config": {"errors", "model", "units"},
    "hw": {"errors", "model"},
    "drivers": {"hw", "errors", "model"},
    "sim": {"hw", "errors", "model", "config"},
    "filters": {"config", "errors", "model", "units"},
    "sensors": {"drivers", "hw", "config", "filters", "model", "errors"},
    "threads": {"model"},
    "polling": {
        "sensors",
        "state",
        "threads",
        "filters",
        "units",
        "config",
        "hw",
        "model",
        "errors",
    },
    "state": {"model", "config", "thresholds"},
    "thresholds": {"config", "model"},
    "history": {"model", "errors", "config"},
    "web": {"state", "history", "model", "config", "errors", "logs", "alerts"},
    "alerts": {"state", "thresholds", "model", "config", "errors"},
    # beside web: they read state, history and alerts, never polling, drivers or sim
    "integrations": {"state", "history", "alerts", "model", "config", "errors"},
    "scan": {"hw", "drivers", "sensors", "config", "model", "errors"},
    "demo": {"sensors", "config"},
    "service": {"web", "state", "model", "config", "errors"},  # systemd, beside web
    "doctor": {"hw", "sensors", "polling", "scan", "config", "model", "errors"},
    # history: only its paths, for the service's data directory (declared once there)
    "install": {"sensors", "polling", "config", "model", "errors", "history"},
    "app": None,  # composition root: may import anything
    "cli": None,
    "__main__": None,
}


def layer_of(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py") if rel.parts else ""


def imported_layers(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "pi_dashboard":
                names = [f"pi_dashboard.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "pi_dashboard" and len(parts) > 1:
                out.add(parts[1])
    return out


def test_every_module_has_a_layer():
    for path in PKG.rglob("*.py"):
        layer = layer_of(path)
        if layer == "__init__":
            continue
        assert layer in ALLOWED, f"{path.relative_to(PKG)}: add its layer to ALLOWED"


def test_imports_flow_one_way():
    problems = []
    for path in sorted(PKG.rglob("*.py")):
        layer = layer_of(path)
        allowed = ALLOWED.get(layer)
        if allowed is None:
            continue
        for target in imported_layers(path) - allowed - {layer, "__init__"}:
            if target in ALLOWED or (PKG / target).exists() or (PKG / f"{target}.py").exists():
                problems.append(f"{path.relative_to(PKG)} ({layer}) imports {target}")
    assert not problems, "layer violations:\n" + "\n".join(problems)


def test_only_app_and_tests_import_sim():
    for path in PKG.rglob("*.py"):
        if layer_of(path) in ("sim", "app", "cli"):
            continue
        assert "sim" not in imported_layers(path), f"{path.relative_to(PKG)} imports sim"
