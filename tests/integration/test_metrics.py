"""`GET /metrics`, parsed by prometheus_client's own parser: the families and labels we promise."""

from __future__ import annotations

import socketio
from aiohttp import ClientSession
from prometheus_client.parser import text_string_to_metric_families
from waiting import until

from pi_dashboard.model import ChannelMeta, DeviceClass
from pi_dashboard.state import NodeState
from pi_dashboard.web.keys import STATE

CONFIG = """
[metrics]
enabled = true

[mqtt]
host = "127.0.0.1"
port = 1
node = "here"
publish = false
discovery = false

[[sensors]]
id = "living"
type = "demo"
name = "Living room"
interval = 0.2

[[sensors]]
id = "hot"
type = "demo"
name = "Impossible box"
interval = 0.2
temperature = 200
"""


async def scrape(server) -> dict:
    async with ClientSession() as s:
        resp = await s.get(server.make_url("/metrics"))
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await resp.text()
    return {f.name: f for f in text_string_to_metric_families(text)}


async def test_metrics_parse_with_the_labels_we_promise(start_server):
    server = await start_server(CONFIG)
    state = server.app[STATE]
    # another node's sensor, as remote.py adds it
    state.add_sensor(
        id="bench", type="demo", name="Garage", interval=1.0, node="garage",
        channels=[ChannelMeta(id="temperature", name="T", unit="°C",
                              device_class=DeviceClass.TEMPERATURE)],
    )  # fmt: skip
    state.publish_values("garage/bench", 1.0, {"temperature": 7.5})
    client = socketio.AsyncClient()
    await client.connect(str(server.make_url("/")), transports=["websocket"])
    try:
        await until(lambda: state.sensors["living"].ts is not None)
        await until(lambda: state.sensors["hot"].error is not None)
        fams = await scrape(server)
    finally:
        await client.disconnect()
    temp = fams["pi_dashboard_temperature_celsius"]
    assert temp.type == "gauge"
    by = {(s.labels["node"], s.labels["sensor"]): s for s in temp.samples}
    living = by[("here", "living")]
    assert living.labels == {"node": "here", "sensor": "living", "channel": "temperature",
                             "room": "Living room"}  # fmt: skip
    assert living.value == state.sensors["living"].channels["temperature"].value
    assert by[("garage", "bench")].value == 7.5  # remote nodes included
    assert "pi_dashboard_humidity_percent" in fams
    assert "pi_dashboard_atmospheric_pressure_hectopascals" in fams
    reads = {s.labels["sensor"]: s.value for s in fams["pi_dashboard_sensor_reads"].samples
             if s.name.endswith("_total")}  # fmt: skip
    errors = {s.labels["sensor"]: s.value for s in fams["pi_dashboard_sensor_errors"].samples
              if s.name.endswith("_total")}  # fmt: skip
    assert reads["living"] >= 1
    assert errors["hot"] >= 1
    assert fams["pi_dashboard_sensor_reads"].type == "counter"
    latency = fams["pi_dashboard_poll_duration_seconds"]
    assert latency.type == "histogram"
    counts = [s for s in latency.samples if s.name.endswith("_count")]
    assert {s.labels["sensor"] for s in counts} >= {"living", "hot"}
    up = {s.labels["sensor"]: s.value for s in fams["pi_dashboard_sensor_up"].samples}
    assert (up["living"], up["hot"]) == (1.0, 0.0)
    assert fams["pi_dashboard_clients"].samples[0].value == 1
    assert fams["pi_dashboard_mqtt_connected"].samples[0].value == 0.0
    assert fams["process_resident_memory_bytes"].samples[0].value > 0


async def test_metrics_are_off_by_default(start_server):
    server = await start_server('[[sensors]]\nid = "d"\ntype = "demo"\n')
    async with ClientSession() as s:
        resp = await s.get(server.make_url("/metrics"))
        assert resp.status == 404
        assert "enabled = true" in (await resp.json())["error"]


async def test_the_grafana_dashboard_uses_only_metrics_we_export(start_server):
    import json
    import re
    from pathlib import Path

    dash = json.loads((Path(__file__).parents[2] / "docs" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    exprs += [v["query"] for v in dash["templating"]["list"]]
    used = {m for e in exprs for m in re.findall(r"\b(?:pi_dashboard|process)_[a-z_]+", e)}
    server = await start_server(CONFIG + '[[sensors]]\nid = "w"\ntype = "bh1750"\n')
    state = server.app[STATE]
    state.set_node(NodeState(id="garage", online=True))
    await until(lambda: all(s.ts or s.error for s in state.sensors.values()))
    fams = await scrape(server)
    samples = {s.name for f in fams.values() for s in f.samples}
    assert used
    assert used <= samples, f"not exported: {used - samples}"
