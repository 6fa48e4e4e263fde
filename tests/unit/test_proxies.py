"""Which address X-Forwarded-For names as the client (web/proxies.py)."""

from __future__ import annotations

import pytest

from pi_dashboard.errors import ConfigError
from pi_dashboard.web.proxies import MAX_HOPS, Proxies

PROXIES = Proxies(["127.0.0.1/32", "10.0.0.0/8", "fd00::/8"])


@pytest.mark.parametrize(
    ("header", "client"),
    [
        ("203.0.113.5", "203.0.113.5"),
        ("203.0.113.5, 10.1.2.3", "203.0.113.5"),  # through a second proxy of ours
        ("1.1.1.1, 203.0.113.5", "203.0.113.5"),  # what the client wrote itself is ignored
        (" 2001:db8::1 ,fd00::2", "2001:db8::1"),
        ("10.0.0.9, 127.0.0.1", "10.0.0.9"),  # every hop ours: the first one
    ],
)
def test_the_rightmost_address_that_is_not_a_proxy_is_the_client(header, client):
    assert PROXIES.client(header) == client


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("unknown", "'unknown' is not an IP address"),
        ("1.2.3.4,,5.6.7.8", "'' is not an IP address"),
        ("1.2.3.4:5678", "'1.2.3.4:5678' is not an IP address"),
        (",".join(["1.2.3.4"] * (MAX_HOPS + 1)), f"more than {MAX_HOPS} addresses"),
    ],
)
def test_a_malformed_header_is_refused(header, message):
    with pytest.raises(ValueError, match=message):
        PROXIES.client(header)


def test_only_listed_proxies_are_trusted():
    assert PROXIES.trusted("10.200.0.1")
    assert PROXIES.trusted("::ffff:10.200.0.1")  # an IPv4 peer on an IPv6 socket
    assert not PROXIES.trusted("192.168.1.1")
    assert not PROXIES.trusted(None)
    assert not PROXIES.trusted("not an address")


def test_config_names_a_bad_proxy(make_config):
    with pytest.raises(ConfigError, match=r"server.trusted_proxies\[1\]: \"nope\" is not"):
        make_config('[server]\ntrusted_proxies = ["127.0.0.1", "nope"]\n')
