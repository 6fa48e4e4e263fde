"""The pure parts of the web layer's limits: rate buckets, the Host allow-list, merged backlogs,
the open-files budget and the `[server]` keys."""

from __future__ import annotations

import resource

import pytest

from pi_dashboard.errors import ConfigError
from pi_dashboard.web.hosts import HostAllowList, host_name
from pi_dashboard.web.limits import FD_RESERVE, LISTEN_BACKLOG, TokenBucket, fit_connections
from pi_dashboard.web.live import Backlog


def test_token_bucket_allows_a_burst_then_the_rate(clock):
    bucket = TokenBucket(2.0, 5.0, clock)
    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]
    clock.sleep(1.0)
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    clock.sleep(100.0)  # never more than the burst
    assert sum(bucket.take() for _ in range(10)) == 5


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("pi.local:8080", "pi.local"),
        ("[::1]:8080", "::1"),
        ("192.168.1.5", "192.168.1.5"),
        ("Kitchen-Pi.", "kitchen-pi"),
        ("bad host:80", "bad host"),
        ("[::1", None),
    ],
)
def test_host_name(header, name):
    assert host_name(header) == name


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("localhost:8080", True),
        ("app.localhost", True),
        ("kitchen:8080", True),
        ("KITCHEN.local:8080", True),
        ("dash.example.org", True),
        ("127.0.0.1:8080", True),
        ("[::1]:8080", True),
        ("10.1.2.3", True),
        (None, True),
        ("evil.example:8080", False),
        ("kitchen.evil.example", False),
        ("localhost.evil.example", False),
        ("", False),
    ],
)
def test_host_allow_list(header, ok):
    hosts = HostAllowList(["dash.example.org"], hostname="kitchen")
    assert hosts.allows(header) is ok


def test_star_allows_any_host():
    assert HostAllowList(["*"], hostname="kitchen").allows("whatever.example")


def test_origin_must_match_the_allowed_host_itself():
    hosts = HostAllowList([], hostname="kitchen")
    assert hosts.same_origin("http://kitchen.local:8080", "kitchen.local:8080")
    assert not hosts.same_origin("http://evil.example:8080", "kitchen.local:8080")
    assert not hosts.same_origin("http://evil.example:8080", "evil.example:8080")  # rebinding
    assert not hosts.same_origin("null", "kitchen.local:8080")
    assert not hosts.same_origin(None, "kitchen.local:8080")


def test_backlog_keeps_the_latest_value_per_channel_and_the_last_error():
    b = Backlog()
    b.add({"sensor": "a", "ts": 1.0, "values": {"t": 1, "h": 50}, "status": "ok"})
    b.add({"sensor": "b", "ts": 1.5, "values": {}, "status": "error", "error": "lost"})
    b.add({"sensor": "a", "ts": 2.0, "values": {"t": 2}, "status": "ok"})
    b.add({"sensor": "a", "ts": 3.0, "values": {}, "status": "error", "error": "NACK"})
    assert len(b) == 2
    assert b.drain() == [
        {"sensor": "a", "ts": 2.0, "values": {"t": 2, "h": 50}, "status": "ok"},
        {"sensor": "a", "ts": 3.0, "values": {}, "status": "error", "error": "NACK"},
        {"sensor": "b", "ts": 1.5, "values": {}, "status": "error", "error": "lost"},
    ]
    assert len(b) == 0


def test_backlog_recovery_after_error_drops_the_error():
    b = Backlog()
    b.add({"sensor": "a", "ts": 1.0, "values": {}, "status": "error", "error": "lost"})
    b.add({"sensor": "a", "ts": 2.0, "values": {"t": 2}, "status": "ok"})
    assert b.drain() == [{"sensor": "a", "ts": 2.0, "values": {"t": 2}, "status": "ok"}]


def test_max_connections_fits_under_the_open_files_limit(caplog):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert fit_connections(100) == 100
    if hard == resource.RLIM_INFINITY:
        pytest.skip("no hard limit on open files here")
    try:
        fitted = fit_connections(hard)  # cannot fit: the backlog and our own files need room
        assert fitted == hard - LISTEN_BACKLOG - FD_RESERVE
        assert "max_connections lowered" in caplog.text
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[server]\nallowed_hosts = ['http://pi']\n", "server.allowed_hosts[0]:"),
        ("[server]\nmax_connections = 0\n", "server.max_connections: must be between 1"),
        ("[server]\nheader_timeout = 0\n", "server.header_timeout: must be > 0"),
        ("[server]\nclient_queue = 2\n", "server.client_queue: must be between 8"),
        ("[server]\nmax_message_bytes = 100\n", "server.max_message_bytes: must be between"),
        ("[server]\nmessages_per_s = -1\n", "server.messages_per_s: must be > 0"),
    ],
)
def test_server_limits_are_validated(make_config, text, expected):
    with pytest.raises(ConfigError) as e:
        make_config(text)
    assert expected in str(e.value)


def test_server_defaults_are_documented(make_config):
    """Every [server] key appears in docs/config.md with its default."""
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "config.md").read_text()
    server = make_config("").server
    for key, f in server.__dataclass_fields__.items():
        value = getattr(server, key)
        if "Config" in str(f.type):  # a table of its own: [server.auth], [server.tls]
            assert f"### `[server.{key}]`" in docs, key
            continue
        shown = f'"{value}"' if isinstance(value, str) else "[]" if value == () else f"{value:g}"
        assert f"| `{key}` |" in docs, key
        assert f"`{shown}`" in docs.split(f"| `{key}` |")[1].split("\n")[0], (key, shown)
