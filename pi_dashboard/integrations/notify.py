"""Alert notifications: a webhook (JSON POST), ntfy-style HTTP push, and MQTT.

Each notifier hears every alert event (alerts.py), keeps those at or above its `min_severity`,
and sends each episode's `firing` once and its `cleared` once. Sending happens in the notifier's
own task from a bounded queue (`MAX_QUEUE`; past that the oldest are dropped and counted): a slow
or dead endpoint never delays anything else. A failed send is retried with exponential backoff
(1 s, 2 s, 4 s, ... at most 60 s) up to `retries` times, then dropped with one log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import orjson

from pi_dashboard import __version__
from pi_dashboard.alerts import Alert, Alerts, Event, Level
from pi_dashboard.config import NotifierConfig

log = logging.getLogger(__name__)

MAX_QUEUE = 100
MAX_BACKOFF_S = 60.0
NTFY_PRIORITY = {("firing", "alarm"): "high", ("firing", "warn"): "default"}
NTFY_TAGS = {("firing", "alarm"): "rotating_light", ("firing", "warn"): "warning"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    event: Event
    alert: dict[str, object]
    node: str
    url: str | None

    @property
    def title(self) -> str:
        a = self.alert
        where = f"{a['node']}/{a['sensor']}" if a["node"] else str(a["sensor"])
        what = f" {a['channel']}" if a["channel"] else ""
        state = "cleared" if self.event == "cleared" else str(a["severity"])
        return f"{state}: {where}{what}"

    def to_json(self) -> dict[str, object]:
        return {"event": self.event, "node": self.node, "dashboard": self.url,
                "version": __version__, "alert": self.alert}  # fmt: skip


Send = Callable[[Notice], Awaitable[None]]
"""Sends one notice; raises on failure (then it is retried)."""


class Notifier:
    """One configured destination: `offer` from the alerts engine, `run` as a task."""

    def __init__(
        self, cfg: NotifierConfig, send: Send, *, backoff_s: float = 1.0, name: str = ""
    ) -> None:
        self.cfg = cfg
        self.send = send
        self.backoff_s = backoff_s
        self.name = name or cfg.type
        self.queue: deque[Notice] = deque()
        self.wake = asyncio.Event()
        self.notified: set[str] = set()
        """Alert ids whose episode this notifier has announced (so it announces each once)."""
        self.sent = self.failed = self.dropped = 0

    def offer(self, event: Event, alert: Alert, node: str, url: str | None) -> None:
        wanted = alert.severity is Level.ALARM or self.cfg.min_severity == "warn"
        if event == "firing":
            if not wanted or alert.id in self.notified:
                return
            self.notified.add(alert.id)
        elif alert.id in self.notified:
            self.notified.discard(alert.id)
        else:
            return  # its firing was never announced here: nor is its clearing
        if len(self.queue) >= MAX_QUEUE:
            self.queue.popleft()
            self.dropped += 1
        self.queue.append(Notice(event=event, alert=alert.to_json(), node=node, url=url))
        self.wake.set()

    async def run(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.queue:
                await self._deliver(self.queue.popleft())

    async def _deliver(self, notice: Notice) -> None:
        delay = self.backoff_s
        for attempt in range(self.cfg.retries + 1):
            try:
                async with asyncio.timeout(self.cfg.timeout):
                    await self.send(notice)
                self.sent += 1
                return
            except Exception as e:
                if attempt == self.cfg.retries:
                    self.failed += 1
                    log.warning("%s: giving up on %r: %s", self.name, notice.title, e)
                    return
                log.debug("%s: attempt %d failed (%s); retrying", self.name, attempt + 1, e)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)


def _check(resp: aiohttp.ClientResponse) -> None:
    if resp.status >= 300:
        raise RuntimeError(f"HTTP {resp.status}")


def webhook(session: aiohttp.ClientSession, cfg: NotifierConfig) -> Send:
    async def send(notice: Notice) -> None:
        headers = {"Content-Type": "application/json", **cfg.headers}
        async with session.post(cfg.url, data=orjson.dumps(notice.to_json()), headers=headers) as r:
            _check(r)

    return send


def ntfy(session: aiohttp.ClientSession, cfg: NotifierConfig) -> Send:
    """ntfy's publish API: the message as the body, title/priority/tags as headers."""

    async def send(notice: Notice) -> None:
        a = notice.alert
        key = (notice.event, str(a["severity"]))
        headers = {
            "Title": notice.title,
            "Priority": NTFY_PRIORITY.get(key, "low"),
            "Tags": NTFY_TAGS.get(key, "white_check_mark"),
            **cfg.headers,
        }
        if notice.url:
            headers["Click"] = notice.url
        if cfg.token:
            headers["Authorization"] = f"Bearer {cfg.token}"
        body = str(a["message"]) if notice.event == "firing" else f"cleared: {a['message']}"
        async with session.post(cfg.url, data=body.encode(), headers=headers) as r:
            _check(r)

    return send


Publish = Callable[[str, bytes], Awaitable[None]]


def mqtt(publish: Publish, topic: str) -> Send:
    async def send(notice: Notice) -> None:
        await publish(topic, orjson.dumps(notice.to_json()))

    return send


async def run_notifiers(
    alerts: Alerts,
    configs: tuple[NotifierConfig, ...],
    *,
    node: str,
    url: str | None,
    mqtt_publish: Publish | None = None,
    mqtt_topic: str = "",
) -> AsyncIterator[None]:
    """The body of app.py's cleanup_ctx: one task per notifier; on the way out they are
    cancelled (what was not sent by then is not sent)."""
    session = aiohttp.ClientSession(headers={"User-Agent": f"pi-dashboard/{__version__}"})
    notifiers: list[Notifier] = []
    for i, cfg in enumerate(configs):
        if cfg.type == "webhook":
            send = webhook(session, cfg)
        elif cfg.type == "ntfy":
            send = ntfy(session, cfg)
        elif mqtt_publish is not None:
            send = mqtt(mqtt_publish, cfg.topic or mqtt_topic)
        else:
            log.warning("alerts.notify[%d]: type mqtt needs [mqtt]; skipped", i)
            continue
        notifiers.append(Notifier(cfg, send, name=f"alerts.notify[{i}] ({cfg.type})"))

    def offer(event: Event, alert: Alert) -> None:
        for n in notifiers:
            n.offer(event, alert, node, url)

    unsubscribe = alerts.subscribe(offer)
    tasks = [asyncio.create_task(n.run(), name=n.name) for n in notifiers]
    yield
    unsubscribe()
    for t in tasks:
        t.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=0.5)
    with contextlib.suppress(Exception):
        await session.close()
