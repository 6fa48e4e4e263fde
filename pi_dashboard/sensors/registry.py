"""Every sensor type, one line each: greppable and type-checked, no directory scanning."""

from __future__ import annotations

from pi_dashboard.sensors import demo, pi_health
from pi_dashboard.sensors.base import SensorType

TYPES: dict[str, SensorType] = {
    t.name: t
    for t in (
        demo.TYPE,
        pi_health.TYPE,
    )
}
