"""TOML config (stdlib tomllib) -> frozen dataclasses. Every error names the field a user can find.

This is the one validation path: `check-config`, `run` and every other command load a config here,
and what loads is complete and typed. Sensor types add their own keys (`bus`, `address`, `pin`,
...) as an options dataclass; this module validates those too, with the type's channels and I2C
addresses, through the `SensorSchema` protocol, without importing any sensor code.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import re
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Generic,
    Literal,
    Protocol,
    TypeVar,
    runtime_checkable,
)

from pi_dashboard.errors import ConfigError, FieldError
from pi_dashboard.model import ChannelMeta
from pi_dashboard.units import unit_converter

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class SensorSchema(Protocol):
    """What the loader needs from a sensor type (`sensors.base.SensorType` satisfies it)."""

    @property
    def options(self) -> type[Any]:
        """The type's options dataclass (`Any`: each type has its own, unknown here)."""

    @property
    def default_interval(self) -> float: ...

    @property
    def min_interval(self) -> float: ...

    @property
    def i2c_addresses(self) -> tuple[int, ...]:
        """Every address the chip can be strapped to; () for types not on I2C."""

    def channels(self, options: Any) -> Sequence[ChannelMeta] | None:
        """Every channel a sensor with these options can have (None: known only at setup).

        `Any`: each type takes its own options class, which this module never imports."""


@runtime_checkable
class OnI2C(Protocol):
    """Options of a chip on I2C: which /dev/i2c-N, and its 7-bit address there."""

    @property
    def bus(self) -> int: ...

    @property
    def address(self) -> int: ...


HOST_RE = re.compile(r"^(\*|[A-Za-z0-9_.:-]{1,253}|\[[0-9A-Fa-f:.]+\])$")
ORIGIN_RE = re.compile(r"^https?://[^\s/]+$")


def _check_networks(name: str, networks: tuple[str, ...]) -> None:
    import ipaddress

    for i, net in enumerate(networks):
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError:
            raise FieldError(
                f"{name}[{i}]", f'"{net}" is not an address or network (CIDR)'
            ) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthConfig:
    """`[server.auth]`: optional login and API tokens (docs/security.md). Off: read-only, open."""

    enabled: bool = False
    public_page: bool = False
    """The page's files are served without a login (its values still need one)."""
    trusted_networks: tuple[str, ...] = ()
    """Addresses (CIDRs) that need no login, e.g. "127.0.0.1/32" for the Pi's own screen."""
    session_lifetime: float = 7 * 86400.0
    """Seconds from login until the browser must log in again."""
    max_sessions: int = 256
    login_failures: int = 5
    """Failed logins one address may make in a row; then one more per `login_lockout` seconds."""
    login_lockout: float = 60.0
    max_addresses: int = 1024
    """Addresses whose failed logins are remembered at once (the oldest is forgotten first)."""

    def __post_init__(self) -> None:
        _check_networks("trusted_networks", self.trusted_networks)
        if self.session_lifetime <= 0:
            raise FieldError("session_lifetime", f"must be > 0, got {self.session_lifetime:g}")
        if self.login_lockout <= 0:
            raise FieldError("login_lockout", f"must be > 0, got {self.login_lockout:g}")
        ranges = {"max_sessions": (1, 65536), "login_failures": (1, 1000),
                  "max_addresses": (1, 1 << 20)}  # fmt: skip
        for name, (low, high) in ranges.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise FieldError(name, f"must be between {low} and {high}, got {value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpsConfig:
    """`[server.tls]`: serve HTTPS with this certificate and key (re-read on SIGHUP)."""

    cert_file: str
    key_file: str


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
    cors_origins: tuple[str, ...] = ()
    """Other sites whose scripts may read /api (e.g. "https://grafana.home.lan")."""
    trusted_proxies: tuple[str, ...] = ()
    """Reverse proxies (CIDRs) whose X-Forwarded-For names the client (web/proxies.py)."""
    auth: AuthConfig = field(default_factory=AuthConfig)
    tls: HttpsConfig | None = None

    def __post_init__(self) -> None:
        _check_networks("trusted_proxies", self.trusted_proxies)
        for i, origin in enumerate(self.cors_origins):
            if not ORIGIN_RE.match(origin):
                raise FieldError(
                    f"cors_origins[{i}]", f'"{origin}" is not an origin such as "https://host:3000"'
                )
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


# --- value filters: ESPHome's names and meanings; filters.py runs them ------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowConfig:
    name: ClassVar[str]
    window_size: int = 5
    send_every: int = 1
    send_first_at: int = 1

    def __post_init__(self) -> None:
        if self.window_size < 1:
            raise FieldError("window_size", f"must be >= 1, got {self.window_size}")
        if self.send_every < 1:
            raise FieldError("send_every", f"must be >= 1, got {self.send_every}")
        if not 1 <= self.send_first_at <= self.send_every:
            raise FieldError("send_first_at", "must be between 1 and send_every")


@dataclass(frozen=True, slots=True, kw_only=True)
class SlidingWindowConfig(WindowConfig):
    name: ClassVar[str] = "sliding_window_moving_average"


@dataclass(frozen=True, slots=True, kw_only=True)
class MedianConfig(WindowConfig):
    name: ClassVar[str] = "median"


@dataclass(frozen=True, slots=True, kw_only=True)
class EmaConfig:
    name: ClassVar[str] = "exponential_moving_average"
    alpha: float = 0.1
    send_every: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.alpha <= 1:
            raise FieldError("alpha", f"must be in (0, 1], got {self.alpha}")
        if self.send_every < 1:
            raise FieldError("send_every", f"must be >= 1, got {self.send_every}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ClampConfig:
    name: ClassVar[str] = "clamp"
    min_value: float = -math.inf
    max_value: float = math.inf


FilterConfig = SlidingWindowConfig | MedianConfig | EmaConfig | ClampConfig
"""One entry of `filters = [...]`; a new filter is one class here and one case in filters.py."""
FILTERS: dict[str, type[FilterConfig]] = {f.name: f for f in typing.get_args(FilterConfig)}


def parse_filter(spec: object, path: str) -> FilterConfig:
    """`{median = {window_size = 5}}` -> MedianConfig(window_size=5); errors name `path`."""
    if not isinstance(spec, dict) or len(spec) != 1:
        raise ConfigError(
            "each filter is a table with exactly one key, e.g. {median = {window_size = 5}}",
            field=path,
        )
    ((name, raw),) = spec.items()
    kind = FILTERS.get(name)
    if kind is None:
        raise ConfigError(f'unknown filter "{name}" (known: {", ".join(FILTERS)})', field=path)
    if not isinstance(raw, dict):
        raise ConfigError("filter options must be a table, e.g. {}", field=f"{path}.{name}")
    return from_table(kind, raw, f"{path}.{name}")


# --- integrations: [mqtt], [metrics], [mdns], [alerts] (docs/integrations.md) -----------------

NODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
"""A node id is one MQTT topic level, a Prometheus label value and part of HA's unique_ids."""


def default_node() -> str:
    """This machine's host name as a node id: lower case, anything else becomes "-"."""
    import socket

    name = re.sub(r"[^a-z0-9_-]+", "-", socket.gethostname().split(".")[0].lower()).strip("-_")
    return name[:64] or "pi"


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsConfig:
    """`[mqtt.tls]`: present means TLS; the system's CAs unless `ca_file` is given."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False
    """Skip the host name check (a broker with a self-made certificate): still encrypted."""

    def __post_init__(self) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            raise FieldError("cert_file", "cert_file and key_file go together")


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttConfig:
    """`[mqtt]`: publish readings (and Home Assistant discovery) to a broker, and show other
    nodes' sensors that it carries."""

    host: str
    port: int | None = None
    """Default 1883, or 8883 with `[mqtt.tls]`."""
    enabled: bool = True
    username: str | None = None
    password: str | None = None
    password_file: str | None = None
    """Read the password from this file (first line), so the config can be world-readable."""
    client_id: str | None = None
    keepalive: int = 30
    """Seconds; the broker declares this node offline (its last will) after 1.5 x this."""
    tls: TlsConfig | None = None
    prefix: str = "pi-dashboard"
    node: str = ""
    """This daemon's node id in topics, labels and HA ids; default: the host name."""
    publish: bool = True
    channel_topics: bool = True
    """Also publish each channel's value alone on `<prefix>/<node>/<sensor>/<channel>`."""
    discovery: bool = True
    discovery_prefix: str = "homeassistant"
    follow: tuple[str, ...] = ()
    """Other nodes whose sensors this dashboard shows: their ids, or "*" for every node."""
    url: str | None = None
    """The dashboard's address for HA's `configuration_url`; default http://<host name>:<port>/."""
    max_queue: int = 1000
    """Messages waiting for the broker; past that the oldest are dropped (newer values follow)."""
    max_nodes: int = 64
    max_sensors_per_node: int = 256
    max_message_bytes: int = 65536
    reconnect_max_s: float = 30.0

    def __post_init__(self) -> None:
        if not self.host:
            raise FieldError("host", "must not be empty")
        if self.port is not None and not 1 <= self.port <= 65535:
            raise FieldError("port", f"{self.port} is not a TCP port (1-65535)")
        if not 5 <= self.keepalive <= 3600:
            raise FieldError("keepalive", f"must be 5 to 3600 seconds, got {self.keepalive}")
        if self.node and not NODE_RE.match(self.node):
            raise FieldError(
                "node", f'"{self.node}" is not a node id (lower-case letters, digits, "_", "-")'
            )
        for name in ("prefix", "discovery_prefix"):
            value = getattr(self, name)
            if not value or any(c in value for c in "#+\0") or value.startswith("$"):
                raise FieldError(name, f'"{value}" is not a topic prefix (no "#", "+", "$")')
        for i, node in enumerate(self.follow):
            if node != "*" and not NODE_RE.match(node):
                raise FieldError(f"follow[{i}]", f'"{node}" is not a node id or "*"')
        if self.password is not None and self.password_file is not None:
            raise FieldError("password_file", "give password or password_file, not both")
        ranges = {
            "max_queue": (10, 1_000_000),
            "max_nodes": (1, 10_000),
            "max_sensors_per_node": (1, 10_000),
            "max_message_bytes": (1024, 1 << 24),
        }
        for name, (low, high) in ranges.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise FieldError(name, f"must be between {low} and {high}, got {value}")
        if self.reconnect_max_s < 1:
            raise FieldError("reconnect_max_s", f"must be >= 1, got {self.reconnect_max_s:g}")

    @property
    def node_id(self) -> str:
        return self.node or default_node()


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsConfig:
    """`[metrics]`: `GET /metrics` in Prometheus' text format (off by default: prometheus_client
    is loaded only when it is on)."""

    enabled: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MdnsConfig:
    """`[mdns]`: announce the dashboard as `_http._tcp` (zeroconf) so phones and `scan --lan`
    find it. Unset `enabled`: on for real hardware on a LAN address, off in mock mode."""

    enabled: bool | None = None
    name: str = ""
    """The service's instance name; default: `[server] title` on <host name>."""
    interfaces: tuple[str, ...] = ()
    """Addresses of the interfaces to announce on; default: every IPv4 one but loopback."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifierConfig:
    """`[[alerts.notify]]`: where alert notifications go."""

    type: Literal["webhook", "ntfy", "mqtt"]
    url: str = ""
    """webhook: the URL to POST JSON to; ntfy: the topic's URL (https://ntfy.sh/my-topic)."""
    topic: str = ""
    """mqtt: the topic (default `<prefix>/<node>/$alerts`)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    token: str | None = None
    """ntfy: an access token (sent as `Authorization: Bearer`)."""
    retries: int = 5
    timeout: float = 10.0
    min_severity: Literal["warn", "alarm"] = "warn"

    def __post_init__(self) -> None:
        if self.type in ("webhook", "ntfy") and not re.match(r"^https?://[^\s/]+", self.url):
            raise FieldError("url", f"{self.type} needs an http:// or https:// url")
        if not 0 <= self.retries <= 20:
            raise FieldError("retries", f"must be 0 to 20, got {self.retries}")
        if not 0.5 <= self.timeout <= 120:
            raise FieldError("timeout", f"must be 0.5 to 120 seconds, got {self.timeout:g}")


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertsConfig:
    """`[alerts]`: when a threshold, a failing or a silent sensor becomes an alert."""

    enabled: bool = True
    min_duration: float = 30.0
    """Seconds a condition must hold before it is an alert (and clear before it clears)."""
    error_after: float = 60.0
    """A sensor failing this long is an alert (0: never)."""
    silent_after: float = 10.0
    """A sensor with no read for this many intervals (at least 60 s) is an alert (0: never)."""
    startup_s: float = 30.0
    """Nothing is notified this long after start: the first reads settle (and were notified
    before the restart, if they are an old episode)."""
    notify: tuple[NotifierConfig, ...] = ()

    def __post_init__(self) -> None:
        for name in ("min_duration", "error_after", "silent_after", "startup_s"):
            if getattr(self, name) < 0:
                raise FieldError(name, f"must be >= 0, got {getattr(self, name):g}")


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
    filters: tuple[FilterConfig, ...] = ()
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


OptionsT_co = TypeVar("OptionsT_co", covariant=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorConfig(Generic[OptionsT_co]):
    """The keys every sensor has; `options` holds the type's own keys as its dataclass, so a
    sensor of that type sees them typed (`SensorConfig[SHT3xOptions]`)."""

    id: str
    type: str
    name: str
    interval: float
    deadband: float = 0.0
    timeout: float | None = None
    enabled: bool = True
    channels: Mapping[str, ChannelConfig] = field(default_factory=dict)
    options: OptionsT_co
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
    sensors: tuple[SensorConfig[object], ...] = ()
    history: HistoryConfig = field(default_factory=HistoryConfig)
    mqtt: MqttConfig | None = None
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    mdns: MdnsConfig = field(default_factory=MdnsConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    source: str = "<memory>"


TableT = TypeVar("TableT", bound="DataclassInstance")

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
    """Check `value` against annotation `tp`; convert lists to tuples, tables to dataclasses.

    `Any` in, `Any` out: TOML values are untyped, and `tp` is an annotation read at run time
    (`float | None`, `tuple[str, ...]`); each caller annotates what it asked for."""
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
    elif dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if isinstance(value, dict):
            return from_table(tp, value, path)
    else:
        raise TypeError(f"unsupported annotation {tp!r} at {path}")
    raise ConfigError(f"must be {_type_name(tp)}, got {_show(value)}", field=path)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """`cls`'s annotations, evaluated once per class: each evaluation compiles every string
    annotation again, and a config has one table per sensor."""
    return typing.get_type_hints(cls)


def from_table(
    cls: type[TableT], table: Mapping[str, Any], path: str, *, skip: frozenset[str] = frozenset()
) -> TableT:
    """Build dataclass `cls` from a TOML table; unknown keys and wrong types name `path`."""
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    prefix = f"{path}." if path else ""
    for key in table:
        if key not in fields and key not in skip:
            known = ", ".join(sorted(f for f in fields if f not in skip))
            raise ConfigError(f"unknown key (known keys: {known})", field=f"{prefix}{key}")
    kwargs: dict[str, Any] = {}
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
    known = ("server", "sensors", "history", *INTEGRATION_SECTIONS)
    for key in data:
        if key not in known:
            raise ConfigError(f"unknown section (known: {', '.join(known)})", field=key)
    server_raw = data.get("server", {})
    if not isinstance(server_raw, dict):
        raise ConfigError(f"must be a table, got {_show(server_raw)}", field="server")
    server = from_table(ServerConfig, server_raw, "server")
    raw_sensors = data.get("sensors", [])
    if not isinstance(raw_sensors, list):
        raise ConfigError("must be an array of tables ([[sensors]])", field="sensors")
    sensors: list[SensorConfig[object]] = []
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
    sections = {name: _section(data, name, cls) for name, cls in INTEGRATION_SECTIONS.items()}
    return Config(server=server, sensors=tuple(sensors), history=history, source=source, **sections)


INTEGRATION_SECTIONS: dict[str, type] = {
    "mqtt": MqttConfig,
    "metrics": MetricsConfig,
    "mdns": MdnsConfig,
    "alerts": AlertsConfig,
}


def _section(data: Mapping[str, Any], name: str, cls: type) -> Any:
    """An optional top-level table; `[mqtt]` absent is None (no broker), the others defaults."""
    raw = data.get(name)
    if raw is None:
        return None if name == "mqtt" else cls()
    if not isinstance(raw, dict):
        raise ConfigError(f"must be a table, got {_show(raw)}", field=name)
    return from_table(cls, raw, name)


def _parse_sensor(
    raw: Mapping[str, Any], types_: Mapping[str, SensorSchema], path: str
) -> SensorConfig[object]:
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
    options = from_table(schema.options, raw, path, skip=_COMMON)
    _check_address(options, schema.i2c_addresses, type_name, path)
    declared = schema.channels(options)
    channels = _parse_channels(raw.get("channels", {}), declared, f"{path}.channels")
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


def _check_address(options: object, addresses: tuple[int, ...], type_name: str, path: str) -> None:
    """`0x46 is not a valid address for sht3x (0x44, 0x45)`: the addresses are the type's."""
    if not addresses or not isinstance(options, OnI2C) or options.address in addresses:
        return
    valid = ", ".join(f"0x{a:02x}" for a in addresses)
    shown = f"0x{options.address:02x}" if options.address >= 0 else str(options.address)
    raise ConfigError(
        f"{shown} is not a valid address for {type_name} ({valid})", field=f"{path}.address"
    )


def _parse_channels(
    raw: object, known: Sequence[ChannelMeta] | None, path: str
) -> dict[str, ChannelConfig]:
    """`[sensors.channels.X]`: X must be a channel the type has (a typo must not pass silently),
    its filters known ones, its `unit` one the channel's base unit converts to."""
    if not isinstance(raw, dict):
        raise ConfigError(f"must be a table, got {_show(raw)}", field=path)
    metas = None if known is None else {m.id: m for m in known}
    out: dict[str, ChannelConfig] = {}
    for cid, table in raw.items():
        cpath = f"{path}.{cid}"
        if metas is not None and cid not in metas:
            raise ConfigError(f"unknown channel (known: {', '.join(metas)})", field=cpath)
        if not isinstance(table, dict):
            raise ConfigError(f"must be a table, got {_show(table)}", field=cpath)
        specs = table.get("filters", [])
        if not isinstance(specs, list):
            raise ConfigError(
                "must be a list of filters, e.g. [{median = {window_size = 5}}]",
                field=f"{cpath}.filters",
            )
        rest = {k: v for k, v in table.items() if k != "filters"}
        channel: ChannelConfig = from_table(ChannelConfig, rest, cpath)
        filters = tuple(parse_filter(s, f"{cpath}.filters[{j}]") for j, s in enumerate(specs))
        if metas is not None:
            unit_converter(metas[cid].unit, channel.unit, f"{cpath}.unit")
            if metas[cid].binary and any(getattr(channel, name) is not None for name in LIMITS):
                raise ConfigError("an on/off channel has no thresholds", field=cpath)
        out[cid] = replace(channel, filters=filters)
    return out


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
