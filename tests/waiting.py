"""How tests wait: for a condition, with a deadline; never for a fixed time or a rate.

A loaded machine (CI, two busy processes beside the suite) makes everything slower, so a test
that sleeps "long enough" or counts events per second flakes there; one that waits for what it
needs to see, with a generous deadline, only gets slower. `until` is for coroutines (it yields to
the event loop between checks, and awaits a condition that is a coroutine function: an HTTP
request, say), `wait_until` for plain code and threads. Both poll `condition` every POLL_S, return
its first true value, and fail with `what` (or the condition's source) when the deadline passes.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import select
import subprocess
import time
from collections.abc import Awaitable, Callable
from typing import IO, TypeVar

LIMIT_S = 10.0
"""Default deadline: far above what any condition needs on an idle machine."""
POLL_S = 0.01

T = TypeVar("T")
Describe = str | Callable[[], str] | None


def _timed_out(condition: Callable[[], object], limit: float, what: Describe) -> AssertionError:
    if callable(what):
        what = what()
    if what is None:
        try:
            what = inspect.getsource(condition).strip()
        except (OSError, TypeError):
            what = repr(condition)
    return AssertionError(f"timed out after {limit:g} s waiting for: {what}")


async def until(
    condition: Callable[[], T | Awaitable[T]], limit: float = LIMIT_S, what: Describe = None
) -> T:
    """`condition()`'s first true value, as soon as there is one; AssertionError after `limit`."""
    deadline = time.monotonic() + limit
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            raise _timed_out(condition, limit, what)
        await asyncio.sleep(POLL_S)


def wait_until(condition: Callable[[], T], limit: float = LIMIT_S, what: Describe = None) -> T:
    """`until` for code that is not a coroutine (subprocess tests, threads)."""
    deadline = time.monotonic() + limit
    while not (value := condition()):
        if time.monotonic() >= deadline:
            raise _timed_out(condition, limit, what)
        time.sleep(POLL_S)
    return value


def read_until(stream: IO[bytes] | IO[str], needle: str, limit: float = LIMIT_S) -> str:
    """What a child process wrote to `stream` (a pipe) until `needle` appears; fails on its
    exit or at the deadline. Reads the descriptor itself: a buffered readline could hold the
    line that `select` is waiting for, and the test would hang until its deadline."""
    got = b""
    deadline = time.monotonic() + limit
    while needle.encode() not in got:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(
                f"{needle!r} not written within {limit} s:\n{got.decode()[-2000:]}"
            )
        if select.select([stream], [], [], left)[0]:
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                raise AssertionError(
                    f"the process exited before {needle!r}:\n{got.decode()[-2000:]}"
                )
            got += chunk
    return got.decode()


def output_until(argv: list[str], needle: str, limit: float = LIMIT_S) -> str:
    """Start `argv`, return its stderr up to `needle` (see `read_until`), then stop it (SIGTERM,
    SIGKILL if it will not go): for what a command says as it starts."""
    proc = subprocess.Popen(
        argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL
    )
    assert proc.stderr is not None
    try:
        said = read_until(proc.stderr, needle, limit)
        proc.terminate()
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return said
