"""Thresholds feed alerts (on an injected clock): State evaluates each published value against the
config's thresholds with their hysteresis, and `run_alerts` (as app.py starts it) turns the level
changes into alerts with their own minimum duration: one episode fires once and clears once."""

from __future__ import annotations

import pytest

from pi_dashboard.alerts import Alerts, run_alerts
from pi_dashboard.model import ChannelMeta
from pi_dashboard.state import State

CONFIG = """
[alerts]
min_duration = 30
startup_s = 0

[[sensors]]
id = "green"
type = "demo"
interval = 1
[sensors.channels.temperature]
warn_above = 30
alarm_above = 35
hysteresis = 1
"""
ID = "green/temperature"


class Rig:
    def __init__(self, make_config) -> None:
        config = make_config(CONFIG)
        self.now = 1000.0
        self.state = State(config)
        self.state.add_sensor(
            id="green", type="demo", name="Greenhouse", interval=1.0,
            channels=[ChannelMeta(id="temperature", name="Temperature", unit="°C")],
        )  # fmt: skip
        self.alerts = Alerts(config.alerts, self.state, clock=lambda: self.now)
        self.events: list[tuple[str, str, str, str]] = []
        self.alerts.subscribe(
            lambda e, a: self.events.append((e, a.id, a.severity.value, a.message))
        )

    def read(self, *values: float) -> None:
        """One read a second, each published as polling does, then the alerts' tick."""
        for v in values:
            self.now += 1.0
            self.state.publish_values("green", self.now, {"temperature": v})
            self.alerts.tick()


@pytest.fixture
async def rig(make_config):
    r = Rig(make_config)
    body = run_alerts(r.alerts)
    await anext(body)  # started, as app.py's cleanup_ctx starts it
    yield r
    with pytest.raises(StopAsyncIteration):
        await anext(body)
    assert r.state.thresholds._listeners == [], "stopping unsubscribes from the levels"


async def test_crossing_a_threshold_fires_one_alert_after_the_minimum_duration(rig):
    rig.read(*[25.0] * 5)
    rig.read(31.0)  # warn_above 30: the condition starts now
    started = rig.now
    rig.read(*[31.0] * 28)
    assert rig.events == [], "not before min_duration"
    assert rig.alerts.active() == []
    rig.read(31.0, 31.0)
    assert rig.events == [("firing", ID, "warn", "31 °C, above 30 °C")]
    (alert,) = rig.alerts.active()
    assert alert.since == started
    assert alert.sensor == "green"
    assert alert.channel == "temperature"


async def test_wobbling_inside_the_hysteresis_band_neither_clears_nor_refires(rig):
    rig.read(*[31.0] * 31)
    assert [e[0] for e in rig.events] == ["firing"]
    # back under 30 but not under 30 - hysteresis: still warn, for far longer than min_duration
    rig.read(*[29.2, 30.4, 29.5, 31.0, 29.1, 29.9] * 20)
    rig.read(*[29.5] * 60)  # twice min_duration inside the band: without hysteresis, a clear
    assert [e[0] for e in rig.events] == ["firing"]
    assert len(rig.alerts.active()) == 1
    assert rig.state.snapshot()[0]["channels"][0]["level"] == "warn_above"


async def test_going_below_threshold_minus_hysteresis_clears_it_once(rig):
    rig.read(*[31.0] * 31)
    rig.read(28.9)  # below 30 - 1: ok; the alert clears after min_duration without it
    gone = rig.now
    rig.read(*[28.9] * 28)
    assert [e[0] for e in rig.events] == ["firing"]
    rig.read(*[28.5] * 60)
    assert [e[0] for e in rig.events] == ["firing", "cleared"]
    assert rig.alerts.active() == []
    (cleared,) = rig.alerts.to_json()["recent"]
    assert cleared["until"] == gone


async def test_a_higher_threshold_raises_the_same_episode_to_alarm(rig):
    rig.read(*[31.0] * 31)
    rig.read(*[36.0] * 3)  # alarm_above 35: the same episode, now an alarm, told once more
    assert [(e[0], e[2]) for e in rig.events] == [("firing", "warn"), ("firing", "alarm")]
    (alert,) = rig.alerts.active()
    assert alert.message == "36 °C, above 35 °C"
