"""Notifiers against real HTTP servers (aiohttp test servers): a webhook that fails twice then
succeeds, ntfy's headers, the queue's limit; and /api/alerts on a running daemon."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
import orjson
from aiohttp import web
from waiting import until

from pi_dashboard.alerts import Alert, Kind, Level
from pi_dashboard.config import NotifierConfig
from pi_dashboard.integrations import notify
from pi_dashboard.web.keys import ALERTS


def alert(severity: Level = Level.ALARM, aid: str = "green/temperature") -> Alert:
    return Alert(
        id=aid, node="", sensor="green", channel="temperature", kind=Kind.LEVEL,
        severity=severity, message="above 40 °C", since=1000.0, value=41.2, active=True,
    )  # fmt: skip


@contextlib.asynccontextmanager
async def running(cfg: NotifierConfig, kind) -> AsyncIterator[notify.Notifier]:
    """A notifier of `kind` (notify.webhook, notify.ntfy) running as the daemon runs it."""
    async with aiohttp.ClientSession() as session:
        n = notify.Notifier(cfg, kind(session, cfg), backoff_s=0.01)
        task = asyncio.create_task(n.run())
        try:
            yield n
        finally:
            task.cancel()


async def receiver(aiohttp_server, fail_first: int):
    got: list[tuple[dict, bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        got.append((dict(request.headers), body))
        if len(got) <= fail_first:
            return web.json_response({"error": "busy"}, status=503)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app)
    return server, got


async def test_a_webhook_that_fails_twice_then_succeeds_gets_one_notice(aiohttp_server):
    server, got = await receiver(aiohttp_server, fail_first=2)
    cfg = NotifierConfig(type="webhook", url=str(server.make_url("/hook")), retries=5)
    async with running(cfg, notify.webhook) as n:
        a = alert()
        n.offer("firing", a, "here", "http://here.local:8080/")
        n.offer("firing", a, "here", "http://here.local:8080/")  # the same episode: once
        await until(lambda: n.sent == 1)
        assert len(got) == 3  # two 503s, then the one that counts
        body = orjson.loads(got[-1][1])
        assert body["event"] == "firing"
        assert body["alert"]["id"] == "green/temperature"
        assert body["alert"]["severity"] == "alarm"
        assert body["dashboard"] == "http://here.local:8080/"
        assert got[-1][0]["Content-Type"] == "application/json"
        a.active = False
        n.offer("cleared", a, "here", None)
        n.offer("cleared", a, "here", None)  # cleared once, too
        await until(lambda: n.sent == 2)
        assert not n.queue, "the repeated offers were never queued: nothing more is sent"
        assert [orjson.loads(b)["event"] for _, b in got[2:]] == ["firing", "cleared"]


async def test_a_webhook_that_never_answers_is_given_up_after_its_retries(aiohttp_server):
    server, got = await receiver(aiohttp_server, fail_first=99)
    cfg = NotifierConfig(type="webhook", url=str(server.make_url("/hook")), retries=2)
    async with running(cfg, notify.webhook) as n:
        n.offer("firing", alert(), "here", None)
        await until(lambda: n.failed == 1)
        assert len(got) == 3


async def test_ntfy_gets_title_priority_and_tags(aiohttp_server):
    server, got = await receiver(aiohttp_server, fail_first=0)
    cfg = NotifierConfig(type="ntfy", url=str(server.make_url("/hook")), token="tk_secret")
    async with running(cfg, notify.ntfy) as n:
        n.offer("firing", alert(), "here", "http://here.local:8080/")
        await until(lambda: n.sent == 1)
        headers, body = got[0]
        assert body == "above 40 °C".encode()
        assert headers["Title"] == "alarm: green temperature"
        assert headers["Priority"] == "high"
        assert headers["Tags"] == "rotating_light"
        assert headers["Authorization"] == "Bearer tk_secret"
        assert headers["Click"] == "http://here.local:8080/"


def test_min_severity_and_the_queue_limit():
    cfg = NotifierConfig(type="webhook", url="http://127.0.0.1:9/", min_severity="alarm")

    async def never(_n: notify.Notice) -> None:
        raise AssertionError("not sent in this test")

    n = notify.Notifier(cfg, never)
    n.offer("firing", alert(Level.WARN), "here", None)
    assert not n.queue, "a warn does not reach an alarm-only notifier"
    for i in range(notify.MAX_QUEUE + 5):
        n.offer("firing", alert(aid=f"s{i}/t"), "here", None)
    assert len(n.queue) == notify.MAX_QUEUE
    assert n.dropped == 5
    assert n.queue[0].alert["id"] == "s5/t"


async def test_api_alerts_shows_a_failing_sensor(start_server):
    server = await start_server(
        "[alerts]\nerror_after = 0.1\nmin_duration = 0\nstartup_s = 0\n"
        '[[sensors]]\nid = "hot"\ntype = "demo"\ninterval = 0.2\ntemperature = 200\n'
    )
    alerts = server.app[ALERTS]

    def firing() -> bool:
        alerts.tick()
        return bool(alerts.active())

    await until(firing)
    async with aiohttp.ClientSession() as s:
        body = await (await s.get(server.make_url("/api/alerts"))).json()
        health = await (await s.get(server.make_url("/api/health"))).json()
    (a,) = body["active"]
    assert (a["sensor"], a["kind"], a["severity"], a["node"]) == ("hot", "error", "warn", "")
    assert "impossible temperature" in a["message"]
    assert health["alerts"] == {"active": 1, "warn": 1, "alarm": 0}
