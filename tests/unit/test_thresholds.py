"""Thresholds with hysteresis (pi_dashboard/thresholds.py), their config checks, and how State
carries the level in readings and snapshots."""

from __future__ import annotations

import pytest

from pi_dashboard.config import ChannelConfig
from pi_dashboard.errors import ConfigError
from pi_dashboard.model import ChannelMeta
from pi_dashboard.state import State
from pi_dashboard.thresholds import Level, Thresholds, Transition, next_level

SENSOR = """
[[sensors]]
id = "room"
type = "demo"
room = "Living room"
[sensors.channels.temperature]
warn_above = 25
alarm_above = 30
warn_below = 15
alarm_below = 5
hysteresis = 1
"""


def walk(ch: ChannelConfig, values: list[float]) -> list[str]:
    level = Level.OK
    out = []
    for v in values:
        level = next_level(ch, v, level)
        out.append(level.value)
    return out


def test_levels_enter_past_the_threshold_and_leave_only_past_the_hysteresis():
    ch = ChannelConfig(warn_above=25, alarm_above=30, warn_below=15, alarm_below=5, hysteresis=1)
    assert walk(ch, [20, 25, 25.1, 24.5, 24.1, 23.9, 31, 29.5, 28.9, 23]) == [
        "ok", "ok", "warn_above", "warn_above", "warn_above", "ok",
        "alarm_above", "alarm_above", "warn_above", "ok",
    ]  # fmt: skip
    assert walk(ch, [14.9, 15.5, 16.1, 4, 5.9, 6.1, 20]) == [
        "warn_below", "warn_below", "ok", "alarm_below", "alarm_below", "warn_below", "ok",
    ]  # fmt: skip


def test_without_hysteresis_a_level_is_just_the_comparison():
    ch = ChannelConfig(alarm_above=30)
    assert walk(ch, [29.9, 30, 30.01, 29.99]) == ["ok", "ok", "alarm_above", "ok"]


@pytest.mark.parametrize(
    ("limits", "field", "message"),
    [
        ({"warn_above": 30, "alarm_above": 25}, "alarm_above", "must be above warn_above (30)"),
        ({"warn_below": 10, "alarm_below": 12}, "warn_below", "must be above alarm_below (12)"),
        ({"warn_below": 20, "warn_above": 20}, "warn_above", "must be above warn_below (20)"),
        ({"warn_above": 20, "hysteresis": -1}, "hysteresis", "must be >= 0"),
    ],
)
def test_limits_out_of_order_name_the_field(make_config, limits, field, message):
    lines = "\n".join(f"{k} = {v}" for k, v in limits.items())
    text = f'[[sensors]]\nid = "r"\ntype = "demo"\n[sensors.channels.temperature]\n{lines}\n'
    with pytest.raises(ConfigError) as e:
        make_config(text)
    assert e.value.field == f"sensors[0].channels.temperature.{field}"
    assert message in e.value.message


def test_room_is_a_short_label(make_config):
    assert make_config(SENSOR).sensors[0].room == "Living room"
    with pytest.raises(ConfigError) as e:
        make_config('[[sensors]]\nid = "r"\ntype = "demo"\nroom = "  "\n')
    assert e.value.field == "sensors[0].room"


def test_state_sends_levels_with_values_and_in_the_snapshot(make_config):
    state = State(make_config(SENSOR))
    meta = ChannelMeta(id="temperature", name="Temperature", unit="°C")
    state.add_sensor(id="room", type="demo", name="R", interval=1, channels=[meta])
    readings = []
    transitions: list[Transition] = []
    state.subscribe(readings.append)
    state.thresholds.subscribe(transitions.append)

    state.publish_values("room", 1.0, {"temperature": 20.0})
    state.publish_values("room", 2.0, {"temperature": 26.0})
    state.publish_values("room", 3.0, {"temperature": 25.5})  # inside the hysteresis: no change
    assert [r.levels for r in readings] == [
        {"temperature": "ok"}, {"temperature": "warn_above"}, {"temperature": "warn_above"},
    ]  # fmt: skip
    assert readings[1].to_json()["levels"] == {"temperature": "warn_above"}
    assert transitions == [
        Transition(sensor="room", channel="temperature", ts=2.0, value=26.0,
                   old=Level.OK, new=Level.WARN_ABOVE, limit=25.0),
    ]  # fmt: skip
    (snap,) = state.snapshot()
    assert snap["room"] == "Living room"
    (ch,) = snap["channels"]
    assert ch["level"] == "warn_above"
    assert ch["limits"] == {
        "alarm_below": 5.0, "warn_below": 15.0, "warn_above": 25.0, "alarm_above": 30.0,
        "hysteresis": 1.0,
    }  # fmt: skip


def test_channels_without_thresholds_carry_no_level():
    state = State()
    meta = ChannelMeta(id="t", name="T", unit=None)
    state.add_sensor(id="s", type="demo", name="S", interval=1, channels=[meta])
    got = []
    state.subscribe(got.append)
    state.publish_values("s", 1.0, {"t": 1e9})
    assert "levels" not in got[0].to_json()
    assert "level" not in state.snapshot()[0]["channels"][0]
    assert state.snapshot()[0]["room"] is None


def test_a_failing_listener_does_not_stop_the_others():
    ch = ChannelConfig(warn_above=1)
    t = Thresholds({("s", "c"): ch})
    seen = []
    t.subscribe(lambda _tr: 1 / 0)
    t.subscribe(seen.append)
    assert t.evaluate("s", 1.0, {"c": 2.0}) == {"c": "warn_above"}
    assert len(seen) == 1


def test_thresholds_on_an_on_off_channel_are_a_config_error(make_config):
    """The loader knows the type's channels, so it refuses them (one validation path)."""
    with pytest.raises(ConfigError) as e:
        make_config(
            '[[sensors]]\nid = "b"\ntype = "button"\npin = 17\n'
            "[sensors.channels.pressed]\nwarn_above = 0.5\n"
        )
    assert e.value.field == "sensors[0].channels.pressed"
    assert "on/off" in str(e.value)
