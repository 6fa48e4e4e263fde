"""The scheduler and isolation: one sensor's failure never stops the others.

The sensor type here is defined by the test (a polling test needs a sensor whose failure it can
switch on and off); the Poller, State and pipelines are the real ones.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import pytest
from cpu_wait import cpu_waits
from waiting import until

from pi_dashboard.config import parse_config
from pi_dashboard.model import ChannelMeta, DeviceClass, Reading, Status, Value
from pi_dashboard.polling import Poller
from pi_dashboard.sensors.base import Sensor, SensorType
from pi_dashboard.sensors.registry import TYPES
from pi_dashboard.state import State


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeOptions:
    hang: float = 0.0
    wedge: bool = False
    """read() blocks on `gate` until the test sets it: a driver call that never returns."""
    bus: str = ""
    """Worker key: probes naming the same bus share one thread; default one of its own."""


class Probe(Sensor):
    """Counts reads; `broken` fails them like an unplugged chip; `hang` blocks the bus thread;
    `wedge` blocks it until `gate` is set."""

    instances: dict[str, Probe] = {}

    def __init__(self, config, hardware):
        super().__init__(config, hardware)
        self.broken = False
        self.reads: list[float] = []
        self.setups = 0
        self.worker = f"bus-{config.options.bus or config.id}"
        self.gate = threading.Event()
        self.closed = False
        Probe.instances[config.id] = self

    @classmethod
    def channels_for(cls, options):
        return (
            ChannelMeta(
                id="t",
                name="T",
                unit="°C",
                device_class=DeviceClass.TEMPERATURE,
                valid_range=(-40, 85),
            ),
        )

    def setup(self) -> None:
        self.setups += 1

    def read(self) -> Mapping[str, Value]:
        self.reads.append(time.monotonic())
        if self.broken:
            raise OSError(121, "Remote I/O error")
        if self.config.options.hang:
            time.sleep(self.config.options.hang)
        if self.config.options.wedge:
            self.gate.wait()
        return {"t": 20.0 + len(self.reads) * 0.1}

    def close(self) -> None:
        self.closed = True


class Edge(Probe):
    """Pushes whatever the test pushes, from any thread, as gpiozero does on an edge."""

    def watch(self, push):
        self.push = push


class Inline(Probe):
    """Read on the event loop, as `demo` is: records the thread of every read."""

    def __init__(self, config, hardware):
        super().__init__(config, hardware)
        self.worker = ""
        self.threads: set[int] = set()

    def read(self) -> Mapping[str, Value]:
        self.threads.add(threading.get_ident())
        return super().read()


TEST_TYPES = {
    **TYPES,
    "probe": SensorType(name="probe", options=ProbeOptions, sensor=Probe, description="test"),
    "edge": SensorType(name="edge", options=ProbeOptions, sensor=Edge, description="test"),
    "inline": SensorType(name="inline", options=ProbeOptions, sensor=Inline, description="test"),
}


def make_poller(text: str, state: State, **kw) -> Poller:
    config = parse_config(__import__("tomllib").loads(text), TEST_TYPES)
    return Poller(config, TEST_TYPES, hardware=None, state=state, **kw)  # type: ignore[arg-type]


CONFIG = """
[[sensors]]
id = "a"
type = "probe"
interval = 0.1

[[sensors]]
id = "b"
type = "probe"
interval = 0.1
"""


async def test_failure_is_isolated_and_recovers(caplog):
    caplog.set_level("INFO")
    state = State()
    events: list[Reading] = []
    state.subscribe(events.append)
    poller = make_poller(CONFIG, state, max_backoff=0.2)
    a, b = Probe.instances["a"], Probe.instances["b"]
    poller.start()
    try:
        await until(lambda: len(b.reads) >= 3 and len(a.reads) >= 3)
        a.broken = True
        await until(lambda: state.sensors["a"].status is Status.ERROR)
        errors = [e for e in events if e.sensor == "a" and e.status is Status.ERROR]
        assert len(errors) == 1
        assert "errno 121" in errors[0].error
        n = len(b.reads)
        await until(lambda: len(b.reads) >= n + 5)  # the healthy one goes on
        assert state.sensors["b"].status is Status.OK
        assert len([e for e in events if e.sensor == "a" and e.status is Status.ERROR]) == 1
        setups = a.setups
        a.broken = False
        await until(lambda: state.sensors["a"].status is Status.OK)
        assert a.setups > setups, "setup() must run again after a failure"
        last = [e for e in events if e.sensor == "a"][-1]
        assert last.status is Status.OK
        assert "t" in last.values
    finally:
        await poller.stop()
    assert "sensor a failed" in caplog.text
    assert "sensor a recovered" in caplog.text


async def test_schedule_is_drift_free_and_phases_spread():
    """Reads take half the interval: a schedule that counted from each read's end would take
    1.5 s for 10 intervals, a drift-free one 1 s. A loaded machine only delays reads, so the
    figures are taken where they are least disturbed (the first read, the closest pair)."""
    state = State()
    poller = make_poller(CONFIG.replace("interval = 0.1", "interval = 0.1\nhang = 0.05"), state)
    a, b = Probe.instances["a"], Probe.instances["b"]
    waited = cpu_waits()
    poller.start()
    try:
        await until(lambda: len(a.reads) >= 11 and len(b.reads) >= 11)
    finally:
        await poller.stop()
    starved = cpu_waits() - waited  # tests/cpu_wait.py: what a loaded machine adds
    span = a.reads[10] - a.reads[0]
    assert span < 1.25 + starved, (
        f"10 intervals took {span:.2f} s ({starved:.2f} s waiting for a CPU): "
        "the schedule drifts by the read time"
    )
    offsets = [(tb - ta) % 0.1 for ta, tb in zip(a.reads[:10], b.reads[:10], strict=True)]
    closest = min(offsets, key=lambda o: abs(o - 0.05))
    assert abs(closest - 0.05) < 0.02, f"phases not spread by half an interval: {offsets}"


async def test_hung_read_times_out_without_blocking_others():
    state = State()
    poller = make_poller(
        CONFIG.replace(
            'id = "a"\ntype = "probe"\ninterval = 0.1',
            'id = "a"\ntype = "probe"\ninterval = 0.1\ntimeout = 0.2\nhang = 1.0',
        ),
        state,
    )
    b = Probe.instances["b"]
    poller.start()
    try:
        await until(lambda: state.sensors["a"].status is Status.ERROR)
        assert state.sensors["a"].error == "no answer within 0.2 s"
        n = len(b.reads)
        await until(lambda: len(b.reads) >= n + 3, limit=2)  # not stuck behind the hung one
    finally:
        await poller.stop()


async def test_impossible_value_is_an_error_not_a_number():
    state = State()
    poller = make_poller(
        '[[sensors]]\nid = "d"\ntype = "demo"\ninterval = 0.05\ntemperature = 150\nstep = 0\n',
        state,
    )
    poller.start()
    try:
        await until(lambda: state.sensors["d"].status is Status.ERROR)
    finally:
        await poller.stop()
    s = state.sensors["d"]
    assert "impossible temperature reading 150" in s.error
    assert s.channels["temperature"].value is None


@pytest.fixture
async def edge():
    """A started poller with one edge-driven sensor `e`: (state, its events, the sensor)."""
    state = State()
    events: list[Reading] = []
    state.subscribe(events.append)
    poller = make_poller('[[sensors]]\nid = "e"\ntype = "edge"\ninterval = 60\n', state)
    poller.start()
    try:
        await until(lambda: state.sensors["e"].status is Status.OK)
        yield state, events, Probe.instances["e"]
    finally:
        await poller.stop()


async def test_edges_pushed_from_other_threads_reach_state(edge):
    """watch(push) may be called from any thread (gpiozero's); State only changes on the loop."""
    state, events, sensor = edge
    threading.Thread(target=sensor.push, args=({"t": 42.0},)).start()
    await until(lambda: state.sensors["e"].channels["t"].value == 42.0)
    assert events[-1].values == {"t": 42.0}


async def test_stop_ends_every_task_even_when_reads_finish_as_it_cancels():
    """On 3.11 asyncio.wait_for swallows a cancellation that lands as the awaited call finishes:
    the poll task then never ended and stop() waited for ever (1 busy-port start in 3 hung)."""
    text = "".join(f'[[sensors]]\nid = "p{i}"\ntype = "probe"\ninterval = 0.01\n' for i in range(6))
    for cycle in range(60):
        state = State()
        poller = make_poller(text, state)
        poller.start()
        await asyncio.sleep(0.001 * (cycle % 15))
        tasks = list(poller._tasks)
        stopping = asyncio.create_task(poller.stop())
        done, _ = await asyncio.wait((stopping,), timeout=3)
        assert done, f"cycle {cycle}: stop() hung"
        assert all(t.done() for t in tasks), f"cycle {cycle}: a poll task survived stop()"


async def test_read_timeout_counts_from_when_the_read_starts():
    """b's read waits behind a's on their shared bus longer than b's timeout, then takes less
    than it: b is fine (before, the wait counted too and b was blamed for a's slowness)."""
    state = State()
    events: list[Reading] = []
    state.subscribe(events.append)
    poller = make_poller(
        '[[sensors]]\nid = "a"\ntype = "probe"\ninterval = 60\ntimeout = 5\nwedge = true\n'
        'bus = "x"\n'
        '[[sensors]]\nid = "b"\ntype = "probe"\ninterval = 60\ntimeout = 1.0\nhang = 0.6\n'
        'bus = "x"\n',
        state,
    )
    a, b = Probe.instances["a"], Probe.instances["b"]
    poller.start()
    try:
        await until(lambda: len(a.reads) == 1)
        await until(lambda: poller.polled["b"].inflight is not None)
        # The scenario itself: a holds the bus for 0.7 s, so b's queued 0.7 s plus its own
        # 0.6 s read exceed its 1 s timeout; released before that timeout (0.3 s to spare).
        await asyncio.sleep(0.7)
        assert not b.reads
        a.gate.set()
        await until(lambda: state.sensors["b"].status is Status.OK)
    finally:
        a.gate.set()
        await poller.stop()
    assert not [e for e in events if e.status is Status.ERROR]


async def test_a_wedged_read_is_blamed_on_its_sensor_alone_and_stop_is_bounded():
    state = State()
    poller = make_poller(
        '[[sensors]]\nid = "stuck"\ntype = "probe"\ninterval = 0.1\ntimeout = 0.3\nwedge = true\n'
        'bus = "i2c-1"\n'
        '[[sensors]]\nid = "same-bus"\ntype = "probe"\ninterval = 0.1\ntimeout = 0.3\n'
        'bus = "i2c-1"\n'
        '[[sensors]]\nid = "other-bus"\ntype = "probe"\ninterval = 0.1\ntimeout = 0.3\n',
        state,
        max_backoff=0.2,
    )
    stuck, same, other = (Probe.instances[k] for k in ("stuck", "same-bus", "other-bus"))
    poller.start()
    try:
        await until(lambda: state.sensors["stuck"].status is Status.ERROR)
        await until(lambda: state.sensors["same-bus"].status is Status.ERROR)
        assert state.sensors["stuck"].error == "no answer within 0.3 s"
        assert state.sensors["same-bus"].error == (
            "blocked behind sensor stuck (bus-i2c-1): its read has not returned"
        )
        n = len(other.reads)
        await until(lambda: len(other.reads) >= n + 3)
        assert state.sensors["other-bus"].status is Status.OK
        assert len(stuck.reads) == 1, "a stuck read is never queued again behind itself"
        t0 = time.monotonic()
        await poller.stop()
        took = time.monotonic() - t0
    finally:
        stuck.gate.set()
    assert took < 0.5, f"stop() waited {took:.2f} s for a worker it knew was stuck"
    assert other.closed
    assert not same.closed, "its close() would queue behind the stuck read: abandoned"
    assert not same.reads, "nothing of same-bus ever ran behind the stuck read"


async def test_edge_floods_are_merged_and_counted(edge):
    state, events, sensor = edge
    before = len(events)

    def flood() -> None:
        for i in range(50_000):
            sensor.push({"t": -40 + (i % 120) + 0.5})
        sensor.push({"t": 42.0})

    thread = threading.Thread(target=flood)
    thread.start()
    await until(lambda: not thread.is_alive())
    await until(lambda: state.sensors["e"].channels["t"].value == 42.0)
    assert len(events) - before < 5_000, "every edge went through the loop on its own"
    assert state.sensors["e"].dropped > 45_000
    assert state.snapshot()[0]["dropped"] == state.sensors["e"].dropped


async def test_a_sensor_read_on_the_loop_is_polled_by_its_timer_alone():
    """No task, no worker: each poll is one timer callback on the loop, and each read still
    reaches State as it is read; failing and recovering work as for any sensor."""
    state = State()
    events: list[Reading] = []
    state.subscribe(events.append)
    loop = asyncio.get_running_loop()
    created: list[str] = []
    factory = loop.get_task_factory()

    def counting(loop, coro, **kw):
        created.append(getattr(coro, "__qualname__", repr(coro)))
        return asyncio.Task(coro, loop=loop, **kw)

    loop.set_task_factory(counting)
    try:
        poller = make_poller('[[sensors]]\nid = "i"\ntype = "inline"\ninterval = 0.01\n', state)
        s = Probe.instances["i"]
        poller.start()
        try:
            await until(lambda: len(s.reads) >= 5)
            assert created == [], f"tasks created for a sensor read on the loop: {created}"
            assert s.threads == {threading.get_ident()}
            assert len([e for e in events if e.sensor == "i"]) >= 4  # each read, as it is read
            s.broken = True
            await until(lambda: state.sensors["i"].status is Status.ERROR)
            assert "I2C NACK" in (state.sensors["i"].error or "")
            s.broken = False
            await until(lambda: state.sensors["i"].status is Status.OK)
            assert s.setups == 2  # setup() again after the failure, as for a chip on a bus
        finally:
            await poller.stop()
    finally:
        loop.set_task_factory(factory)
    assert created == []
    assert s.closed


async def test_stop_ends_the_polls_of_sensors_read_on_the_loop():
    """After stop() its timer never fires again (another sensor reads meanwhile)."""
    state = State()
    poller = make_poller('[[sensors]]\nid = "i"\ntype = "inline"\ninterval = 0.01\n', state)
    s = Probe.instances["i"]
    poller.start()
    await until(lambda: len(s.reads) >= 2)
    await poller.stop()
    stopped_at = len(s.reads)
    other = make_poller('[[sensors]]\nid = "j"\ntype = "inline"\ninterval = 0.01\n', State())
    j = Probe.instances["j"]
    other.start()
    try:
        await until(lambda: len(j.reads) >= 5)
    finally:
        await other.stop()
    assert len(s.reads) == stopped_at


@pytest.mark.parametrize("kind", ["inline", "probe"])
async def test_history_gets_its_copy_after_the_reading_is_published(kind):
    """What browsers wait for goes first: State's subscribers (the broadcaster) have each
    reading before history's sink is handed it, for a sensor read on the loop or in a worker;
    a failed read's gap comes after its error too."""
    state = State()
    order: list[tuple[str, float]] = []
    state.subscribe(lambda r: order.append(("published", r.ts)))
    poller = make_poller(
        f'[[sensors]]\nid = "h"\ntype = "{kind}"\ninterval = 0.01\n',
        state,
        sink=lambda _sid, ts, values: order.append(("recorded" if values else "gap", ts)),
    )
    s = Probe.instances["h"]
    poller.start()
    try:
        await until(lambda: sum(what == "recorded" for what, _ in order) >= 3)
        s.broken = True
        await until(lambda: any(what == "gap" for what, _ in order))
    finally:
        await poller.stop()
    first_gap = next(i for i, (what, _) in enumerate(order) if what == "gap")
    for i, (what, ts) in enumerate(order[: first_gap + 1]):
        if what != "published":
            assert order[i - 1] == ("published", ts), order


async def test_pushed_values_reach_history_after_state():
    state = State()
    order: list[tuple[str, object]] = []
    state.subscribe(lambda r: order.append(("published", r.values.get("t"))))
    sink = lambda _sid, _ts, values: order.append(("recorded", (values or {}).get("t")))  # noqa: E731
    poller = make_poller('[[sensors]]\nid = "e"\ntype = "edge"\ninterval = 60\n', state, sink=sink)
    poller.start()
    try:
        await until(lambda: state.sensors["e"].status is Status.OK)
        threading.Thread(target=Probe.instances["e"].push, args=({"t": 42.0},)).start()
        await until(lambda: ("recorded", 42.0) in order)
    finally:
        await poller.stop()
    i = order.index(("recorded", 42.0))
    assert order[i - 1] == ("published", 42.0), order


async def test_a_failing_history_sink_never_fails_the_sensor(caplog):
    state = State()

    def sink(*_args: object) -> None:
        raise RuntimeError("disk gone")

    poller = make_poller(
        '[[sensors]]\nid = "k"\ntype = "inline"\ninterval = 0.01\n', state, sink=sink
    )
    s = Probe.instances["k"]
    poller.start()
    try:
        await until(lambda: len(s.reads) >= 3)
    finally:
        await poller.stop()
    assert state.sensors["k"].status is Status.OK
    assert "recording sensor k failed" in caplog.text
