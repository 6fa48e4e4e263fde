"""Each sensor on its own drift-free schedule, one worker thread per bus, timeouts, backoff.

A sensor read in a worker has a task; one read on the event loop (`worker = ""`) has only a timer
whose callback reads it: a poll is then one pass of the loop, with no task step, future or second
wakeup, and its reading still goes out the moment it is read.

Isolation in the spirit of Home Assistant's setup guards: each sensor's setup and read run inside
their own try/except, a failure marks only that sensor `error` (logged once when it starts, and
"recovered" once when it ends), and the sensor is retried with backoff while the others keep going.
A read that never returns is blamed on its own sensor only: the others on that bus say whose read
holds it. Stopping is bounded whatever a sensor does (`stop()`); a stuck worker is abandoned.

A wedged bus worker is not replaced by a fresh thread: the stuck one still holds the bus's file
descriptor, and smbus2 sets the chip address on that descriptor (ioctl I2C_SLAVE) before each plain
read, so two threads could interleave and one chip's bytes be read as another's (only `i2c_rdwr`
carries the address in each message); and a hang inside the kernel's adapter would hold a second
thread too. The other sensors of that bus report the block until the read returns.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pi_dashboard.config import Config, SensorConfig
from pi_dashboard.errors import SensorError
from pi_dashboard.filters import Pipeline, build_filter
from pi_dashboard.hw import Hardware
from pi_dashboard.model import ChannelMeta, Value
from pi_dashboard.sensors.base import Push, Sensor, Types
from pi_dashboard.state import State
from pi_dashboard.threads import Handoff, Job, Worker
from pi_dashboard.units import canonical_unit, unit_converter

log = logging.getLogger(__name__)

PHASE_WINDOW_S = 1.0
STOP_TASKS_S = 0.2
"""`stop()`: how long the poll tasks get to end once cancelled (they only ever await)."""
STOP_CLOSE_S = 1.0
"""`stop()`: how long sensors' `close()` get in their workers before they are abandoned."""

PollObserver = Callable[[str, float, bool], None]
"""(sensor id, seconds the read took, whether it succeeded) after every poll: for /metrics."""
SampleSink = Callable[[str, float, Mapping[str, Value] | None], None]
"""Receives every read's values after filters and unit conversion but before the deadband gate
(sensor id, epoch s, {channel: value}), or None for a failed read: what history keeps."""


# --- building sensors from config ------------------------------------------------------------


def build(config: Config, types: Types, hardware: Hardware) -> list[Polled]:
    """A loaded (so validated) config -> sensors with their channel pipelines, each built once."""
    out: list[Polled] = []
    for i, cfg in enumerate(config.sensors):
        if cfg.enabled:
            p = Polled(cfg=cfg, sensor=types[cfg.type].create(cfg, hardware), path=f"sensors[{i}]")
            p.adopt_channels()
            out.append(p)
    return out


def display_meta(meta: ChannelMeta, cfg: SensorConfig[object]) -> ChannelMeta:
    """The channel as browsers see it: the user's name and unit choice applied."""
    ch = cfg.channels.get(meta.id)
    if ch is None:
        return meta
    unit = canonical_unit(ch.unit) if ch.unit else meta.unit
    return replace(meta, name=ch.name or meta.name, unit=unit)


def build_pipeline(meta: ChannelMeta, cfg: SensorConfig[object], path: str) -> Pipeline:
    """A discovered channel's unit was not known when the config loaded: ConfigError if its
    base unit cannot be converted as asked."""
    ch = cfg.channels.get(meta.id)
    if ch is None:
        return Pipeline(
            unit=meta.unit, precision=meta.precision, binary=meta.binary, deadband=cfg.deadband
        )
    cpath = f"{path}.channels.{meta.id}"
    return Pipeline(
        unit=meta.unit,
        precision=meta.precision,
        binary=meta.binary,
        deadband=cfg.deadband if ch.deadband is None else ch.deadband,
        scale=ch.scale,
        offset=ch.offset,
        convert_to=unit_converter(meta.unit, ch.unit, f"{cpath}.unit"),
        filters=tuple(build_filter(spec) for spec in ch.filters),
        throttle=ch.throttle,
        heartbeat=ch.heartbeat,
    )


# --- running them ----------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class Polled:
    cfg: SensorConfig[object]
    sensor: Sensor[Any]
    path: str
    pipelines: dict[str, Pipeline] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    failures: int = 0
    ready: bool = False
    watching: bool = False
    inflight: Job | None = None
    """Its last call in the worker; while it runs, the next tick is skipped (never queued)."""

    def adopt_channels(self) -> None:
        """Pipelines for every channel the sensor has now (discovering sensors add some later)."""
        for meta in self.sensor.channels:
            if meta.id not in self.pipelines:
                self.pipelines[meta.id] = build_pipeline(meta, self.cfg, self.path)
            if meta.valid_range is not None:
                self.ranges[meta.id] = meta.valid_range


class Poller:
    """Owns the sensors, their worker threads and tasks: `start()`, then `stop()`."""

    def __init__(
        self,
        config: Config,
        types: Types,
        hardware: Hardware,
        state: State,
        *,
        max_backoff: float = 30.0,
        clock: Callable[[], float] = time.time,
        sink: SampleSink | None = None,
        observe: PollObserver | None = None,
    ) -> None:
        self.state = state
        self._sink = sink or _no_sink
        self._observe = observe
        self.hardware = hardware
        self.max_backoff = max_backoff
        self._clock = clock
        self._workers: dict[str, Worker] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._timers: dict[str, asyncio.TimerHandle] = {}
        """Sensors read on the loop: each one's next poll."""
        self._handoff: Handoff | None = None
        self.polled: dict[str, Polled] = {}
        for p in build(config, types, hardware):
            self.polled[p.cfg.id] = p
            state.add_sensor(
                id=p.cfg.id,
                type=p.cfg.type,
                name=p.cfg.name,
                interval=p.cfg.interval,
                channels=[display_meta(m, p.cfg) for m in p.sensor.channels],
            )

    def _worker(self, key: str) -> Worker:
        w = self._workers.get(key)
        if w is None:
            w = self._workers[key] = Worker(key)
        return w

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._handoff = Handoff(loop, self._deliver)
        by_interval: dict[float, list[Polled]] = {}
        for p in self.polled.values():
            by_interval.setdefault(p.cfg.interval, []).append(p)
        for interval, group in by_interval.items():
            # Spread phases so reads do not all land on one tick, but within the first second:
            # a sensor polled every 10 minutes still shows a value right after start.
            window = min(interval, PHASE_WINDOW_S)
            for k, p in enumerate(group):
                phase = window * k / len(group)
                if p.sensor.worker == "":
                    due = loop.time() + phase
                    self._timers[p.cfg.id] = loop.call_at(due, self._tick, loop, p, due)
                else:
                    self._tasks.append(
                        asyncio.create_task(self._run(p, phase), name=f"poll-{p.cfg.id}")
                    )

    async def stop(self) -> None:
        """At most STOP_TASKS_S + STOP_CLOSE_S, whatever the sensors do.

        Never awaits a task or a thread without a bound: a read that never returns keeps its
        worker (a daemon thread, abandoned), and the sensors queued behind it are not closed."""
        tasks, self._tasks = self._tasks, []
        timers, self._timers = self._timers, {}
        for timer in timers.values():
            timer.cancel()
        for t in tasks:
            t.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=STOP_TASKS_S)
            for t in pending:
                log.warning("%s did not end when cancelled; abandoned", t.get_name())
        for p in self.polled.values():  # a read still running: make it return (kill its program)
            if p.inflight is not None and not p.inflight.future.done():
                _guard(p, "interrupt", p.sensor.interrupt)
        closing: dict[asyncio.Future[object], Polled] = {}
        for p in self.polled.values():
            if p.sensor.worker == "":
                _guard(p, "close", p.sensor.close)
                continue
            worker = self._workers.get(p.sensor.worker)
            if worker is None:  # nothing ever ran there: nothing to close
                continue
            stuck = self._stuck(worker)
            if stuck is not None:
                log.warning("sensor %s not closed: %s", p.cfg.id, stuck)
                continue
            closing[worker.submit(p.cfg.id, "close", p.sensor.close).future] = p
        for worker in self._workers.values():
            worker.close()
        self._workers.clear()
        if closing:
            closed, unfinished = await asyncio.wait(closing, timeout=STOP_CLOSE_S)
            for f in closed:
                if f.exception() is not None:  # closing must never keep the daemon from exiting
                    log.warning("closing %s failed: %s", closing[f].cfg.id, f.exception())
            for f in unfinished:
                p = closing[f]
                _guard(p, "interrupt", p.sensor.interrupt)
                log.warning(
                    "sensor %s: close() did not return within %g s; abandoned",
                    p.cfg.id,
                    STOP_CLOSE_S,
                )
        if self._handoff is not None:
            self._handoff.close()

    def _stuck(self, worker: Worker) -> str | None:
        """Why `worker` will not get to a new job: a call past its owner's timeout, else None."""
        job = worker.current
        if job is None or job.started is None:
            return None
        owner = self.polled.get(job.owner)
        held = time.monotonic() - job.started
        if owner is None or held <= owner.cfg.read_timeout:
            return None
        return f"{worker.name} is held by sensor {job.owner}, whose {job.what} has not returned"

    async def _call(self, p: Polled, what: str, fn: Callable[[], object]) -> object:
        """Run `fn` in the sensor's worker, under its timeout counted from when `fn` starts.

        A call still queued when the timeout passes is taken off the queue, and the error names
        the sensor whose call holds the worker: on a wedged bus only the wedged chip is blamed."""
        worker = self._worker(p.sensor.worker)
        job = p.inflight = worker.submit(p.cfg.id, what, fn)
        timeout = p.cfg.read_timeout
        try:
            await job.wait(timeout)
            if not job.future.done() and worker.cancel(job):
                holder = worker.current
                if holder is None or holder.owner == p.cfg.id:
                    raise TimeoutError
                raise BusBlocked(
                    f"blocked behind sensor {holder.owner} ({worker.name}): "
                    f"its {holder.what} has not returned"
                )
            if not job.future.done() and job.started is not None:
                left = job.started + timeout - time.monotonic()
                if left > 0:
                    await job.wait(left)
        except asyncio.CancelledError:
            worker.cancel(job)
            raise
        if not job.future.done():
            raise TimeoutError
        return job.future.result()

    async def _run(self, p: Polled, phase: float) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + phase
        while True:
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            ok = await self._poll_once(loop, p)
            self.state.set_dropped(p.cfg.id, self._dropped(p))
            due = self._next_due(p, due, ok, loop.time())

    def _tick(self, loop: asyncio.AbstractEventLoop, p: Polled, due: float) -> None:
        """A sensor read on the loop: read it now, in this timer's callback, and set the next."""
        ok = False
        try:
            ok = self._poll_inline(loop, p)
            self.state.set_dropped(p.cfg.id, self._dropped(p))
        finally:  # whatever went wrong, the sensor keeps its schedule
            if self._timers.get(p.cfg.id) is not None:
                due = self._next_due(p, due, ok, loop.time())
                self._timers[p.cfg.id] = loop.call_at(due, self._tick, loop, p, due)

    def _next_due(self, p: Polled, due: float, ok: bool, now: float) -> float:
        """The next poll: one interval on, skipping ticks it fell behind on; else a retry."""
        if not ok:
            return now + self.retry_delay(p)
        interval = p.cfg.interval
        due += interval
        if due <= now:  # fell behind (slow bus, suspended laptop): skip, do not burst
            due += math.ceil((now - due) / interval) * interval
        return due

    def retry_delay(self, p: Polled) -> float:
        """Exponential backoff from the interval, capped at max(interval, max_backoff)."""
        return min(
            p.cfg.interval * 2.0 ** min(p.failures - 1, 16), max(p.cfg.interval, self.max_backoff)
        )

    async def _poll_once(self, loop: asyncio.AbstractEventLoop, p: Polled) -> bool:
        if p.inflight is not None and not p.inflight.future.done():
            return True  # its previous call is still stuck in the worker: skip this tick
        started: float | None = None
        ok = False
        try:
            # No asyncio.wait_for here: on 3.11 it can swallow a cancellation when the awaited
            # call finishes in the same loop turn, and the poll task then never ends.
            if not p.ready:
                await self._call(p, "setup", p.sensor.setup)
                self._ready(p)
            ts = self._clock()
            started = time.monotonic()
            raw = await self._call(p, "read", p.sensor.read)
            values, sampled = self._process(p, raw, loop.time())  # type: ignore[arg-type]
            ok = True
        except asyncio.CancelledError:
            started = None
            raise
        except Exception as e:
            self._failed(p, e)
            return False
        finally:
            if started is not None and self._observe is not None:
                self._observe(p.cfg.id, time.monotonic() - started, ok)
        self._succeeded(p, ts, values, sampled)
        return True

    def _poll_inline(self, loop: asyncio.AbstractEventLoop, p: Polled) -> bool:
        """`_poll_once` for a sensor read on the loop: nothing to await, so nothing to cancel."""
        started: float | None = None
        ok = False
        try:
            if not p.ready:
                p.sensor.setup()
                self._ready(p)
            ts = self._clock()
            started = time.monotonic()
            values, sampled = self._process(p, p.sensor.read(), loop.time())
            ok = True
        except Exception as e:
            self._failed(p, e)
            return False
        finally:
            if started is not None and self._observe is not None:
                self._observe(p.cfg.id, time.monotonic() - started, ok)
        self._succeeded(p, ts, values, sampled)
        return True

    def _ready(self, p: Polled) -> None:
        """Its setup() succeeded: channels it discovered, and its pushes from now on."""
        p.ready = True
        p.adopt_channels()
        self.state.set_channels(p.cfg.id, [display_meta(m, p.cfg) for m in p.sensor.channels])
        if not p.watching:
            p.sensor.watch(self._pusher(p))
            p.watching = True

    def _succeeded(
        self, p: Polled, ts: float, values: dict[str, Value], sampled: dict[str, Value]
    ) -> None:
        """The reading goes out first: history's copy is taken after the browsers have it."""
        if p.failures:
            p.failures = 0
        self.state.publish_values(p.cfg.id, ts, values)
        self._record(p, ts, sampled)

    def _record(self, p: Polled, ts: float, sampled: Mapping[str, Value] | None) -> None:
        try:
            self._sink(p.cfg.id, ts, sampled)
        except Exception:  # history's problem, not the sensor's
            log.exception("recording sensor %s failed", p.cfg.id)

    def _failed(self, p: Polled, e: Exception) -> None:
        """A setup or read that raised: the sensor turns `error` with one line saying why."""
        if isinstance(e, TimeoutError):
            self._fail(p, f"no answer within {p.cfg.read_timeout:g} s")
        elif isinstance(e, (SensorError, OSError)):
            self._fail(p, _describe(e))
        else:
            # A bug: its traceback once, when it starts; the retries repeat it at debug level.
            level = logging.ERROR if p.failures == 0 else logging.DEBUG
            log.log(level, "sensor %s: unexpected error", p.cfg.id, exc_info=e)
            self._fail(p, f"internal error: {type(e).__name__}: {e}")

    def _process(
        self, p: Polled, raw: Mapping[str, Value], now: float
    ) -> tuple[dict[str, Value], dict[str, Value]]:
        """(values past their gates: what is published, values before them: what history
        keeps); SensorError for a physically impossible value."""
        for cid, v in raw.items():
            rng = p.ranges.get(cid)
            if rng is not None and not isinstance(v, bool) and not (rng[0] <= v <= rng[1]):
                raise SensorError(
                    f"impossible {cid} reading {v:g} (possible: {rng[0]:g} to {rng[1]:g})"
                )
        out: dict[str, Value] = {}
        sampled: dict[str, Value] = {}
        for cid, v in raw.items():
            pipe = p.pipelines.get(cid)
            if pipe is None:
                continue
            value = pipe.sample(v)
            if value is None:
                continue
            sampled[cid] = value
            if pipe.gate.offer(value, now):
                out[cid] = value
        return out, sampled

    def _fail(self, p: Polled, message: str) -> None:
        p.failures += 1
        if p.failures == 1:
            log.warning("sensor %s failed: %s", p.cfg.id, message)
        else:
            log.debug("sensor %s still failing (%d): %s", p.cfg.id, p.failures, message)
        p.ready = False  # re-run setup() before the next read: a replugged chip lost its config
        for pipe in p.pipelines.values():
            pipe.gate.reset()
        ts = self._clock()
        self.state.publish_error(p.cfg.id, ts, message)
        self._record(p, ts, None)

    def _pusher(self, p: Polled) -> Push:
        """Edges and stream lines arrive on other threads: through the bounded hand-off."""
        handoff, sid, clock = self._handoff, p.cfg.id, self._clock
        assert handoff is not None

        def push(raw: Mapping[str, Value]) -> None:
            handoff.put(sid, raw, clock())

        return push

    def _deliver(self, sid: str, raw: Mapping[str, Value], ts: float) -> None:
        """On the loop: values a thread pushed (merged per channel if they came faster)."""
        p = self.polled.get(sid)
        if p is None or sid not in self.state.sensors:
            return
        try:
            values, sampled = self._process(p, raw, asyncio.get_running_loop().time())
        except SensorError as e:
            self._fail(p, str(e))
            return
        self.state.publish_values(sid, ts, values)
        self._record(p, ts, sampled)
        self.state.set_dropped(sid, self._dropped(p))

    def _dropped(self, p: Polled) -> int:
        merged = self._handoff.merged.get(p.cfg.id, 0) if self._handoff is not None else 0
        return p.sensor.dropped + merged


class BusBlocked(SensorError):
    """This sensor's call never started: another sensor's call holds the worker."""


def _guard(p: Polled, what: str, fn: Callable[[], object]) -> None:
    """Stopping: a sensor's hook failing must not keep the daemon from exiting."""
    try:
        fn()
    except Exception as e:
        log.warning("sensor %s: %s failed: %s", p.cfg.id, what, e)


def _no_sink(_sensor: str, _ts: float, _values: Mapping[str, Value] | None) -> None:
    pass


def _describe(e: BaseException) -> str:
    """One line a maker can act on: errno 121 means nothing answered at that address."""
    if isinstance(e, OSError) and not isinstance(e, SensorError) and e.errno is not None:
        if e.errno == 121:
            return "no answer from the device (I2C NACK, errno 121): check wiring and address"
        if e.errno == 2:
            return f"not found: {e.filename or e.strerror}"
        if e.errno == 13:
            where = e.filename or e.strerror
            return f"permission denied: {where} (is the user in the i2c/gpio group?)"
        return f"{e.strerror} (errno {e.errno})" + (f": {e.filename}" if e.filename else "")
    return str(e) or type(e).__name__
