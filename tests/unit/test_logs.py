"""Log rate limiting: a repeated line is written once with its count; floods are capped."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from pi_dashboard.logs import OneLineFilter, RepeatFilter


@pytest.fixture
def out(clock) -> Iterator[tuple[io.StringIO, RepeatFilter]]:
    """A handler with the daemon's two filters, on a logger of its own."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    repeat = RepeatFilter(60.0, rate=20, burst=200, clock=clock)
    handler.addFilter(OneLineFilter())
    handler.addFilter(repeat)
    for name in ("asyncio", "pi_dashboard.test"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.propagate = False
    yield stream, repeat
    for name in ("asyncio", "pi_dashboard.test"):
        logger = logging.getLogger(name)
        logger.removeHandler(handler)
        logger.propagate = True


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def accept_error() -> None:
    """What asyncio logs when accept() fails with EMFILE: a multi-line message and a traceback."""
    try:
        raise OSError(24, "Too many open files")
    except OSError as e:
        logging.getLogger("asyncio").error(
            "socket.accept() out of system resource\nsocket: <socket fd=6>", exc_info=e
        )


def test_194000_repeats_are_one_line_then_a_count(out, clock):
    stream, _ = out
    for _ in range(194_000):
        accept_error()
    assert lines(stream) == [
        "asyncio socket.accept() out of system resource: OSError: [Errno 24] Too many open files"
    ]
    clock.now += 61
    accept_error()
    (last,) = lines(stream)[1:]
    assert "repeated 193999 times in 61 s" in last


def test_different_lines_pass_and_ours_keep_their_traceback(out):
    stream, _ = out
    log = logging.getLogger("pi_dashboard.test")
    log.warning("sensor %s lost", "a")
    log.warning("sensor %s lost", "b")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("our own bug")
    text = stream.getvalue()
    assert "sensor a lost" in text
    assert "sensor b lost" in text
    assert "Traceback" in text  # a bug of ours keeps its traceback


def test_a_flood_of_different_lines_is_capped_and_counted(out, clock):
    stream, _ = out
    log = logging.getLogger("pi_dashboard.test")
    for i in range(10_000):
        log.warning("bad packet %d", i)
    assert len(lines(stream)) == 200  # the burst
    clock.now += 1  # 20 more lines' worth
    for i in range(100):
        log.warning("late %d", i)
    new = lines(stream)[200:]
    assert len(new) == 20
    assert "9800 other lines suppressed" in new[0]


def test_the_table_of_seen_lines_is_bounded(clock):
    f = RepeatFilter(60.0, rate=1e9, burst=1e9, max_keys=10, clock=clock)
    for i in range(1000):
        f.filter(logging.LogRecord("x", logging.WARNING, "", 0, "line %d", (i,), None))
    assert len(f._seen) == 10
