"""The daemon's own wiring, end to end: an SHT3x on the simulated I2C bus reads past its
`warn_above`, State evaluates the level, and app.py's alerts fire once; values inside the
hysteresis band keep it; back below `warn_above - hysteresis` it clears once."""

from __future__ import annotations

from waiting import until

from pi_dashboard.web.keys import ALERTS, STATE

CONFIG = """
alerts = { min_duration = 0, startup_s = 0 }

[[sensors]]
id = "green"
type = "sht3x"
interval = 1
channels.temperature = { warn_above = 30, hysteresis = 1 }
"""


async def test_a_chip_past_its_threshold_fires_and_clears_one_alert(start_server, world):
    world.env.set("temperature", 25.0)
    server = await start_server(CONFIG)
    alerts, state = server.app[ALERTS], server.app[STATE]
    events: list[tuple[str, str]] = []
    alerts.subscribe(lambda e, a: events.append((e, a.message)))  # as the notifiers do

    def temperature() -> float | None:
        value = state.sensors["green"].channels["temperature"].value
        return value if isinstance(value, float) else None

    await until(lambda: temperature() is not None and abs(temperature() - 25.0) < 0.1)
    world.env.set("temperature", 31.0)
    await until(lambda: events)
    assert [e for e, _ in events] == ["firing"]
    assert events[0][1].endswith("above 30 °C")

    green = state.sensors["green"]
    world.env.set("temperature", 29.5)  # inside the band: still warn
    await until(lambda: abs((temperature() or 0) - 29.5) < 0.1)
    await until(lambda: green.ts > green.channels["temperature"].ts)  # and read again, unchanged
    alerts.tick()  # what its ticker does every few seconds: with the level ok, it would clear
    assert [e for e, _ in events] == ["firing"]
    assert len(alerts.active()) == 1

    world.env.set("temperature", 28.5)  # below 30 - 1: ok, so the next tick clears it
    await until(lambda: abs((temperature() or 0) - 28.5) < 0.1)
    alerts.tick()
    alerts.tick()
    assert [e for e, _ in events] == ["firing", "cleared"]
    assert alerts.active() == []
