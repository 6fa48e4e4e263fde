"""Other nodes' messages into State and history: what is believed, what is refused, the limits."""

from __future__ import annotations

import orjson
import pytest

from pi_dashboard.integrations.remote import RemoteNodes
from pi_dashboard.integrations.topics import Topics
from pi_dashboard.model import Reading, Status
from pi_dashboard.state import State

META = {
    "node": "garage",
    "name": "Garage",
    "url": "http://garage.local:8080/",
    "version": "0.2.0",
    "sensors": [
        {
            "id": "cpu",
            "type": "pi_health",
            "name": "Pi",
            "interval": 5,
            "channels": [
                {
                    "id": "cpu_temperature",
                    "name": "CPU",
                    "unit": "°C",
                    "kind": "temperature",
                    "state_class": "measurement",
                    "precision": 1,
                    "binary": False,
                },
                {
                    "id": "door",
                    "name": "Door",
                    "unit": None,
                    "kind": "door",
                    "state_class": None,
                    "precision": 0,
                    "binary": True,
                },
            ],
        }
    ],
}


class Rig:
    def __init__(self, **limits: int) -> None:
        self.state = State()
        self.readings: list[Reading] = []
        self.state.subscribe(self.readings.append)
        self.recorded: list[tuple[str, float, object]] = []
        self.now = 1000.0
        self.remote = RemoteNodes(
            self.state,
            Topics("pi-dashboard", "here"),
            max_nodes=limits.get("max_nodes", 8),
            max_sensors=limits.get("max_sensors", 8),
            record=lambda k, ts, v: self.recorded.append((k, ts, v)),
            clock=lambda: self.now,
        )

    def send(self, node: str, leaf: str, payload: object) -> None:
        raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        self.remote.handle(f"pi-dashboard/{node}/{leaf}", raw, True)


def state_msg(ts: float, temp: float, door: bool = False, **extra: object) -> dict:
    return {"status": "ok", "ts": ts, "values": {"cpu_temperature": temp, "door": door}, **extra}


def test_a_node_s_sensors_show_with_its_node_and_are_kept_in_history():
    rig = Rig()
    # retained messages come in any order: the state before the meta and the status
    rig.send("garage", "cpu", state_msg(990.0, 48.5))
    rig.send("garage", "$meta", META)
    rig.send("garage", "$status", b"online")
    s = rig.state.sensors["garage/cpu"]
    assert (s.id, s.node, s.status) == ("cpu", "garage", Status.OK)
    assert s.channels["cpu_temperature"].value == 48.5
    assert s.channels["door"].value is False
    node = rig.state.nodes["garage"]
    assert (node.online, node.name, node.url) == (True, "Garage", "http://garage.local:8080/")
    assert rig.recorded == [("garage/cpu", 990.0, {"cpu_temperature": 48.5, "door": False})]
    rig.send("garage", "cpu", state_msg(995.0, 49.0, door=True))
    last = rig.readings[-1]
    assert (last.node, last.sensor, last.values) == ("garage", "cpu", {"cpu_temperature": 49.0,
                                                                       "door": True})  # fmt: skip
    assert last.to_json()["node"] == "garage"
    assert rig.state.counts()["total"] == 0, "another node's sensors are not ours to count"


def test_a_node_going_offline_turns_its_sensors_to_error_with_their_last_values():
    rig = Rig()
    rig.send("garage", "$meta", META)
    rig.send("garage", "$status", b"online")
    rig.send("garage", "cpu", state_msg(990.0, 48.5))
    rig.now = 1010.0
    rig.send("garage", "$status", b"offline")  # the last will
    s = rig.state.sensors["garage/cpu"]
    assert s.status is Status.ERROR
    assert s.error == "node garage is offline"
    assert s.channels["cpu_temperature"].value == 48.5
    assert rig.state.nodes["garage"].online is False
    assert rig.state.nodes["garage"].since == 1010.0
    rig.send("garage", "$status", b"online")
    rig.send("garage", "cpu", state_msg(1012.0, 47.0))
    assert rig.state.sensors["garage/cpu"].status is Status.OK


def test_a_failing_remote_sensor_is_an_error_and_a_gap_in_history():
    rig = Rig()
    rig.send("garage", "$meta", META)
    rig.send("garage", "$status", b"online")
    rig.send("garage", "cpu", {"status": "error", "ts": 999.0, "values": {}, "error": "NACK"})
    assert rig.state.sensors["garage/cpu"].error == "NACK"
    assert rig.recorded[-1] == ("garage/cpu", 999.0, None)


@pytest.mark.parametrize(
    ("leaf", "payload"),
    [
        ("$meta", b"{not json"),
        ("$meta", {"sensors": "nope"}),
        ("$meta", {"sensors": [{"id": "Bad Id", "channels": []}]}),
        ("$meta", {"sensors": [{"id": "x", "channels": [{"id": "a/b"}]}]}),
        ("$status", b"maybe"),
        ("cpu", b"[1, 2]"),
        ("cpu", {"values": "no"}),
    ],
)
def test_messages_that_are_not_what_a_node_says_are_ignored(leaf, payload):
    rig = Rig()
    rig.send("garage", leaf, payload)
    assert rig.remote.ignored == 1
    assert not rig.state.sensors


def test_values_of_the_wrong_type_are_not_believed():
    rig = Rig()
    rig.send("garage", "$meta", META)
    rig.send("garage", "$status", b"online")
    rig.send("garage", "cpu", {"status": "ok", "ts": 1.0,
                               "values": {"cpu_temperature": "hot", "door": 1}})  # fmt: skip
    s = rig.state.sensors["garage/cpu"]
    assert s.channels["cpu_temperature"].value is None
    assert s.channels["door"].value is None


def test_nodes_and_sensors_are_capped():
    rig = Rig(max_nodes=2, max_sensors=1)
    for node in ("a", "b", "c"):
        rig.send(node, "$status", b"online")
    assert set(rig.state.nodes) == {"a", "b"}
    many = {**META, "sensors": [{**META["sensors"][0], "id": f"s{i}"} for i in range(5)]}
    rig.send("a", "$meta", many)
    assert [s.id for s in rig.state.sensors.values()] == ["s0"]
    for i in range(5):
        rig.send("a", f"s{i}", state_msg(1.0, 40.0))
    assert len(rig.remote.sensors["a"]) == 1
    assert rig.remote.ignored == 4


def test_this_node_s_own_messages_are_not_shown_twice():
    rig = Rig()
    rig.send("here", "$meta", META)
    rig.send("here", "$status", b"online")
    assert not rig.state.sensors
    assert not rig.state.nodes


def test_a_sensor_the_node_no_longer_has_goes_away():
    rig = Rig()
    rig.send("garage", "$meta", META)
    assert "garage/cpu" in rig.state.sensors
    rig.send("garage", "$meta", {**META, "sensors": []})
    assert "garage/cpu" not in rig.state.sensors
