"""Shared vocabulary: channel metadata, readings and statuses. Imports nothing of ours.

The device and state class strings are Home Assistant's (`homeassistant/components/sensor/const.py`
and `binary_sensor`), so MQTT or HA exports map 1:1 without a translation table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

Value = float | bool
"""A channel value in its base unit; `bool` for binary channels (button, motion, door)."""


def sensor_key(node: str, sensor: str) -> str:
    """How State and history key a sensor: its id for this daemon's own, `node/id` for another
    node's (ids never hold "/", so the two never collide)."""
    return f"{node}/{sensor}" if node else sensor


class Status(StrEnum):
    PENDING = "pending"  # configured, no reading yet
    OK = "ok"
    ERROR = "error"


class DeviceClass(StrEnum):
    """What a channel measures (HA `SensorDeviceClass` / `BinarySensorDeviceClass` values)."""

    TEMPERATURE = "temperature"
    HUMIDITY = "humidity"
    PRESSURE = "pressure"
    ATMOSPHERIC_PRESSURE = "atmospheric_pressure"
    ILLUMINANCE = "illuminance"
    VOLTAGE = "voltage"
    CURRENT = "current"
    POWER = "power"
    DISTANCE = "distance"
    DURATION = "duration"
    DATA_SIZE = "data_size"
    SIGNAL_STRENGTH = "signal_strength"
    MOISTURE = "moisture"
    FREQUENCY = "frequency"
    BATTERY = "battery"
    CARBON_DIOXIDE = "carbon_dioxide"
    PM25 = "pm25"
    PM10 = "pm10"
    ENERGY = "energy"
    SPEED = "speed"
    WIND_SPEED = "wind_speed"
    PRECIPITATION = "precipitation"
    VOLUME = "volume"
    WATER = "water"
    WEIGHT = "weight"
    SOUND_PRESSURE = "sound_pressure"
    PH = "ph"
    # binary sensors
    MOTION = "motion"
    DOOR = "door"
    WINDOW = "window"
    GARAGE_DOOR = "garage_door"
    OPENING = "opening"
    OCCUPANCY = "occupancy"
    PRESENCE = "presence"
    VIBRATION = "vibration"
    PROBLEM = "problem"
    POWER_BINARY = "power_binary"
    # no device class: a plain number such as load average or CPU percent
    NONE = "none"


class StateClass(StrEnum):
    MEASUREMENT = "measurement"
    TOTAL = "total"
    TOTAL_INCREASING = "total_increasing"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelMeta:
    """What the dashboard needs to show a channel: declared by the sensor type, not the user."""

    id: str
    name: str
    unit: str | None
    device_class: DeviceClass = DeviceClass.NONE
    state_class: StateClass | None = StateClass.MEASUREMENT
    precision: int = 1
    binary: bool = False
    valid_range: tuple[float, float] | None = None
    """Physically possible values in `unit`; anything outside is a sensor error, never shown."""

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "unit": self.unit,
            "kind": self.device_class.value,
            "state_class": self.state_class.value if self.state_class else None,
            "precision": self.precision,
            "binary": self.binary,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """One change to publish: the channels that changed, read from hardware at `ts` (epoch s)."""

    sensor: str
    ts: float
    values: dict[str, Value] = field(default_factory=dict)
    status: Status = Status.OK
    error: str | None = None
    levels: dict[str, str] = field(default_factory=dict)
    """Threshold level of each value in `values` whose channel has thresholds (thresholds.py)."""
    node: str = ""
    """Whose sensor: "" for this daemon's own, else another node's id (docs/protocol.md)."""

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "sensor": self.sensor,
            "ts": self.ts,
            "values": self.values,
            "status": self.status.value,
        }
        if self.error is not None:
            out["error"] = self.error
        if self.levels:
            out["levels"] = self.levels
        if self.node:
            out["node"] = self.node
        return out
