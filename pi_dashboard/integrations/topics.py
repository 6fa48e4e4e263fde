"""The MQTT topic layout, in one place: what mqtt.py publishes is what remote.py reads.

    <prefix>/<node>/$status            "online" / "offline" (retained; the last will says offline)
    <prefix>/<node>/$meta              JSON: the node and its sensors' channels (retained)
    <prefix>/<node>/<sensor>           JSON: status, ts, error and every channel's value (retained)
    <prefix>/<node>/<sensor>/<channel> the value alone: a number, or ON / OFF (retained)
    <prefix>/<node>/$alerts            alert notifications (not retained), when configured

Sensor and node ids never start with "$" (config.ID_RE, NODE_RE), so the `$` topics cannot collide
with a sensor; docs/integrations.md documents the payloads.
"""

from __future__ import annotations

from dataclasses import dataclass

STATUS = "$status"
META = "$meta"
ALERTS = "$alerts"
ONLINE = "online"
OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class Topics:
    prefix: str
    node: str

    def base(self, node: str | None = None) -> str:
        return f"{self.prefix}/{node or self.node}"

    def status(self, node: str | None = None) -> str:
        return f"{self.base(node)}/{STATUS}"

    def meta(self, node: str | None = None) -> str:
        return f"{self.base(node)}/{META}"

    def alerts(self) -> str:
        return f"{self.base()}/{ALERTS}"

    def sensor(self, sensor: str, node: str | None = None) -> str:
        return f"{self.base(node)}/{sensor}"

    def channel(self, sensor: str, channel: str, node: str | None = None) -> str:
        return f"{self.base(node)}/{sensor}/{channel}"

    def follow_filters(self, nodes: tuple[str, ...]) -> list[str]:
        """Subscriptions for other nodes: their status, meta and sensor states, not the
        per-channel topics (the sensor state carries the same values in one message)."""
        out = []
        for node in ("+",) if "*" in nodes else nodes:
            out.append(f"{self.prefix}/{node}/+")
        return out

    def parse(self, topic: str) -> tuple[str, str] | None:
        """`<prefix>/<node>/<leaf>` -> (node, leaf), else None."""
        head = self.prefix + "/"
        if not topic.startswith(head):
            return None
        rest = topic[len(head) :].split("/")
        if len(rest) != 2 or not rest[0] or not rest[1]:
            return None
        return rest[0], rest[1]
