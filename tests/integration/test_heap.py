"""The daemon gives its C heap's free pages back (web/server.py `trim_heap`): once it serves, then
every hour, and only where ctypes is loaded already (importing it costs more than a trim saves)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from pi_dashboard.web.server import trim_heaps


@pytest.mark.parametrize("ctypes_loaded", [False, True])
def test_the_start_trims_the_heap_where_ctypes_is_loaded_already(ctypes_loaded):
    """In a fresh interpreter, as the daemon's start: mock mode loads no ctypes, smbus2 does."""
    code = (
        "import sys\n"
        f"if {ctypes_loaded}: import ctypes\n"
        "from pi_dashboard.web.server import settle_heap\n"
        "print(settle_heap(), 'ctypes' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    ).stdout.split()
    assert out == [str(ctypes_loaded), str(ctypes_loaded)]


async def test_the_heap_is_trimmed_again_while_the_daemon_runs():
    trims = 0
    third = asyncio.Event()

    def trim() -> None:
        nonlocal trims
        trims += 1
        if trims == 3:
            third.set()

    trim_heaps(asyncio.get_running_loop(), 0.01, trim)
    assert trims == 0, "not at once: the start trims in settle_heap"
    async with asyncio.timeout(10):
        await third.wait()
