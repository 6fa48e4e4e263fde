"""Per-channel processing: ESPHome-named filters, unit conversion and the publication gate."""

from __future__ import annotations

import pytest

from pi_dashboard.config import parse_filter
from pi_dashboard.errors import ConfigError
from pi_dashboard.filters import Gate, Pipeline, build_filter
from pi_dashboard.units import unit_converter


def feed(f, values):
    return [f(v) for v in values]


def make(spec):
    """A filter from its TOML form, as the config loader parses it and polling builds it."""
    return build_filter(parse_filter(spec, "f"))


def test_sliding_window_moving_average():
    f = make({"sliding_window_moving_average": {"window_size": 3}})
    assert feed(f, [3, 6, 9, 12]) == [3, 4.5, 6, 9]


def test_sliding_window_send_every():
    f = make({"sliding_window_moving_average": {"window_size": 2, "send_every": 2}})
    assert feed(f, [1, 3, 5, 7]) == [1, None, 4, None]


def test_median_rejects_a_spike():
    f = make({"median": {"window_size": 5}})
    out = feed(f, [20, 20.1, 85.0, 20.2, 20.1])
    assert out[-1] == 20.1
    assert max(v for v in out if v is not None) < 85


def test_exponential_moving_average():
    f = make({"exponential_moving_average": {"alpha": 0.5}})
    assert feed(f, [10, 20, 20]) == [10, 15, 17.5]


def test_clamp():
    f = make({"clamp": {"min_value": 0, "max_value": 100}})
    assert feed(f, [-3, 50, 101]) == [0, 50, 100]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"medain": {}}, 'f: unknown filter "medain"'),
        ({"median": {"window_size": 0}}, "f.median.window_size: must be >= 1"),
        ({"median": {}, "clamp": {}}, "exactly one key"),
        ({"exponential_moving_average": {"alpha": 2}}, "alpha: must be in (0, 1]"),
        ({"median": {"size": 3}}, "f.median.size: unknown key"),
    ],
)
def test_bad_filter_names_the_field(spec, message):
    with pytest.raises(ConfigError, match=None) as e:
        parse_filter(spec, "f")
    assert message in str(e.value)


def test_units():
    to_f = unit_converter("°C", "degF", "u")
    assert to_f(100) == pytest.approx(212)
    assert unit_converter("hPa", "inHg", "u")(1013.25) == pytest.approx(29.92, abs=0.01)
    assert unit_converter("°C", "°C", "u") is None
    with pytest.raises(ConfigError, match='cannot convert hPa to "°F"'):
        unit_converter("hPa", "°F", "u")


def test_gate_deadband():
    g = Gate(deadband=0.5)
    assert g.offer(20.0, 0)
    assert not g.offer(20.4, 1)  # inside the deadband of the last *pushed* value
    assert not g.offer(20.5, 2)
    assert g.offer(20.51, 3)
    assert not g.offer(20.2, 4)  # 0.31 from 20.51


def test_gate_zero_deadband_is_every_change():
    g = Gate()
    assert g.offer(1.0, 0)
    assert not g.offer(1.0, 1)
    assert g.offer(1.000001, 2)


def test_gate_throttle_and_heartbeat():
    g = Gate(throttle=10, heartbeat=60)
    assert g.offer(1.0, 0)
    assert not g.offer(2.0, 5)  # a change, but throttled
    assert g.offer(2.0, 10)  # throttle over: the change goes out
    assert not g.offer(2.0, 30)  # no change
    assert g.offer(2.0, 70)  # heartbeat: unchanged, pushed anyway


def test_gate_binary():
    g = Gate(deadband=5)
    assert g.offer(True, 0)
    assert g.offer(False, 1)  # deadband never hides a binary edge
    assert not g.offer(False, 2)


def test_pipeline_calibration_then_unit_then_filters():
    p = Pipeline(
        unit="°C",
        precision=1,
        binary=False,
        deadband=0,
        scale=1.0,
        offset=-0.4,
        convert_to=unit_converter("°C", "°F", "u"),
        filters=(make({"sliding_window_moving_average": {"window_size": 2}}),),
    )
    assert p.process(20.4, 0) == pytest.approx(68.0)
    assert p.process(30.4, 1) == pytest.approx(77.0)  # mean of 68 and 86


def test_pipeline_rounds_noise_away():
    p = Pipeline(unit="°C", precision=1, binary=False, deadband=0)
    assert p.process(21.123456, 0) == 21.123
    assert p.process(21.1234561, 1) is None  # below precision + 2 digits: not a change
