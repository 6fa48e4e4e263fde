"""TOML config (stdlib tomllib) -> frozen dataclasses. Every error names the field a user can find.

Sensor types add their own keys (`bus`, `address`, `pin`, ...) as an options dataclass; this module
validates those too, through the `SensorSchema` protocol, without importing any sensor code.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pi_dashboard.errors import ConfigError, FieldError

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class SensorSchema(Protocol):
    """What the loader needs from a sensor type (`sensors.base.SensorType` satisfies it)."""

    @property
    def options(self) -> type: ...

    @property
    def default_interval(self) -> float: ...

    @property
    def min_interval(self) -> float: ...


HOST_RE = re.compile(r"^(\*|[A-Za-z0-9_.:-]{1,253}|\[[0-9A-Fa-f:.]+\])$")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig:
    """The listener and its limits (docs/config.md, `[server]`): every default fits a Pi Zero."""

    host: str = "0.0.0.0"
    port: int = 8080
    title: str = "pi-dashboard"
    allowed_hosts: tuple[str, ...] = ()
    """Host names (or addresses) besides this machine's own that browsers may use; "*" = any."""
    max_connections: int = 1024
    header_timeout: float = 10.0
    read_timeout: float = 10.0
    max_request_bytes: int = 65536
    max_message_bytes: int = 16384
    client_queue: int = 256
    client_stall_timeout: float = 30.0
    client_messages_per_s: float = 2.0
    messages_per_s: float = 200.0
    log_repeat_interval: float = 60.0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise FieldError("port", f"{self.port} is not a TCP port (0-65535)")
        if not self.host:
            raise FieldError("host", "must not be empty")
        for i, name in enumerate(self.allowed_hosts):
            if not HOST_RE.match(name):
                raise FieldError(
                    f"allowed_hosts[{i}]",
                    f'"{name}" is not a host name or address (no scheme, path or spaces)',
                )
        ranges = {
            "max_connections": (1, 65535),
            "max_request_bytes": (1024, 1 << 24),
            "max_message_bytes": (1024, 1 << 24),
            "client_queue": (8, 1 << 20),
        }
        for name, (low, high) in ranges.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise FieldError(name, f"must be between {low} and {high}, got {value}")
        for name in (
            "header_timeout",
            "read_timeout",
            "client_stall_timeout",
            "client_messages_per_s",
            "messages_per_s",
            "log_repeat_interval",
        ):
            if getattr(self, name) <= 0:
                raise FieldError(name, f"must be > 0, got {getattr(self, name):g}")


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryConfig:
    """`[history]`: how often to write, and how long each tier is kept (docs/history.md)."""

    enabled: bool = True
    flush_interval: float = 5.0
    raw_days: float = 7.0
    minute_days: float = 90.0
    hour_days: float = 1825.0
    max_size_mb: float = 1000.0

    def __post_init__(self) -> None:
        if not 0.1 <= self.flush_interval <= 300:
            raise FieldError(
                "flush_interval", f"must be 0.1 to 300 seconds, got {self.flush_interval:g}"
            )
        for name in ("raw_days", "minute_days", "hour_days"):
            if getattr(self, name) <= 0:
                raise FieldError(name, f"must be > 0 days, got {getattr(self, name):g}")
        if self.max_size_mb < 0:
            raise FieldError("max_size_mb", f"must be >= 0 (0: no cap), got {self.max_size_mb:g}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelConfig:
    """Per-channel processing: calibration, then filters, then the deadband."""

    name: str | None = None
    offset: float = 0.0
    scale: float = 1.0
    deadband: float | None = None
    throttle: float = 0.0
    heartbeat: float = 0.0
    unit: str | None = None
    filters: tuple[dict[str, Any], ...] = ()
    hidden: bool = False
    warn_above: float | None = None
    """Thresholds, in the channel's unit (after `unit`): evaluated once, on the server
    (pi_dashboard/thresholds.py); the page colours by the level it is sent."""
    warn_below: float | None = None
    alarm_above: float | None = None
    alarm_below: float | None = None
    hysteresis: float = 0.0
    """How far back past a threshold a value must come to leave its level: no flapping."""

    def __post_init__(self) -> None:
        if self.deadband is not None and self.deadband < 0:
            raise FieldError("deadband", f"must be >= 0, got {self.deadband}")
        check_limits(self)
        for name in ("throttle", "heartbeat"):
            if getattr(self, name) < 0:
                raise FieldError(name, f"must be >= 0 seconds, got {getattr(self, name)}")
        if self.scale == 0:
            raise FieldError("scale", "must not be 0")


LIMITS = ("alarm_below", "warn_below", "warn_above", "alarm_above")
"""Thresholds from low to high: where set, each must lie above the ones before it."""


def check_limits(ch: ChannelConfig) -> None:
    if ch.hysteresis < 0:
        raise FieldError("hysteresis", f"must be >= 0, got {ch.hysteresis:g}")
    given = [(name, v) for name in LIMITS if (v := getattr(ch, name)) is not None]
    for (low, lv), (high, hv) in itertools.pairwise(given):
        if not lv < hv:
            raise FieldError(high, f"must be above {low} ({lv:g}), got {hv:g}")


PROBABILITIES = ("dropout", "crc_errors", "garbage", "power_on")


@dataclass(frozen=True, slots=True, kw_only=True)
class MockFaults:
    """`[sensors.mock]`: what the sensor's simulated device does wrong, in mock mode only (the
    simulator applies it where the driver meets the bus or sysfs; docs/faults.md)."""

    noise: float = 0.0
    """Standard deviation added to every quantity the device measures, in its base unit."""
    drift_per_minute: float = 0.0
    """Added per minute to every quantity the device measures (a sensor going off calibration)."""
    stuck: bool = False
    """The device keeps answering the value it measured when this was set."""
    dropout: float = 0.0
    """Chance that a reply never comes (I2C NACK; an empty w1_slave read)."""
    crc_errors: float = 0.0
    """Chance that one bit of a CRC-protected reply flips on the wire."""
    garbage: float = 0.0
    """Chance that a reply is random bytes."""
    power_on: float = 0.0
    """DS18B20: chance that a read answers the power-on scratchpad (85 °C), as after a brownout."""
    nack_storm: bool = False
    """Every device on this sensor's bus stops answering (a shorted or stuck bus)."""
    hang: bool = False
    """The next transaction blocks until this is cleared (or the daemon stops)."""
    unplugged: bool = False
    unplug_every: float = 0.0
    """Seconds: every `unplug_every` s the device is unplugged for the last `unplug_for` of them."""
    unplug_for: float = 0.0

    def __post_init__(self) -> None:
        for name in PROBABILITIES:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise FieldError(name, f"must be a probability from 0 to 1, got {value:g}")
        for name in ("noise", "unplug_every", "unplug_for"):
            if getattr(self, name) < 0:
                raise FieldError(name, f"must be >= 0, got {getattr(self, name):g}")
        if (self.unplug_every > 0) != (self.unplug_for > 0):
            missing = "unplug_for" if self.unplug_every > 0 else "unplug_every"
            raise FieldError(missing, "unplug_every and unplug_for go together")
        if self.unplug_for >= self.unplug_every > 0:
            raise FieldError(
                "unplug_for",
                f"must be shorter than unplug_every ({self.unplug_every:g} s), "
                f"got {self.unplug_for:g}",
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorConfig:
    """The keys every sensor has; `options` holds the type's own keys as its dataclass."""

    id: str
    type: str
    name: str
    interval: float
    deadband: float = 0.0
    timeout: float | None = None
    enabled: bool = True
    channels: Mapping[str, ChannelConfig] = field(default_factory=dict)
    options: Any = None
    mock: MockFaults | None = None
    """`[sensors.mock]`: simulated faults; only mock mode reads it."""
    room: str | None = None
    """Where the sensor is (or any group: "Greenhouse", "Rack 2"): the page groups cards by it."""

    @property
    def read_timeout(self) -> float:
        """A hung bus must not stall the sensor forever: default to the interval, clamped."""
        if self.timeout is not None:
            return self.timeout
        return min(max(self.interval, 2.0), 30.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    sensors: tuple[SensorConfig, ...] = ()
    history: HistoryConfig = field(default_factory=HistoryConfig)
    source: str = "<memory>"


# --- generic table -> dataclass --------------------------------------------------------------


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if tp is float:
        return "a number"
    if tp is int:
        return "an integer"
    if tp is str:
        return "a string"
    if tp is bool:
        return "true or false"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (tuple, list):
        return "a list"
    if dataclasses.is_dataclass(tp) or origin in (dict, Mapping):
        return "a table"
    return str(tp)


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def convert(tp: Any, value: Any, path: str) -> Any:
    """Check `value` against annotation `tp`; convert lists to tuples, tables to dataclasses."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return convert(arg, value, path)
            except ConfigError as e:
                errors.append(e)
        if len(errors) == 1:
            raise errors[0]
        names = " or ".join(_type_name(a) for a in args if a is not type(None))
        raise ConfigError(f"must be {names}, got {_show(value)}", field=path)
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ConfigError(f"must be a finite number, got {value}", field=path)
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif origin is Literal:
        if value in typing.get_args(tp):
            return value
    elif origin is tuple:
        if isinstance(value, list):
            args = typing.get_args(tp)
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(convert(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
            if len(args) != len(value):
                raise ConfigError(
                    f"must be a list of {len(args)} items, got {len(value)}", field=path
                )
            pairs = enumerate(zip(args, value, strict=True))
            return tuple(convert(a, v, f"{path}[{i}]") for i, (a, v) in pairs)
    elif origin in (dict, Mapping):
        if isinstance(value, dict):
            _, vt = typing.get_args(tp)
            return {k: convert(vt, v, f"{path}.{k}") for k, v in value.items()}
    elif dataclasses.is_dataclass(tp):
        if isinstance(value, dict):
            return from_table(tp, value, path)
    else:
        raise TypeError(f"unsupported annotation {tp!r} at {path}")
    raise ConfigError(f"must be {_type_name(tp)}, got {_show(value)}", field=path)


def from_table(
    cls: type, table: Mapping[str, Any], path: str, *, skip: frozenset[str] = frozenset()
) -> Any:
    """Build dataclass `cls` from a TOML table; unknown keys and wrong types name `path`."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    prefix = f"{path}." if path else ""
    for key in table:
        if key not in fields and key not in skip:
            known = ", ".join(sorted(f for f in fields if f not in skip))
            raise ConfigError(f"unknown key (known keys: {known})", field=f"{prefix}{key}")
    kwargs = {}
    for name, f in fields.items():
        if name in table:
            kwargs[name] = convert(hints[name], table[name], f"{prefix}{name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError("is required", field=f"{prefix}{name}")
    try:
        return cls(**kwargs)
    except FieldError as e:
        raise ConfigError(e.message, field=f"{prefix}{e.field}") from None


# --- the config file ---------------------------------------------------------------------------

_COMMON = frozenset(
    {"id", "type", "name", "interval", "deadband", "timeout", "enabled", "channels", "mock", "room"}
)


def parse_config(
    data: Mapping[str, Any], types_: Mapping[str, SensorSchema], *, source: str = "<memory>"
) -> Config:
    """Validate a parsed TOML document; raises ConfigError naming the field (and `source`)."""
    try:
        return _parse(data, types_, source)
    except ConfigError as e:
        e.file = e.file or source
        raise


def _parse(data: Mapping[str, Any], types_: Mapping[str, SensorSchema], source: str) -> Config:
    for key in data:
        if key not in ("server", "sensors", "history"):
            raise ConfigError("unknown section (known: server, sensors, history)", field=key)
    server_raw = data.get("server", {})
    if not isinstance(server_raw, dict):
        raise ConfigError(f"must be a table, got {_show(server_raw)}", field="server")
    server = from_table(ServerConfig, server_raw, "server")
    raw_sensors = data.get("sensors", [])
    if not isinstance(raw_sensors, list):
        raise ConfigError("must be an array of tables ([[sensors]])", field="sensors")
    sensors: list[SensorConfig] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_sensors):
        path = f"sensors[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"must be a table, got {_show(raw)}", field=path)
        sensor = _parse_sensor(raw, types_, path)
        if sensor.id in seen:
            raise ConfigError(
                f'duplicate id "{sensor.id}" (also sensors[{seen[sensor.id]}])', field=f"{path}.id"
            )
        seen[sensor.id] = i
        sensors.append(sensor)
    history_raw = data.get("history", {})
    if not isinstance(history_raw, dict):
        raise ConfigError(f"must be a table, got {_show(history_raw)}", field="history")
    history = from_table(HistoryConfig, history_raw, "history")
    return Config(server=server, sensors=tuple(sensors), history=history, source=source)


def _parse_sensor(
    raw: Mapping[str, Any], types_: Mapping[str, SensorSchema], path: str
) -> SensorConfig:
    if "type" not in raw:
        raise ConfigError("is required", field=f"{path}.type")
    type_name = raw["type"]
    if not isinstance(type_name, str):
        raise ConfigError(f"must be a string, got {_show(type_name)}", field=f"{path}.type")
    schema = types_.get(type_name)
    if schema is None:
        known = ", ".join(sorted(types_))
        raise ConfigError(
            f'unknown sensor type "{type_name}" (known: {known})', field=f"{path}.type"
        )
    if "id" not in raw:
        raise ConfigError("is required", field=f"{path}.id")
    sid = convert(str, raw["id"], f"{path}.id")
    if not ID_RE.match(sid):
        raise ConfigError(
            f'"{sid}" is not a valid id (lower-case letters, digits, "_" and "-", at most 64)',
            field=f"{path}.id",
        )
    name = convert(str, raw.get("name", sid), f"{path}.name")
    interval = convert(float, raw.get("interval", schema.default_interval), f"{path}.interval")
    if interval <= 0:
        raise ConfigError(f"must be > 0 seconds, got {interval:g}", field=f"{path}.interval")
    if interval < schema.min_interval:
        raise ConfigError(
            f"{interval:g} s is too short for {type_name} (at least {schema.min_interval:g} s)",
            field=f"{path}.interval",
        )
    deadband = convert(float, raw.get("deadband", 0.0), f"{path}.deadband")
    if deadband < 0:
        raise ConfigError(f"must be >= 0, got {deadband:g}", field=f"{path}.deadband")
    timeout = convert(float | None, raw.get("timeout"), f"{path}.timeout")
    if timeout is not None and timeout <= 0:
        raise ConfigError(f"must be > 0 seconds, got {timeout:g}", field=f"{path}.timeout")
    enabled = convert(bool, raw.get("enabled", True), f"{path}.enabled")
    channels = convert(dict[str, ChannelConfig], raw.get("channels", {}), f"{path}.channels")
    options = from_table(schema.options, raw, path, skip=_COMMON)
    mock = convert(MockFaults | None, raw.get("mock"), f"{path}.mock")
    room = convert(str | None, raw.get("room"), f"{path}.room")
    if room is not None and not 0 < len(room.strip()) <= 64:
        raise ConfigError("must be 1 to 64 characters", field=f"{path}.room")
    return SensorConfig(
        id=sid,
        type=type_name,
        name=name,
        interval=interval,
        deadband=deadband,
        timeout=timeout,
        enabled=enabled,
        channels=channels,
        options=options,
        mock=mock,
        room=room.strip() if room is not None else None,
    )


def load_config(path: str | Path, types_: Mapping[str, SensorSchema]) -> Config:
    """Read and validate a TOML file; any failure is a one-line ConfigError naming the field."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("no such file", file=str(p)) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a config file", file=str(p)) from None
    except PermissionError:
        raise ConfigError("permission denied", file=str(p)) from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"not UTF-8 text ({e.reason} at byte {e.start})", file=str(p)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"invalid TOML: {e}", file=str(p)) from None
    return parse_config(data, types_, source=str(p))
