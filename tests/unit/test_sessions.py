"""Sessions and the failed-login limit on an injected clock: expiry, rotation, and both tables
held at their limits."""

from __future__ import annotations

import pytest

from pi_dashboard.web.sessions import GRACE_S, ROTATE_S, LoginLimiter, Sessions


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_session_expires_at_its_lifetime(clock):
    sessions = Sessions(lifetime=3600, limit=8, clock=clock)
    raw, s = sessions.create()
    clock.t += 3599
    found, _ = sessions.find(raw)
    assert found is s
    clock.t += 1
    assert sessions.find(raw) == (None, None)
    assert len(sessions) == 0
    assert sessions.expired() == [s.key]  # so its sockets are closed


def test_the_cookie_value_rotates_and_the_old_one_lapses(clock):
    sessions = Sessions(lifetime=7 * 86400, limit=8, clock=clock)
    raw, s = sessions.create()
    clock.t += ROTATE_S - 1
    assert sessions.find(raw) == (s, None)
    clock.t += 1
    found, new = sessions.find(raw)
    assert found is s
    assert new is not None
    assert new != raw
    assert sessions.find(new) == (s, None)
    assert sessions.find(raw) == (s, None)  # a request sent before the new cookie arrived
    clock.t += GRACE_S
    assert sessions.find(raw) == (None, None)
    assert sessions.find(new) == (s, None)  # same session, same expiry
    assert s.expires == 1000.0 + 7 * 86400


def test_sessions_table_holds_its_limit(clock):
    sessions = Sessions(lifetime=3600, limit=3, clock=clock)
    made = [sessions.create() for _ in range(5)]
    assert len(sessions) == 3
    assert sessions.evicted == 2
    assert [sessions.find(raw)[0] is None for raw, _ in made] == [True, True, False, False, False]
    assert sessions.expired() == [made[0][1].key, made[1][1].key]


def test_a_session_ends_at_logout_with_every_value(clock):
    sessions = Sessions(lifetime=7 * 86400, limit=8, clock=clock)
    raw, s = sessions.create()
    clock.t += ROTATE_S
    _, new = sessions.find(raw)
    assert new is not None
    assert sessions.end(s.key) is s
    assert sessions.find(raw) == (None, None)
    assert sessions.find(new) == (None, None)


def test_login_limit_per_address(clock):
    limit = LoginLimiter(failures=3, lockout=60, max_addresses=100, clock=clock)
    for _ in range(3):
        assert limit.retry_after("192.0.2.1") == 0
        limit.failed("192.0.2.1")
    assert limit.retry_after("192.0.2.1") == pytest.approx(60)
    assert limit.retry_after("192.0.2.2") == 0  # another address is not held back
    clock.t += 60
    assert limit.retry_after("192.0.2.1") == 0  # one more try per lockout
    limit.failed("192.0.2.1")
    assert limit.retry_after("192.0.2.1") == pytest.approx(60)
    limit.succeeded("192.0.2.1")
    assert limit.retry_after("192.0.2.1") == 0


def test_an_ipv6_address_counts_as_its_64(clock):
    limit = LoginLimiter(failures=2, lockout=60, max_addresses=100, clock=clock)
    limit.failed("2001:db8:1:2::1")
    limit.failed("2001:db8:1:2::ffff")
    assert limit.retry_after("2001:db8:1:2:aaaa::3") > 0
    assert limit.retry_after("2001:db8:1:3::1") == 0
    assert LoginLimiter.key("::ffff:192.0.2.7") == "192.0.2.7"


def test_login_table_holds_its_limit_and_all_failures_are_limited_too(clock):
    limit = LoginLimiter(failures=3, lockout=60, max_addresses=4, clock=clock)
    for i in range(10):
        limit.failed(f"192.0.2.{i}")
        assert len(limit) <= 4
    assert len(limit) == 4
    # ten addresses' worth of failures in all (30): past that, everyone waits
    for i in range(20):
        limit.failed(f"198.51.100.{i}")
    assert limit.retry_after("203.0.113.9") > 0
