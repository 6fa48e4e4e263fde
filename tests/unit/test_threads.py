"""Workers (daemon threads, jobs that know when they started) and the bounded hand-off from
threads to the event loop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator

import pytest
from waiting import until

from pi_dashboard.threads import Handoff, Job, Worker


@pytest.fixture
async def held() -> AsyncIterator[tuple[Worker, threading.Event, Job]]:
    """A worker whose thread runs a job that returns once the test sets the event."""
    gate = threading.Event()
    worker = Worker("bus")
    job = worker.submit("a", "read", gate.wait)
    await until(lambda: job.started is not None)
    yield worker, gate, job
    gate.set()
    worker.close()


async def test_a_job_records_when_it_started_and_runs_after_the_one_before(held):
    worker, gate, first = held
    second = worker.submit("b", "read", lambda: 42)
    assert second.started is None, "one thread per bus: b waits behind a"
    assert worker.current is first
    queued_at = time.monotonic()
    gate.set()
    assert await second.future == 42
    assert second.started >= queued_at


async def test_a_queued_job_can_be_taken_back_a_running_one_cannot(held):
    worker, gate, running = held
    queued = worker.submit("b", "read", lambda: 1)
    assert worker.cancel(queued)
    assert queued.future.cancelled()
    assert not worker.cancel(running)
    gate.set()
    assert await running.future is True


async def test_errors_reach_the_awaiting_side():
    worker = Worker("bus")
    job = worker.submit("a", "read", lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        await job.future
    worker.close()


async def test_a_stuck_worker_is_a_daemon_thread_and_refuses_work_once_closed(held):
    worker, gate, _ = held
    thread = next(t for t in threading.enumerate() if t.name == "worker-bus")
    assert thread.daemon, "a stuck read must not keep the interpreter from exiting"
    worker.close()
    with pytest.raises(RuntimeError, match="closed"):
        worker.submit("a", "close", lambda: None)
    gate.set()
    thread.join(2)
    assert not thread.is_alive(), "a closed worker ends once its last job returns"


async def test_wait_ends_at_its_timeout_or_when_the_job_ends_and_never_ends_the_job(held):
    """A poll waits so: the timeout leaves the job running (its owner decides), and the worker's
    result wakes the waiter at once (a 30 s wait that did not end when the job did would fail)."""
    _worker, gate, job = held
    await job.wait(0.01)
    assert not job.future.done(), "the timeout ended the job"
    assert job.waiter is None
    waiting = asyncio.create_task(job.wait(30))
    await until(lambda: job.waiter is not None)
    gate.set()
    async with asyncio.timeout(5):
        await waiting
    assert job.future.result() is True
    await job.wait(30)  # already ended: returns at once


async def test_a_cancelled_wait_leaves_the_job_to_finish(held):
    _worker, gate, job = held
    waiting = asyncio.create_task(job.wait(30))
    await until(lambda: job.waiter is not None)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert job.waiter is None
    assert not job.future.done()
    gate.set()
    assert await job.future is True


async def test_handoff_merges_a_flood_into_a_few_loop_callbacks():
    loop = asyncio.get_running_loop()
    delivered: list[tuple[str, dict, float]] = []
    handoff = Handoff(loop, lambda key, values, ts: delivered.append((key, values, ts)))
    n = 100_000

    def flood() -> None:
        for i in range(n):
            handoff.put("s", {"v": float(i)}, float(i))
        handoff.put("s", {"other": 1.0}, float(n))

    await asyncio.to_thread(flood)
    latest: dict[str, float] = {}

    def newest_arrived() -> bool:
        for _, values, _ in delivered:
            latest.update(values)
        return latest == {"v": n - 1.0, "other": 1.0}

    await until(newest_arrived)
    assert len(delivered) < n / 10, f"{len(delivered)} loop callbacks for {n} values"
    assert delivered[-1][2] == float(n), "the newest timestamp goes with the newest values"
    with_v = sum(1 for _, values, _ in delivered if "v" in values)
    assert with_v + handoff.merged["s"] == n, "every value is delivered or counted as merged"


async def test_handoff_after_close_drops_silently():
    loop = asyncio.get_running_loop()
    delivered: list[str] = []
    handoff = Handoff(loop, lambda key, values, ts: delivered.append(key))
    handoff.put("s", {"v": 1.0}, 0.0)
    handoff.close()
    handoff.put("s", {"v": 2.0}, 0.0)
    turn = asyncio.Event()  # runs after any delivery those puts could have scheduled
    loop.call_soon(turn.set)
    await turn.wait()
    assert delivered == []
