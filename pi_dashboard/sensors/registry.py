"""Every sensor type, one line each: greppable, no directory scanning. The one list: the config
loader, scan, doctor and mock mode (through each type's `simulated`) all start here.

A type's module is imported the first time the type is looked up, so the daemon imports only the
drivers (and gpiozero) its config uses: a noticeably faster start on a Pi Zero. `test_registry.py`
imports every entry and checks its name.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any

from pi_dashboard.sensors.base import SensorType, Types

ENTRIES: dict[str, tuple[str, str]] = {
    # type name     module under pi_dashboard.sensors, attribute
    "ads1115": ("ads1115", "TYPE"),
    "bh1750": ("bh1750", "TYPE"),
    "bme280": ("bme280", "TYPE"),
    "bmp280": ("bmp280", "TYPE"),
    "button": ("button", "TYPE"),
    "command": ("command", "TYPE"),
    "contact": ("contact", "TYPE"),
    "demo": ("demo", "TYPE"),
    "dht11": ("dht", "DHT11_TYPE"),
    "dht22": ("dht", "DHT22_TYPE"),
    "digital_in": ("digital_in", "TYPE"),
    "distance": ("distance", "TYPE"),
    "ds18b20": ("ds18b20", "TYPE"),
    "htu21d": ("htu21d", "TYPE"),
    "motion": ("motion", "TYPE"),
    "pi_health": ("pi_health", "TYPE"),
    "scd4x": ("scd4x", "TYPE"),
    "sht3x": ("sht3x", "TYPE"),
    "sht4x": ("sht4x", "TYPE"),
}


class Registry(Mapping[str, SensorType[Any]]):
    """A read-only mapping of type name -> SensorType that imports each type on first use."""

    def __init__(self, entries: Mapping[str, tuple[str, str]]) -> None:
        self._entries = dict(entries)
        self._loaded: dict[str, SensorType[Any]] = {}

    def __getitem__(self, name: str) -> SensorType[Any]:
        t = self._loaded.get(name)
        if t is None:
            module, attr = self._entries[name]  # KeyError for an unknown type, as a dict
            t = getattr(importlib.import_module(f"pi_dashboard.sensors.{module}"), attr)
            assert isinstance(t, SensorType), f"{module}.{attr} is not a SensorType"
            self._loaded[name] = t
        return t

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries


TYPES: Types = Registry(ENTRIES)
