"""Home Assistant MQTT discovery, as a real broker carries it, checked against HA's documentation.

The tables below are transcribed from Home Assistant's docs (not from our code):
- sensor device classes and their units: https://www.home-assistant.io/integrations/sensor/#device-class
  (source/_integrations/sensor.markdown in home-assistant/home-assistant.io)
- binary sensor device classes: https://www.home-assistant.io/integrations/binary_sensor/#device-class
- the discovery topic `<discovery_prefix>/<component>/[<node_id>/]<object_id>/config`, ids in
  [a-zA-Z0-9_-]: https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery
- the keys and their types: https://www.home-assistant.io/integrations/sensor.mqtt/ and
  https://www.home-assistant.io/integrations/binary_sensor.mqtt/ (`state_topic` required;
  `availability` a list of maps with a required `topic`; `availability_mode` all/any/latest;
  `device` a map whose `identifiers` is a list; `state_class` measurement/total/total_increasing).
"""

from __future__ import annotations

import re
from importlib.resources import files

import orjson
from test_mqtt import watching
from waiting import until

from pi_dashboard.integrations import discovery
from pi_dashboard.model import ChannelMeta, DeviceClass
from pi_dashboard.state import State
from pi_dashboard.web.keys import STATE

HA_SENSOR_UNITS: dict[str, set[str] | None] = {
    "absolute_humidity": {"g/m³", "mg/m³"},
    "apparent_power": {"mVA", "VA"},
    "aqi": None,
    "area": {"m²", "cm²", "km²", "mm²", "in²", "ft²", "yd²", "mi²", "ac", "ha"},
    "atmospheric_pressure": {"cbar", "bar", "hPa", "mmHg", "inHg", "kPa", "mbar", "Pa", "psi"},
    "battery": {"%"},
    "carbon_dioxide": {"ppm"},
    "carbon_monoxide": {"ppm"},
    "current": {"A", "mA"},
    "data_rate": {"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "B/s", "kB/s", "MB/s", "GB/s", "KiB/s",
                  "MiB/s", "GiB/s"},
    "data_size": {"bit", "kbit", "Mbit", "Gbit", "B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB",
                  "YB", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"},
    "distance": {"km", "m", "cm", "mm", "mi", "nmi", "yd", "in"},
    "duration": {"d", "h", "min", "s", "ms", "µs"},
    "energy": {"J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal",
               "Mcal", "Gcal"},
    "frequency": {"Hz", "kHz", "MHz", "GHz"},
    "gas": {"L", "m³", "ft³", "CCF"},
    "humidity": {"%"},
    "illuminance": {"lx"},
    "moisture": {"%"},
    "ph": None,
    "pm1": {"µg/m³"},
    "pm25": {"µg/m³"},
    "pm10": {"µg/m³"},
    "power": {"mW", "W", "kW", "MW", "GW", "TW"},
    "precipitation": {"cm", "in", "mm"},
    "pressure": {"Pa", "kPa", "hPa", "bar", "cbar", "mbar", "mmHg", "inHg", "psi"},
    "signal_strength": {"dB", "dBm"},
    "sound_pressure": {"dB", "dBA"},
    "speed": {"ft/s", "in/d", "in/h", "in/s", "km/h", "kn", "m/s", "mph", "mm/d", "mm/s"},
    "temperature": {"°C", "°F", "K"},
    "voltage": {"V", "mV", "µV", "kV", "MV"},
    "volume": {"L", "mL", "gal", "fl. oz.", "m³", "ft³", "CCF"},
    "water": {"L", "gal", "m³", "ft³", "CCF"},
    "weight": {"kg", "g", "mg", "µg", "oz", "lb", "st"},
    "wind_speed": {"Beaufort", "ft/s", "km/h", "kn", "m/s", "mph"},
}  # fmt: skip
"""sensor device class -> the units HA accepts (None: unitless)."""

HA_BINARY_CLASSES = {
    "battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door",
    "garage_door", "gas", "heat", "light", "lock", "moisture", "motion", "moving", "occupancy",
    "opening", "plug", "power", "presence", "problem", "running", "safety", "smoke", "sound",
    "tamper", "update", "vibration", "window",
}  # fmt: skip
HA_STATE_CLASSES = {"measurement", "total", "total_increasing"}
TOPIC_RE = re.compile(
    r"^homeassistant/(sensor|binary_sensor)/[a-zA-Z0-9_-]+/[a-zA-Z0-9_-]+/config$"
)
REQUIRED = {"state_topic": str, "name": str, "unique_id": str, "availability": list,
            "device": dict}  # fmt: skip
OPTIONAL = {"device_class": str, "unit_of_measurement": str, "state_class": str,
            "suggested_display_precision": int, "availability_mode": str, "payload_on": str,
            "payload_off": str, "origin": dict}  # fmt: skip
ALLOWED_KEYS = {*REQUIRED, *OPTIONAL}


def check_payload(topic: str, p: dict) -> None:
    m = TOPIC_RE.match(topic)
    assert m, topic
    component = m.group(1)
    for key, kind in REQUIRED.items():
        assert isinstance(p.get(key), kind), f"{topic}: {key} must be a {kind.__name__}"
    for key, kind in OPTIONAL.items():
        if key in p:
            assert isinstance(p[key], kind), f"{topic}: {key} must be a {kind.__name__}"
    assert set(p) <= ALLOWED_KEYS, f"{topic}: unknown keys {set(p) - ALLOWED_KEYS}"
    assert p["availability"], topic
    for a in p["availability"]:
        assert isinstance(a, dict)
        assert isinstance(a["topic"], str)
    assert p.get("availability_mode", "latest") in {"all", "any", "latest"}
    dev = p["device"]
    assert isinstance(dev["identifiers"], list)
    assert dev["identifiers"]
    for key in ("name", "model", "sw_version", "manufacturer", "configuration_url"):
        assert isinstance(dev[key], str), f"{topic}: device.{key}"
    dc = p.get("device_class")
    if component == "binary_sensor":
        assert dc is None or dc in HA_BINARY_CLASSES, f"{topic}: {dc}"
        assert "unit_of_measurement" not in p
        assert "state_class" not in p
    else:
        if dc is not None:
            assert dc in HA_SENSOR_UNITS, f"{topic}: {dc} is no HA sensor device class"
            units = HA_SENSOR_UNITS[dc]
            unit = p.get("unit_of_measurement")
            assert (unit is None) if units is None else (unit in units), f"{topic}: {dc} {unit}"
        if "state_class" in p:
            assert p["state_class"] in HA_STATE_CLASSES


async def test_every_channel_of_the_demo_is_discovered_as_home_assistant_documents(
    broker, start_server
):
    demo = files("pi_dashboard").joinpath("demo.toml").read_text(encoding="utf-8")
    server = await start_server(broker.toml(node="demo-pi") + demo)
    state = server.app[STATE]

    def channels() -> int:
        return sum(len(s.channels) for s in state.sensors.values())

    def published() -> int:
        return len([t for t, p in seen.latest.items() if p])

    async with watching(broker, "homeassistant/#") as seen:
        # channels found at setup (1-Wire `auto`, the Pi's own) are announced as they appear
        await until(lambda: published() == channels() >= 40, 10)
        configs = {t: orjson.loads(p) for t, p in seen.latest.items() if p}
    unique = [p["unique_id"] for p in configs.values()]
    assert len(set(unique)) == len(unique)
    devices = {orjson.dumps(p["device"]) for p in configs.values()}
    assert len(devices) == 1, "one device per Pi"
    for topic, p in configs.items():
        check_payload(topic, p)
        assert p["state_topic"].startswith("pi-dashboard/demo-pi/")
        assert {a["topic"] for a in p["availability"]} >= {"pi-dashboard/demo-pi/$status"}
    by_id = {p["unique_id"]: (t, p) for t, p in configs.items()}
    # spot checks where our names and HA's meet
    t, door = by_id["pi-dashboard_demo-pi_front-door_open"]
    assert t.startswith("homeassistant/binary_sensor/")
    assert door["device_class"] == "door"
    _, temp = by_id["pi-dashboard_demo-pi_living-room_temperature"]
    assert (temp["device_class"], temp["unit_of_measurement"]) == ("temperature", "°C")
    assert temp["state_class"] == "measurement"
    _, baro = by_id["pi-dashboard_demo-pi_living-room_pressure"]
    assert baro["device_class"] == "atmospheric_pressure"
    # a state topic carries what HA parses: a number, or ON/OFF
    async with watching(broker, temp["state_topic"], door["state_topic"]) as seen:
        await until(lambda: {temp["state_topic"], door["state_topic"]} <= seen.latest.keys())
        float(seen.latest[temp["state_topic"]])
        assert seen.latest[door["state_topic"]] in (b"ON", b"OFF")


def test_kinds_ha_has_no_such_name_for_are_mapped_or_left_out():
    """`power_binary` is HA's binary `power`; a class whose unit HA would refuse is left out."""
    from pi_dashboard.integrations.topics import Topics

    state = State()
    state.add_sensor(
        id="s", type="t", name="S", interval=1.0,
        channels=[
            ChannelMeta(id="mains", name="Mains", unit=None, binary=True,
                        device_class=DeviceClass.POWER_BINARY),
            ChannelMeta(id="v", name="V", unit="V", device_class=DeviceClass.VOLTAGE),
            ChannelMeta(id="odd", name="Odd", unit="furlongs", device_class=DeviceClass.DISTANCE),
            ChannelMeta(id="load", name="Load", unit=None),
        ],
    )  # fmt: skip
    dev = discovery.Device(node="n", name="N", model="m", sw_version="1", url="http://n/")
    out = discovery.configs(
        "homeassistant", Topics("pi-dashboard", "n"), dev, state.sensors.values()
    )
    by_channel = {p["unique_id"].rsplit("_", 1)[1]: (t, p) for t, p in out.items()}
    for topic, p in out.items():
        check_payload(topic, p)
    assert by_channel["mains"][1]["device_class"] == "power"
    assert by_channel["v"][1]["device_class"] == "voltage"
    assert "device_class" not in by_channel["odd"][1]
    assert by_channel["odd"][1]["unit_of_measurement"] == "furlongs"
    assert "device_class" not in by_channel["load"][1]
