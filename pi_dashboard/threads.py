"""Worker threads that may hang, and the way back from threads to the event loop; both bounded.

A driver call can block for ever (a chip holding the bus, a driver bug). Workers here are daemon
threads, so a stuck one is abandoned at exit rather than joined: `ThreadPoolExecutor` threads are
joined at interpreter exit, so one stuck read would keep the process alive for ever. A job records
when it really started, so a timeout counts from then, and a job waiting behind another can be
told whose call holds the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pi_dashboard.model import Value


@dataclass(slots=True, eq=False)
class Job:
    owner: str
    """Who submitted it (a sensor id), to name in messages."""
    what: str
    """What it does (`read`, `setup`, `close`), to name in messages."""
    fn: Callable[[], object]
    future: asyncio.Future[object]
    started: float | None = None
    """`time.monotonic()` when the worker began it; None while queued."""
    waiter: asyncio.Future[None] | None = None
    """While someone is in `wait()`: woken in the very callback that settles `future`."""

    async def wait(self, at_most_s: float) -> None:
        """Until the job ends or `at_most_s` pass, whichever comes first. Every poll of a sensor
        in a worker waits so: unlike asyncio.wait, the result wakes the waiting task directly
        (no done-callback's extra pass of the loop, no set, waiter and callbacks to undo)."""
        if self.future.done():
            return
        loop = self.future.get_loop()
        waiter = self.waiter = loop.create_future()
        timer = loop.call_later(at_most_s, _release, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self.waiter = None


@dataclass(slots=True, eq=False)
class Worker:
    """One daemon thread running jobs in order: one per I2C bus serialises access to it."""

    name: str
    current: Job | None = None
    """The job running now (read on the loop thread: a reference, so no lock needed)."""
    _jobs: deque[Job] = field(default_factory=deque)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _closed: bool = False
    _thread: threading.Thread | None = None

    def submit(self, owner: str, what: str, fn: Callable[[], object]) -> Job:
        """From the event loop thread; the job's future resolves on the loop."""
        job = Job(owner, what, fn, asyncio.get_running_loop().create_future())
        with self._cond:
            if self._closed:
                raise RuntimeError(f"worker {self.name} is closed")
            self._jobs.append(job)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"worker-{self.name}", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        return job

    def cancel(self, job: Job) -> bool:
        """From the loop thread: take a job that has not started off the queue (its future is
        cancelled). False if it runs or ran already."""
        with self._cond:
            if job.started is not None or job not in self._jobs:
                return False
            self._jobs.remove(job)
        job.future.cancel()
        return True

    def close(self) -> None:
        """Accept no more jobs; the thread ends once the queued ones ran (or never, if stuck)."""
        with self._cond:
            self._closed = True
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._jobs and not self._closed:
                    self._cond.wait()
                if not self._jobs:
                    return
                job = self._jobs.popleft()
                job.started = time.monotonic()
                self.current = job
            result: object = None
            error: BaseException | None = None
            try:
                result = job.fn()
            except BaseException as e:  # handed to whoever awaits the job, never lost here
                error = e
            self.current = None
            _resolve(job, result, error)


def _resolve(job: Job, result: object, error: BaseException | None) -> None:
    future = job.future

    def settle() -> None:
        if not future.done():  # else cancelled while queued, or nobody waits any more
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)
        if job.waiter is not None:
            _release(job.waiter)

    with contextlib.suppress(RuntimeError):  # the loop is closed: the daemon has stopped
        future.get_loop().call_soon_threadsafe(settle)


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


Deliver = Callable[[str, dict[str, Value], float], None]


class Handoff:
    """From any thread to the event loop, bounded: values wait here merged per key and channel
    (the newest wins) and at most one wakeup of the loop is pending at a time.

    A program printing a million lines a second, or a bouncing contact, then costs the loop one
    callback per turn rather than one per value, and never fills the loop's self-pipe, which
    also carries signals (a full pipe loses SIGTERM)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, deliver: Deliver) -> None:
        self._loop = loop
        self._deliver = deliver
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[dict[str, Value], float]] = {}
        self._scheduled = False
        self._closed = False
        self.merged: dict[str, int] = {}
        """Per key: values replaced by a newer one before the loop took them."""

    def put(self, key: str, values: Mapping[str, Value], ts: float) -> None:
        with self._lock:
            if self._closed:
                return
            entry = self._pending.get(key)
            if entry is None:
                self._pending[key] = (dict(values), ts)
            else:
                replaced = sum(1 for cid in values if cid in entry[0])
                if replaced:
                    self.merged[key] = self.merged.get(key, 0) + replaced
                entry[0].update(values)
                self._pending[key] = (entry[0], ts)
            if self._scheduled:
                return
            self._scheduled = True
        with contextlib.suppress(RuntimeError):  # the loop is closed: the daemon has stopped
            self._loop.call_soon_threadsafe(self._drain)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._pending.clear()

    def _drain(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            self._scheduled = False
        for key, (values, ts) in pending.items():
            self._deliver(key, values, ts)
