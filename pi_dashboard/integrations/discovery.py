"""Home Assistant MQTT discovery: one retained config message per channel, so every channel shows up
in Home Assistant as a `sensor` or `binary_sensor` of one device per Pi.

Follows https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery, with the keys of
https://www.home-assistant.io/integrations/sensor.mqtt/ and .../binary_sensor.mqtt/. Our channel
kinds are already HA's device class strings (model.DeviceClass); where HA has no such class for
the component, or does not accept the channel's unit for it, the class is left out rather than
sent wrong (HA would refuse the entity).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pi_dashboard.integrations.topics import OFFLINE, ONLINE, Topics
from pi_dashboard.state import SensorState

_PRESSURE = frozenset({"cbar", "bar", "hPa", "mmHg", "inHg", "kPa", "mbar", "Pa", "psi"})
SENSOR_UNITS: dict[str, frozenset[str]] = {
    "temperature": frozenset({"°C", "°F", "K"}),
    "humidity": frozenset({"%"}),
    "moisture": frozenset({"%"}),
    "battery": frozenset({"%"}),
    "atmospheric_pressure": _PRESSURE,
    "pressure": _PRESSURE,
    "illuminance": frozenset({"lx"}),
    "voltage": frozenset({"V", "mV", "µV", "kV", "MV"}),
    "current": frozenset({"A", "mA"}),
    "power": frozenset({"mW", "W", "kW", "MW", "GW", "TW"}),
    "distance": frozenset({"km", "m", "cm", "mm", "mi", "nmi", "yd", "in"}),
    "duration": frozenset({"d", "h", "min", "s", "ms", "µs"}),
    "data_size": frozenset(
        {"bit", "kbit", "Mbit", "Gbit", "B", "kB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB"}
    ),
    "signal_strength": frozenset({"dB", "dBm"}),
    "frequency": frozenset({"Hz", "kHz", "MHz", "GHz"}),
    "carbon_dioxide": frozenset({"ppm"}),
    "pm25": frozenset({"µg/m³"}),
    "pm10": frozenset({"µg/m³"}),
    "sound_pressure": frozenset({"dB", "dBA"}),
    "ph": frozenset({""}),
}  # fmt: skip
"""HA sensor device classes our channels use, with the units HA accepts for each
(https://www.home-assistant.io/integrations/sensor/#device-class)."""

BINARY_CLASSES: dict[str, str] = {
    "motion": "motion",
    "door": "door",
    "window": "window",
    "garage_door": "garage_door",
    "opening": "opening",
    "occupancy": "occupancy",
    "presence": "presence",
    "vibration": "vibration",
    "problem": "problem",
    "moisture": "moisture",
    "power_binary": "power",  # HA's binary_sensor class is "power"; ours is distinct from W
}
"""Our binary kinds -> HA binary_sensor device classes
(https://www.home-assistant.io/integrations/binary_sensor/#device-class)."""

ON, OFF = "ON", "OFF"
"""binary_sensor's default payload_on / payload_off."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    """One HA device per Pi (per node)."""

    node: str
    name: str
    model: str
    sw_version: str
    url: str | None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "identifiers": [f"pi-dashboard_{self.node}"],
            "name": self.name,
            "manufacturer": "pi-dashboard",
            "model": self.model,
            "sw_version": self.sw_version,
        }
        if self.url:
            out["configuration_url"] = self.url
        return out


def component(binary: bool) -> str:
    return "binary_sensor" if binary else "sensor"


def config_topic(prefix: str, node: str, sensor: str, channel: str, binary: bool) -> str:
    """`<discovery_prefix>/<component>/<node_id>/<object_id>/config`, ids in [a-zA-Z0-9_-]."""
    return f"{prefix}/{component(binary)}/pi-dashboard_{node}/{sensor}_{channel}/config"


def entity(topics: Topics, device: Device, s: SensorState, channel: str) -> dict[str, object]:
    """The discovery payload of one channel of one of this node's sensors."""
    m = s.channels[channel].meta
    kind = m.device_class.value
    out: dict[str, object] = {
        "name": f"{s.name} {m.name}",
        "unique_id": f"pi-dashboard_{device.node}_{s.id}_{channel}",
        "state_topic": topics.channel(s.id, channel),
        # available while the node is online AND this sensor reads fine
        "availability": [
            {"topic": topics.status(), "payload_available": ONLINE,
             "payload_not_available": OFFLINE},
            {"topic": topics.sensor(s.id),
             "value_template": "{{ 'online' if value_json.status == 'ok' else 'offline' }}"},
        ],
        "availability_mode": "all",
        "device": device.to_json(),
        "origin": {"name": "pi-dashboard", "sw_version": device.sw_version},
    }  # fmt: skip
    if m.binary:
        out["payload_on"], out["payload_off"] = ON, OFF
        if kind in BINARY_CLASSES:
            out["device_class"] = BINARY_CLASSES[kind]
        return out
    if kind in SENSOR_UNITS and (m.unit or "") in SENSOR_UNITS[kind]:
        out["device_class"] = kind
    if m.unit:
        out["unit_of_measurement"] = m.unit
    if m.state_class is not None:
        out["state_class"] = m.state_class.value
    out["suggested_display_precision"] = max(m.precision, 0)
    return out


def configs(
    discovery_prefix: str, topics: Topics, device: Device, sensors: Iterable[SensorState]
) -> dict[str, dict[str, object]]:
    """topic -> payload for every channel of this node's own sensors."""
    out: dict[str, dict[str, object]] = {}
    for s in sensors:
        if s.node:
            continue
        for cid, ch in s.channels.items():
            topic = config_topic(discovery_prefix, device.node, s.id, cid, ch.meta.binary)
            out[topic] = entity(topics, device, s, cid)
    return out


def cleanup_filter(discovery_prefix: str, node: str) -> str:
    """Every discovery config this node ever published (to clear removed sensors')."""
    return f"{discovery_prefix}/+/pi-dashboard_{node}/+/config"
