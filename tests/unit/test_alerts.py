"""Alerts on an injected clock: minimum duration both ways, one notification per episode (and one
when it clears), failing and silent sensors, nothing during a restart's first reads."""

from __future__ import annotations

from pi_dashboard.alerts import Alert, Alerts, Kind, Level, LevelChange
from pi_dashboard.config import AlertsConfig
from pi_dashboard.model import ChannelMeta, Reading, Status
from pi_dashboard.state import State


class Rig:
    def __init__(self, **cfg: float) -> None:
        self.now = 1000.0
        self.state = State()
        self.state.add_sensor(
            id="green", type="demo", name="Greenhouse", interval=10.0,
            channels=[ChannelMeta(id="temperature", name="T", unit="°C")],
        )  # fmt: skip
        defaults = {"min_duration": 30.0, "error_after": 60.0, "silent_after": 10.0,
                    "startup_s": 0.0}  # fmt: skip
        self.alerts = Alerts(
            AlertsConfig(**{**defaults, **cfg}), self.state, clock=lambda: self.now
        )
        self.events: list[tuple[str, str, str]] = []
        self.alerts.subscribe(lambda e, a: self.events.append((e, a.id, a.severity.value)))
        self.state.subscribe(self.alerts.on_reading)

    def level(self, level: Level, value: float = 0.0) -> None:
        self.alerts.on_level(
            LevelChange(sensor="green", channel="temperature", level=level, ts=self.now,
                        value=value, message=f"{level.value} at {value}")
        )  # fmt: skip

    def at(self, t: float) -> None:
        """Advance the clock to start + t, ticking every second on the way (as the daemon)."""
        while self.now < 1000.0 + t:
            self.now = min(self.now + 1.0, 1000.0 + t)
            self.state.publish_values("green", self.now, {"temperature": 20.0})
            self.alerts.tick()


ID = "green/temperature"


def test_a_level_shorter_than_the_minimum_duration_is_no_alert():
    rig = Rig()
    rig.level(Level.WARN, 31)
    rig.at(29)
    rig.level(Level.OK, 29)
    rig.at(200)
    assert rig.events == []
    assert rig.alerts.to_json() == {"active": [], "recent": []}


def test_one_notification_per_episode_and_one_when_it_clears():
    rig = Rig()
    rig.level(Level.WARN, 31)
    rig.at(30)
    assert rig.events == [("firing", ID, "warn")]
    (active,) = rig.alerts.active()
    assert (active.kind, active.since, active.value) == (Kind.LEVEL, 1000.0, 31)
    # flapping around the threshold inside the episode: nothing new
    for i, t in enumerate(range(31, 120, 10)):
        rig.level(Level.OK if i % 2 == 0 else Level.WARN, 30)
        rig.at(t + 5)
    assert rig.events == [("firing", ID, "warn")]
    rig.level(Level.WARN, 30)
    rig.at(rig.now - 1000 + 1)
    rig.level(Level.OK, 25)
    cleared_at = rig.now
    rig.at(cleared_at - 1000 + 29)
    assert len(rig.events) == 1, "clears only after min_duration without the condition"
    rig.at(cleared_at - 1000 + 31)
    assert rig.events == [("firing", ID, "warn"), ("cleared", ID, "warn")]
    recent = rig.alerts.to_json()["recent"]
    assert recent[0]["until"] == cleared_at
    assert recent[0]["active"] is False
    rig.level(Level.ALARM, 45)  # a new episode
    rig.at(rig.now - 1000 + 31)
    assert rig.events[-1] == ("firing", ID, "alarm")


def test_escalation_within_an_episode_is_sent_for_alarm_only_listeners():
    rig = Rig()
    rig.level(Level.WARN, 31)
    rig.at(31)
    rig.level(Level.ALARM, 41)
    rig.at(33)
    assert rig.events == [("firing", ID, "warn"), ("firing", ID, "alarm")]
    assert rig.alerts.counts() == {"active": 1, "warn": 0, "alarm": 1}


def test_a_failing_sensor_is_an_alert_after_error_after():
    rig = Rig(error_after=60.0)
    rig.state.publish_error("green", rig.now, "no answer (I2C NACK)")
    for t in range(1, 70):
        rig.now = 1000.0 + t
        rig.alerts.tick()
        if t == 59:
            assert rig.events == []
    assert rig.events == [("firing", "green/!error", "warn")]
    (a,) = rig.alerts.active()
    assert (a.kind, a.message, a.channel) == (Kind.ERROR, "no answer (I2C NACK)", None)
    rig.at(69 + 31)  # good reads again
    assert rig.events[-1] == ("cleared", "green/!error", "warn")


def test_a_silent_sensor_is_an_alert():
    rig = Rig(silent_after=10.0)  # interval 10 s: silent after 100 s without a read
    rig.state.publish_values("green", rig.now, {"temperature": 20.0})
    for t in range(1, 140):
        rig.now = 1000.0 + t
        rig.alerts.tick()
    assert ("firing", "green/!silent", "warn") in rig.events
    rig.state.publish_values("green", rig.now, {"temperature": 20.5})
    rig.at(139 + 31)
    assert rig.events[-1] == ("cleared", "green/!silent", "warn")


def test_nothing_is_sent_during_a_restart_s_first_reads():
    rig = Rig(startup_s=60.0, min_duration=5.0)
    # a glitch in the first reads: over before startup ends, never sent
    rig.state.publish_error("green", rig.now, "first read failed")
    rig.level(Level.WARN, 31)
    rig.at(10)
    assert rig.alerts.active(), "shown on the page and the API at once"
    rig.level(Level.OK, 29)
    rig.at(40)
    assert rig.events == []
    # a condition still there when startup ends is sent then, once
    rig.level(Level.ALARM, 50)
    rig.at(61)
    assert rig.events == [("firing", ID, "alarm")]
    rig.at(120)
    assert rig.events == [("firing", ID, "alarm")]


def test_other_nodes_sensors_alert_too():
    rig = Rig(error_after=1.0, min_duration=0.0)
    rig.state.add_sensor(id="cpu", type="pi_health", name="Pi", interval=5.0, channels=[],
                         node="garage")  # fmt: skip
    rig.state.publish_error("garage/cpu", rig.now, "node garage is offline")
    rig.now += 2
    rig.alerts.tick()
    a: Alert = rig.alerts.active()[0]
    assert (a.node, a.sensor, a.kind) == ("garage", "cpu", Kind.ERROR)
    assert Reading(sensor="cpu", ts=0, status=Status.OK, node="garage").node == "garage"
