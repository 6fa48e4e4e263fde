"""Optional subscribers of state, history and alerts: MQTT (with Home Assistant discovery and
other nodes' sensors), Prometheus metrics, notifiers and mDNS. Each is started from app.py as a
cleanup_ctx only when configured, and loads its library (aiomqtt, prometheus_client, zeroconf)
only then. Integrations never import polling, drivers or sim (tests/unit/test_layers.py)."""
