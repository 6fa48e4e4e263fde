"""Password guessing against a real daemon with `[server.auth]` on: from one address, and from
300 (distinct loopback source addresses). Bounded in count and time; each prints the daemon's RSS
before and after and how fast a token request was answered meanwhile (docs/security.md)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from live_daemon import Daemon

from pi_dashboard.web.auth import MAX_PENDING_LOGINS
from pi_dashboard.web.credentials import CredentialFile

CONFIG = '[server.auth]\nenabled = true\n[[sensors]]\nid = "d"\ntype = "demo"\ninterval = 0.2\n'
FAILURES = 5  # [server.auth] login_failures' default
ALL_FAILURES = 10 * FAILURES  # all addresses together


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[tuple[Daemon, str]]:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    d = Daemon(config=config, tmp=tmp_path)
    f = CredentialFile(d.data_dir)
    f.set_password("correct horse battery")
    token = f.create_token("monitor")
    d.start()
    yield d, token
    d.kill()
    assert "Traceback" not in "\n".join(d.log), "\n".join(d.log[-30:])


async def guess(d: Daemon, source: str, i: int) -> int:
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.post(f"{d.url}/auth/login", json={"password": f"guess {i}"}) as r,
    ):
        await r.read()
        return r.status


async def quiet(d: Daemon, token: str) -> float:
    """The reference: the slowest of 20 token requests with nobody guessing (seconds)."""
    headers = {"Authorization": f"Bearer {token}"}
    slowest = 0.0
    async with aiohttp.ClientSession() as http:
        for _ in range(20):
            t = time.perf_counter()
            async with http.get(f"{d.url}/api/sensors", headers=headers) as r:
                await r.read()
            slowest = max(slowest, time.perf_counter() - t)
    return slowest


async def attack(
    d: Daemon, token: str, sources: list[str], count: int, at_once: int
) -> tuple[Counter, float]:
    """`count` wrong passwords, `at_once` at a time, spread over `sources`; meanwhile a token
    request every 50 ms: the statuses, and the slowest token request (seconds)."""
    gate = asyncio.Semaphore(at_once)
    slowest = 0.0
    done = asyncio.Event()

    async def one(i: int) -> int:
        async with gate:
            return await guess(d, sources[i % len(sources)], i)

    async def monitor() -> None:
        nonlocal slowest
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession() as http:
            while not done.is_set():
                t = time.perf_counter()
                async with http.get(f"{d.url}/api/sensors", headers=headers) as r:
                    assert r.status == 200
                    await r.read()
                slowest = max(slowest, time.perf_counter() - t)
                await asyncio.sleep(0.05)

    watcher = asyncio.create_task(monitor())
    try:
        async with asyncio.timeout(60):
            statuses = Counter(await asyncio.gather(*(one(i) for i in range(count))))
    finally:
        done.set()
        await watcher
    return statuses, slowest


async def test_guessing_from_one_address(guarded, measure):
    d, token = guarded
    reference = await quiet(d, token)
    with measure(d, "1,000 wrong passwords from one address"):
        statuses, slowest = await attack(d, token, ["127.0.0.1"], 1000, at_once=20)
    print(f"statuses {dict(statuses)}; slowest token request {slowest * 1000:.0f} ms "
          f"(unattacked: {reference * 1000:.0f} ms)")  # fmt: skip
    assert statuses[401] == FAILURES  # each one a scrypt; then the address waits a minute
    assert statuses[429] == 1000 - FAILURES


async def test_guessing_from_300_addresses(guarded, measure):
    d, token = guarded
    sources = [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(300)]
    reference = await quiet(d, token)
    with measure(d, "1,200 wrong passwords from 300 addresses"):
        statuses, slowest = await attack(d, token, sources, 1200, at_once=MAX_PENDING_LOGINS)
    print(f"statuses {dict(statuses)}; slowest token request {slowest * 1000:.0f} ms "
          f"(unattacked: {reference * 1000:.0f} ms)")  # fmt: skip
    # each address could fail 5 times (1,500 in all): all of them together fail 50 times (and
    # what refilled meanwhile, 10 a minute)
    assert ALL_FAILURES <= statuses[401] <= ALL_FAILURES + 2
    assert statuses[401] + statuses[429] == 1200
