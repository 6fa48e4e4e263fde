"""What garbage on the wire becomes, chip by chip, measured through the production drivers and the
same range check polling applies: a CRC catches every garbage reply; without one, only values
outside the channel's possible range are caught, and the rest would be shown. The shares go into
docs/reliability.md."""

from __future__ import annotations

from collections import Counter

import pytest
from fault_harness import NOTES

from pi_dashboard.errors import SensorError

READS = 500


class Clock:
    """Monotonic time that moves only when the driver sleeps: 500 conversions take no time."""

    now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def outcomes(make_sensor, world, toml: str) -> Counter[str]:
    """Garbage on every reply; each read ends as an error, an impossible value (polling turns it
    into an error), the right value, or a wrong one that would reach the screen."""
    sensor = make_sensor(f"{toml}[sensors.mock]\ngarbage = 1.0\n")
    clock = Clock()
    sensor.sleep, sensor.clock, world.faults.clock = clock.sleep, clock, clock
    world.bus(1).chips[sensor.config.options.address].clock = clock
    quantities = ("temperature", "humidity", "pressure", "illuminance")
    truth = {q: getattr(world.env, q) for q in quantities}
    ranges = {c.id: c.valid_range for c in sensor.channels}
    out: Counter[str] = Counter()
    ready = False
    for _ in range(READS):
        try:
            if not ready:
                sensor.setup()
                ready = True
            values = sensor.read()
        except (SensorError, OSError):
            out["error"] += 1
            ready = False  # polling re-runs setup after a failed read
            continue
        if any(r and not r[0] <= values[c] <= r[1] for c, r in ranges.items() if c in values):
            out["impossible"] += 1
            ready = False
        elif all(abs(v - truth[c]) < 0.5 for c, v in values.items()):
            out["right"] += 1
        else:
            out["wrong"] += 1
    return out


@pytest.mark.parametrize(
    ("name", "toml", "caught"),
    [
        ("sht3x", '[[sensors]]\nid = "s"\ntype = "sht3x"\n', 1.0),  # CRC-8 on each word
        ("htu21d", '[[sensors]]\nid = "s"\ntype = "htu21d"\n', 0.98),  # one CRC-8: 1 in 256 passes
        ("bme280", '[[sensors]]\nid = "s"\ntype = "bme280"\n', 0.5),  # no CRC: the range check
        ("bh1750", '[[sensors]]\nid = "s"\ntype = "bh1750"\n', 0.0),  # any 16 bits are a lux value
    ],
)
def test_garbage_is_caught_by_a_crc_and_never_crashes_a_driver(
    make_sensor, world, name, toml, caught
):
    out = outcomes(make_sensor, world, toml)  # an exception other than SensorError fails here
    NOTES[f"garbage on {name}"] = ", ".join(f"{k} {v / READS:.1%}" for k, v in sorted(out.items()))
    assert (out["error"] + out["impossible"]) / READS >= caught, out
