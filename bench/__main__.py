"""`python -m bench` (or `make bench`): scenarios, micro-benchmarks and the soak.

    python -m bench                        # everything: scenarios, micro, a 10-minute soak
    python -m bench scenarios micro        # just those
    python -m bench scenarios --scenarios fanout,many
    python -m bench --smoke                # seconds, tiny loads: what CI runs (no thresholds)

Results are printed as tables and appended as one JSON line to .bench/results/project-bench.jsonl
(--out). Run it from the project root, with the project's venv: `.venv/bin/python -m bench`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from bench import micro, scenarios, soak

PARTS = ("scenarios", "micro", "soak")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    ap.add_argument("parts", nargs="*", help=f"any of {', '.join(PARTS)} (default: all)")
    ap.add_argument("--scenarios", default=",".join(scenarios.FULL))
    ap.add_argument("--smoke", action="store_true", help="short and small: checks it all runs")
    ap.add_argument("--soak-minutes", type=float, default=10.0)
    ap.add_argument("--no-references", action="store_true", help="the project only")
    ap.add_argument(
        "--out",
        type=Path,
        default=Path(".bench/results/project-bench.jsonl"),
        help="where the JSON line of this run is appended",
    )
    args = ap.parse_args(argv)
    parts = args.parts or list(PARTS)
    if unknown := set(parts) - set(PARTS):
        ap.error(f"unknown part {', '.join(sorted(unknown))} (choose from {', '.join(PARTS)})")
    load = os.getloadavg()[0]
    print(f"load average {load:.2f} ({os.cpu_count()} cores); {platform.python_version()}")
    record: dict[str, object] = {"ts": time.time(), "loadavg_1m": load, "smoke": args.smoke}

    if "scenarios" in parts:
        targets = [scenarios.project_target()]
        if not args.no_references:
            refs, why = scenarios.reference_targets(scenarios.shared_bench())
            targets += refs
            if why:
                print(why)
        names = [n for n in args.scenarios.split(",") if n]
        record["scenarios"] = scenarios.main(names, smoke=args.smoke, targets=targets)
    if "micro" in parts:
        record["micro"] = micro.main(smoke=args.smoke)
    if "soak" in parts:
        minutes = 0.05 if args.smoke else args.soak_minutes
        with tempfile.TemporaryDirectory(prefix="pi-dashboard-soak-") as tmp:
            record["soak"] = soak.main(minutes, Path(tmp))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "a") as f:
        f.write(json.dumps(_finite(record)) + "\n")
    return 0


def _finite(x: object) -> object:
    """NaN (a figure with no samples) as null: JSON has no NaN."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    return None if isinstance(x, float) and math.isnan(x) else x


if __name__ == "__main__":
    sys.exit(main())
