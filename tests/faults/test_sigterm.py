"""SIGTERM in every fault state, against the real daemon process (`pi-dashboard run --mock`) whose
`[sensors.mock]` puts the fault there from the start: it exits 0 within 2 s, including while a
read is wedged in a bus thread (a chip that never ends its transaction, a w1_slave that never
answers)."""

from __future__ import annotations

import pytest
from fault_harness import EXITS

SIGTERM_LIMIT_S = 2.0

SENSORS = """
[[sensors]]
id = "greenhouse"
type = "bme280"
interval = 1
timeout = 0.5
{greenhouse}

[[sensors]]
id = "tank"
type = "ds18b20"
probes = ["28-0316a2795e1f"]
interval = 1
timeout = 0.5
{tank}

[[sensors]]
id = "room"
type = "demo"
interval = 0.2
"""


def config(greenhouse: str = "", tank: str = "") -> str:
    mock = {k: f"[sensors.mock]\n{v}" if v else "" for k, v in (("g", greenhouse), ("t", tank))}
    return SENSORS.format(greenhouse=mock["g"], tank=mock["t"])


STATES = {
    "steady": (config(), {"greenhouse": "ok", "tank": "ok"}),
    "unplugged chip": (config(greenhouse="unplugged = true"), {"greenhouse": "error"}),
    "NACK storm": (config(greenhouse="nack_storm = true"), {"greenhouse": "error"}),
    "vanished probe": (config(tank="unplugged = true"), {"tank": "error"}),
    "30 % random faults": (
        config(greenhouse="dropout = 0.3", tank="dropout = 0.1\ncrc_errors = 0.1\npower_on = 0.1"),
        {"greenhouse": "ok|error", "tank": "ok|error"},
    ),
    "wedged I2C read": (config(greenhouse="hang = true"), {"greenhouse": "error"}),
    "wedged 1-Wire read": (config(tank="hang = true"), {"tank": "error"}),
}


@pytest.mark.slow
@pytest.mark.parametrize("state", list(STATES))
def test_sigterm_exits_0_within_2_s(daemon, state):
    toml, wanted = STATES[state]
    d = daemon(toml)

    def reached() -> bool:
        return all(d.sensor(sid)["status"] in want.split("|") for sid, want in wanted.items())

    d.wait_for(reached)
    rc, seconds = d.sigterm(SIGTERM_LIMIT_S + 3)
    EXITS[state] = (rc, seconds)
    assert rc == 0, f"exit status {rc} after {seconds:.2f} s:\n" + "\n".join(d.log[-15:])
    assert seconds < SIGTERM_LIMIT_S, f"took {seconds:.2f} s"
    assert not [line for line in d.log if "Traceback" in line], "\n".join(d.log)
