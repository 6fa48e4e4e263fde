"""Hostile clients against a real daemon (tests/live_daemon.py: `python -m pi_dashboard run --mock
--port 0` on 127.0.0.1, its port read from its startup line). Each test starts its own daemon and
measures its RSS before and after (printed, and summed up at the end of the run)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from live_daemon import Daemon, start_daemon  # noqa: F401 (a fixture)

FIGURES: list[str] = []
"""One line per test: what was tried and the daemon's RSS before and after."""


@dataclass
class Measure:
    """RSS of the daemon around one attack, printed and kept for the run's summary."""

    daemon: Daemon
    name: str
    limit_mib: float = 10.0
    """The growth allowed: the attacks that broke the daemon grew it by 37 to 225 MiB."""
    before: int = 0

    def __enter__(self) -> Measure:
        self.before = self.daemon.rss_kb()
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            after = self.daemon.rss_kb()
            line = (
                f"{self.name}: RSS {self.before / 1024:.1f} -> {after / 1024:.1f} MiB "
                f"({(after - self.before) / 1024:+.1f})"
            )
            print(line)
            FIGURES.append(line)
            assert after - self.before < self.limit_mib * 1024, line


@pytest.fixture
def daemon(request: pytest.FixtureRequest) -> Iterator[Callable[[str], Daemon]]:
    """TOML text -> a running daemon; after the test, its whole log must hold no traceback."""
    launch = request.getfixturevalue("start_daemon")
    started: list[Daemon] = []

    def start(text: str) -> Daemon:
        started.append(launch(text))
        return started[-1]

    yield start
    for d in started:
        d.kill()
        assert "Traceback" not in "\n".join(d.log), "\n".join(d.log[-30:])


@pytest.fixture
def measure() -> Callable[..., Measure]:
    """`with measure(daemon, "what was tried"):` prints and records RSS before and after, and
    fails if it grew by `limit_mib` or more."""
    return Measure


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("abuse suite: daemon RSS before -> after")
        for line in FIGURES:
            terminalreporter.write_line(line)
