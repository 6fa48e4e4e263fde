from pi_dashboard.sensors.demo import DemoSensor


def test_demo_walks_within_bounds(make_sensor):
    s = make_sensor('[[sensors]]\nid = "d"\ntype = "demo"\nseed = 7\n')
    assert isinstance(s, DemoSensor)
    first = s.read()
    assert set(first) == {"temperature", "humidity", "pressure"}
    values = [s.read() for _ in range(200)]
    assert any(v["temperature"] != first["temperature"] for v in values)
    assert all(abs(v["humidity"] - 45) < 25 for v in values)


def test_demo_step_zero_is_constant(make_sensor):
    s = make_sensor('[[sensors]]\nid = "d"\ntype = "demo"\nstep = 0\n')
    assert s.read() == s.read()
