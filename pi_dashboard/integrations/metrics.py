"""`GET /metrics` for Prometheus, through prometheus_client (loaded only with `[metrics] enabled`).

Values are read from State at scrape time (a collector, not a gauge set on every reading: the
readings' hot path stays untouched). One gauge family per channel kind and unit, e.g.
`pi_dashboard_temperature_celsius{node, sensor, channel, room}`, other nodes' sensors included;
per sensor the reads and errors as counters and the poll latency as a histogram (fed by the
poller), plus connected clients, the MQTT link, and prometheus_client's process collector.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from pi_dashboard.model import Status
from pi_dashboard.state import State

PREFIX = "pi_dashboard"
UNIT_NAMES = {
    "°C": "celsius",
    "°F": "fahrenheit",
    "K": "kelvin",
    "%": "percent",
    "hPa": "hectopascals",
    "Pa": "pascals",
    "kPa": "kilopascals",
    "inHg": "inches_of_mercury",
    "mmHg": "millimeters_of_mercury",
    "lx": "lux",
    "V": "volts",
    "mV": "millivolts",
    "A": "amperes",
    "W": "watts",
    "m": "meters",
    "cm": "centimeters",
    "mm": "millimeters",
    "in": "inches",
    "s": "seconds",
    "B": "bytes",
    "MB": "megabytes",
    "GB": "gigabytes",
    "MiB": "mebibytes",
    "GiB": "gibibytes",
    "dBm": "dbm",
    "ppm": "ppm",
    "Hz": "hertz",
}
"""Prometheus names carry the unit (its naming guide); a unit not listed goes to a `unit` label."""
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def family_name(kind: str, unit: str | None, binary: bool) -> tuple[str, str | None]:
    """(metric name, the unit if the name cannot say it) for a channel kind and unit."""
    base = f"{PREFIX}_{re.sub(r'[^a-z0-9_]', '_', kind) if kind != 'none' else 'value'}"
    if binary:
        return f"{base}_state", None
    if not unit:
        return base, None
    suffix = UNIT_NAMES.get(unit)
    return (f"{base}_{suffix}", None) if suffix else (base, unit)


class Metrics:
    """The registry /metrics renders, and the poller's hook (`observe_poll`)."""

    def __init__(
        self,
        state: State,
        *,
        node: str,
        clients: Callable[[], int] = lambda: 0,
        links: Mapping[str, Callable[[], Mapping[str, object]]] | None = None,
    ) -> None:
        self.state = state
        self.node = node
        self.clients = clients
        self.links = links if links is not None else {}
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        self.latency = Histogram(
            f"{PREFIX}_poll_duration_seconds",
            "Time one read of a sensor took (its bus worker's call, setup excluded)",
            ["sensor"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.reads: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.registry.register(_Collector(self))

    def observe_poll(self, sensor: str, seconds: float, ok: bool) -> None:
        """Called by the poller after every read of one of this daemon's sensors."""
        self.latency.labels(sensor).observe(seconds)
        counts = self.reads if ok else self.errors
        counts[sensor] = counts.get(sensor, 0) + 1

    def render(self, accept: str) -> tuple[bytes, str]:
        """The exposition for a scraper's Accept header (text format, or OpenMetrics)."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type


class _Collector:
    """Everything State knows, at scrape time."""

    def __init__(self, m: Metrics) -> None:
        self.m = m

    def describe(self) -> list[Metric]:
        return []  # families depend on the sensors: collected, not declared

    def collect(self) -> Iterator[Metric]:
        m = self.m
        families: dict[str, GaugeMetricFamily] = {}
        up = GaugeMetricFamily(
            f"{PREFIX}_sensor_up", "1 while the sensor reads fine", labels=["node", "sensor"]
        )
        last = GaugeMetricFamily(
            f"{PREFIX}_sensor_last_read_timestamp_seconds",
            "When the sensor was last read successfully (epoch s)",
            labels=["node", "sensor"],
        )
        for s in m.state.sensors.values():
            node = s.node or m.node
            up.add_metric([node, s.id], 1.0 if s.status is Status.OK else 0.0)
            if s.ts is not None:
                last.add_metric([node, s.id], s.ts)
            for cid, ch in s.channels.items():
                if ch.value is None:
                    continue
                value = float(ch.value)
                if not math.isfinite(value):
                    continue
                meta = ch.meta
                name, unit = family_name(meta.device_class.value, meta.unit, meta.binary)
                labels = ["node", "sensor", "channel", "room"] + (["unit"] if unit else [])
                key = f"{name}|{unit}" if unit else name
                fam = families.get(key)
                if fam is None:
                    what = meta.device_class.value if meta.device_class.value != "none" else ""
                    doc = f"Latest {what or 'plain'} value{f' in {meta.unit}' if meta.unit else ''}"
                    fam = families[key] = GaugeMetricFamily(name, doc, labels=labels)
                fam.add_metric([node, s.id, cid, s.name, *([unit] if unit else [])], value)
        yield from families.values()
        yield up
        yield last
        reads = CounterMetricFamily(
            f"{PREFIX}_sensor_reads", "Successful reads of this daemon's sensors", labels=["sensor"]
        )
        errors = CounterMetricFamily(
            f"{PREFIX}_sensor_errors", "Failed reads of this daemon's sensors", labels=["sensor"]
        )
        for s in m.state.sensors.values():
            if not s.node:
                reads.add_metric([s.id], m.reads.get(s.id, 0))
                errors.add_metric([s.id], m.errors.get(s.id, 0))
        yield reads
        yield errors
        yield GaugeMetricFamily(
            f"{PREFIX}_clients", "Browsers connected over Socket.IO", value=m.clients()
        )
        nodes = GaugeMetricFamily(
            f"{PREFIX}_node_up", "1 while another node whose sensors are shown is online",
            labels=["node"],
        )  # fmt: skip
        for n in m.state.nodes.values():
            nodes.add_metric([n.id], 1.0 if n.online else 0.0)
        yield nodes
        for name, stats in m.links.items():
            link = stats()
            yield GaugeMetricFamily(
                f"{PREFIX}_{name}_connected", f"1 while the {name} link is up",
                value=1.0 if link.get("connected") else 0.0,
            )  # fmt: skip
            for key in ("published", "dropped"):
                v = link.get(key)
                if isinstance(v, int):
                    yield CounterMetricFamily(
                        f"{PREFIX}_{name}_{key}_messages", f"Messages {key} by the {name} link",
                        value=v,
                    )  # fmt: skip
