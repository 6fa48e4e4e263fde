"""The soak: 10 sensors @ 1 s and 5 clients for 10 minutes, with everything the config turns on,
and the daemon's RSS sampled throughout. The figure is RSS growth per hour (least squares over
the samples after a warm-up): a leak of a few bytes per reading shows as MB per hour here long
before it shows on a Pi that has run for a month."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

from bench.broker import broker
from bench.load import Stats, connect_all, percentile
from bench.scenarios import HOST, Scenario, Server, Target, project_target

SAMPLE_S = 5.0
WARMUP_S = 30.0
THRESHOLDS = """
[sensors.channels.temperature]
warn_above = 21.5
alarm_above = 23
hysteresis = 0.2
"""
"""On the last sensor: the demo's temperature wanders across them, so levels change and alerts
fire and clear. History and alerts are on by default; MQTT is added when a broker runs."""


def slope_per_hour(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per hour."""
    n = len(samples)
    if n < 2:
        return float("nan")
    mt = sum(t for t, _ in samples) / n
    mv = sum(v for _, v in samples) / n
    den = sum((t - mt) ** 2 for t, _ in samples)
    return 3600 * sum((t - mt) * (v - mv) for t, v in samples) / den if den else float("nan")


async def soak(server: Server, clients: int, seconds: float, warmup: float) -> dict[str, float]:
    stats = Stats()
    conns = await connect_all(HOST, server.port, clients, stats)
    try:
        t0 = time.monotonic()
        cpu0 = server.cpu_s()
        samples: list[tuple[float, float]] = []
        stats.measuring = True
        while (now := time.monotonic() - t0) < seconds:
            if now >= warmup:
                samples.append((now, server.rss_mb()))
            await asyncio.sleep(min(SAMPLE_S, seconds - now))
        samples.append((time.monotonic() - t0, server.rss_mb()))
        cpu = server.cpu_s() - cpu0
    finally:
        for c in conns:
            c.close()
    lat = [x * 1000 for x in stats.latencies]
    return {
        "minutes": seconds / 60,
        "rss_start_mb": samples[0][1],
        "rss_end_mb": samples[-1][1],
        "rss_growth_mb_per_h": slope_per_hour(samples),
        "cpu_pct": 100 * cpu / seconds,
        "lat_p99_ms": percentile(lat, 0.99),
        "messages": stats.messages,
        "disconnects": stats.disconnects,
    }


def main(minutes: float, run_dir: Path) -> dict[str, float]:
    """With MQTT when Debian's mosquitto is here (else said, and the rest measured)."""
    with contextlib.ExitStack() as stack:
        try:
            port: int | None = stack.enter_context(broker(run_dir))
        except RuntimeError as e:
            print(f"soak without MQTT: {e}", flush=True)
            port = None
        return _soak(minutes, run_dir, port)


def _soak(minutes: float, run_dir: Path, mqtt_port: int | None) -> dict[str, float]:
    base = project_target()
    extra = THRESHOLDS
    if mqtt_port is not None:
        extra += f'\n[mqtt]\nhost = "127.0.0.1"\nport = {mqtt_port}\nnode = "soak"\n'

    def command(port: int, sc: Scenario, d: Path) -> list[str]:
        argv = base.command(port, sc, d)
        toml = Path(argv[argv.index("--config") + 1])
        toml.write_text(toml.read_text() + "\n" + extra)
        return argv

    sc = Scenario("soak", 10, 1.0, clients=5, duration=minutes * 60)
    server = Server(Target("project", command, base.env), sc, run_dir)
    try:
        server.wait_http()
        warmup = min(WARMUP_S, sc.duration / 4)  # a smoke run's soak lasts seconds
        out = asyncio.run(soak(server, sc.clients, sc.duration, warmup))
    finally:
        server.stop()
    print(
        f"== soak ({minutes:g} min, 10 sensors @ 1 s, 5 clients; history, alerts"
        f"{', MQTT' if mqtt_port is not None else ''} on)\n"
        f"RSS {out['rss_start_mb']:.1f} -> {out['rss_end_mb']:.1f} MB, "
        f"growth {out['rss_growth_mb_per_h']:+.2f} MB/h; CPU {out['cpu_pct']:.2f} %; "
        f"p99 {out['lat_p99_ms']:.2f} ms; {out['messages']} readings, "
        f"{out['disconnects']} disconnects",
        flush=True,
    )
    return out
