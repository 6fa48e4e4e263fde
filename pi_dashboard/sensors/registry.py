"""Every sensor type, one line each: greppable and type-checked, no directory scanning."""

from __future__ import annotations

from pi_dashboard.sensors import (
    ads1115,
    bh1750,
    bme280,
    bmp280,
    button,
    command,
    contact,
    demo,
    dht,
    digital_in,
    distance,
    ds18b20,
    htu21d,
    motion,
    pi_health,
    sht3x,
    sht4x,
)
from pi_dashboard.sensors.base import SensorType

TYPES: dict[str, SensorType] = {
    t.name: t
    for t in (
        ads1115.TYPE,
        bh1750.TYPE,
        bme280.TYPE,
        bmp280.TYPE,
        button.TYPE,
        command.TYPE,
        contact.TYPE,
        demo.TYPE,
        dht.DHT11_TYPE,
        dht.DHT22_TYPE,
        digital_in.TYPE,
        distance.TYPE,
        ds18b20.TYPE,
        htu21d.TYPE,
        motion.TYPE,
        pi_health.TYPE,
        sht3x.TYPE,
        sht4x.TYPE,
    )
}
