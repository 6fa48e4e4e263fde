"""`command`: any program as a sensor. Like websocketd, the program only talks on stdout.

- `mode = "poll"`: the program runs once per interval; its whole stdout is one reading.
- `mode = "stream"`: one long-lived child; every line it prints is a reading, pushed at once.

A reading is a number (it goes to the first output) or a JSON object mapping output ids to
numbers. `command = ["prog", "arg"]` runs the program directly, no shell involved;
`shell = "..."` asks for /bin/sh explicitly. The outputs (the sensor's channels) are declared by
the user as `outputs = [{id, name, unit, kind, precision}]`: `channels` already names the
per-channel processing tables every sensor has.

Every child runs in a session (process group) of its own, and is stopped by signalling the whole
group, so a shell's children go with it: SIGKILL on a poll timeout, SIGTERM then SIGKILL after a
grace period on close(). A group is only signalled while its leader is unreaped, so the group id
cannot have been reused. What leaves the group (`setsid`, a double fork) is found by the variable
`PI_DASHBOARD_SENSOR` every child gets in its environment, as Jenkins' process tree killer finds a
build's leftovers, and killed when the run ends. Mock mode runs commands for real: they are not
hardware.

Program output is untrusted: it reaches the log and the page only through `printable()`.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import os
import re
import select
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pi_dashboard.config import ID_RE, SensorConfig
from pi_dashboard.errors import FieldError, SensorError
from pi_dashboard.hw import Hardware
from pi_dashboard.model import ChannelMeta, DeviceClass, Value
from pi_dashboard.sensors.base import Push, Sensor, SensorType

log = logging.getLogger(__name__)

GRACE_S = 0.5
"""How long a child has between SIGTERM and SIGKILL when the sensor closes (the whole daemon
stops within 2 s)."""
EXIT_DRAIN_S = 0.2
"""After the program exits, how long its last output may take to arrive: a background job that
still holds stdout (`cmd &`) must not keep the read open until the timeout."""
RESTART_DELAYS_S = (1.0, 60.0)
"""Stream mode: first and largest pause before restarting a child that died (doubling between)."""
STABLE_S = 60.0
"""A child that ran this long before dying restarts after the first delay again."""
FIRST_LINE_WAIT_S = 2.0
"""Stream mode: how long a read waits for a new child's first line before reporting none yet."""
STDERR_TAIL = 4096
MAX_OUTPUT_LIMIT = 16 * 1024 * 1024
MAX_RATE_LIMIT = 1000.0
COOKIE = "PI_DASHBOARD_SENSOR"
"""Environment variable marking every process a command sensor started, and what those start."""

_BINARY_CLASSES = {"motion", "door", "window", "garage_door", "opening", "occupancy",
                   "presence", "vibration", "problem", "power_binary"}  # fmt: skip
KINDS = tuple(sorted(d.value for d in DeviceClass if d.value not in _BINARY_CLASSES))


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputOptions:
    """One value the program reports: becomes one channel of the sensor."""

    id: str
    name: str | None = None
    unit: str | None = None
    kind: str = "none"
    """A device class (`temperature`, `humidity`, `power`, ...), `none` for a plain number."""
    precision: int = 2
    valid_range: tuple[float, float] | None = None
    """Possible values; anything outside makes the sensor `error` instead of being shown."""

    def __post_init__(self) -> None:
        if not ID_RE.match(self.id):
            raise FieldError("id", f'"{self.id}" is not a valid id (a-z, 0-9, "_" and "-")')
        if self.kind not in KINDS:
            raise FieldError("kind", f'unknown kind "{self.kind}" (known: {", ".join(KINDS)})')
        if not 0 <= self.precision <= 6:
            raise FieldError("precision", f"must be 0 to 6 decimals, got {self.precision}")
        if self.valid_range is not None and not self.valid_range[0] < self.valid_range[1]:
            raise FieldError("valid_range", "must be [low, high] with low < high")

    def meta(self) -> ChannelMeta:
        return ChannelMeta(
            id=self.id, name=self.name or self.id.replace("_", " ").capitalize(), unit=self.unit,
            device_class=DeviceClass(self.kind), precision=self.precision,
            valid_range=self.valid_range,
        )  # fmt: skip


DEFAULT_OUTPUT = OutputOptions(id="value", name="Value")


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandOptions:
    command: tuple[str, ...] | None = None
    """Program and arguments, run without a shell."""
    shell: str | None = None
    """A /bin/sh command line, for pipes and redirections."""
    mode: Literal["poll", "stream"] = "poll"
    outputs: tuple[OutputOptions, ...] = ()
    """The channels; without any, one channel `value`."""
    max_output: int = 65536
    """Bytes of stdout per reading (per line in stream mode); more is an error."""
    max_rate: float = 10.0
    """Stream mode: lines per second taken (bursts up to that many); more are dropped, counted."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Added to (or overriding) the daemon's environment."""
    cwd: str | None = None

    def __post_init__(self) -> None:
        if (self.command is None) == (self.shell is None):
            raise FieldError("command", 'give exactly one of command = ["prog", ...] or shell')
        if self.command is not None and (not self.command or not self.command[0]):
            raise FieldError("command", "must name a program")
        if self.shell is not None and not self.shell.strip():
            raise FieldError("shell", "must not be empty")
        if not 1 <= self.max_output <= MAX_OUTPUT_LIMIT:
            raise FieldError("max_output", f"must be 1 to {MAX_OUTPUT_LIMIT} bytes")
        if not 0 < self.max_rate <= MAX_RATE_LIMIT:
            raise FieldError("max_rate", f"must be > 0 and <= {MAX_RATE_LIMIT:g} lines per second")
        seen: set[str] = set()
        for i, out in enumerate(self.outputs):
            if out.id in seen:
                raise FieldError(f"outputs[{i}].id", f'"{out.id}" is declared twice')
            seen.add(out.id)

    def argv(self) -> list[str]:
        if self.command is not None:
            return list(self.command)
        assert self.shell is not None
        return ["/bin/sh", "-c", self.shell]

    def label(self) -> str:
        return f'"{printable(Path(self.command[0]).name)}"' if self.command else "shell command"

    def declared(self) -> tuple[OutputOptions, ...]:
        return self.outputs or (DEFAULT_OUTPUT,)


# --- one reading from text ------------------------------------------------------------------

_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-_])")
"""ANSI/VT escape sequences: CSI (colours, cursor moves), OSC (window titles), two-byte ones."""
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
"""Other control characters, and the invisible and bidi ones that make text lie about itself."""


def printable(text: str, limit: int = 200) -> str:
    """Program output as one safe line for the log and the page: escape sequences (which a
    terminal showing the journal would obey) removed, other control characters as U+FFFD."""
    text = " ".join(_UNSAFE.sub("\ufffd", _ESCAPES.sub("", text)).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _snippet(text: str) -> str:
    return repr(printable(text, 60))


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def parse_reading(text: str, outputs: tuple[OutputOptions, ...], label: str) -> dict[str, Value]:
    """A number -> the first output; a JSON object -> outputs by id (a null value is skipped)."""
    stripped = text.strip()
    if not stripped:
        raise SensorError(f"{label} printed nothing")
    try:
        value: object = float(stripped)
    except ValueError:
        try:
            value = json.loads(stripped)
        except ValueError:
            raise SensorError(
                f"{label} printed {_snippet(stripped)}: not a number or a JSON object"
            ) from None
    if not isinstance(value, dict):
        number = _number(value)
        if number is None:
            raise SensorError(f"{label} printed {_snippet(stripped)}: not a finite number")
        return {outputs[0].id: number}
    ids = [o.id for o in outputs]
    out: dict[str, Value] = {}
    for key, item in value.items():
        if key not in ids:
            key = printable(str(key), 40)
            raise SensorError(f'{label} printed unknown key "{key}" (declared: {", ".join(ids)})')
        if item is None:
            continue
        number = _number(item)
        if number is None:
            raise SensorError(
                f'{label} printed a non-number for "{printable(key, 40)}": {_snippet(str(item))}'
            )
        out[key] = number
    return out


# --- child processes ------------------------------------------------------------------------

_serial = itertools.count(1)
_live_lock = threading.Lock()
_live: set[subprocess.Popen[bytes]] = set()
"""Every child not yet reaped, for `kill_all()`."""


def _spawn(options: CommandOptions, cookie: str) -> subprocess.Popen[bytes]:
    """Start the program in a session of its own (its pid is the group id); raise SensorError."""
    env = {**os.environ, **options.env, COOKIE: cookie}
    try:
        proc = subprocess.Popen(
            options.argv(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=env, cwd=options.cwd, start_new_session=True,
        )  # fmt: skip
    except OSError as e:
        where = f": {e.filename}" if e.filename else ""
        raise SensorError(f"cannot start {options.label()}: {e.strerror}{where}") from None
    with _live_lock:
        _live.add(proc)
    return proc


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Signal the child's whole process group, while its leader is unreaped (pid still ours)."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _exited(proc: subprocess.Popen[bytes]) -> bool:
    """Has the child exited? Without reaping it, so its group may still be signalled."""
    if proc.returncode is not None:
        return True
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _pidfd(proc: subprocess.Popen[bytes]) -> int | None:
    """A descriptor that becomes readable when the child exits (Linux >= 5.3), else None."""
    try:
        return os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        return None


def _wait_exited(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait up to `timeout` s for the child to exit, without reaping it."""
    if proc.returncode is not None:
        return True
    fd = _pidfd(proc)
    if fd is None:  # no pidfd: poll
        deadline = time.monotonic() + timeout
        while not _exited(proc):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True
    try:
        ready, _, _ = select.select([fd], [], [], max(timeout, 0.0))
        return bool(ready)
    finally:
        os.close(fd)


def _reap(proc: subprocess.Popen[bytes]) -> None:
    proc.wait()
    with _live_lock:
        _live.discard(proc)


def _stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM to the group, SIGKILL to whatever is left of it after `grace` s, then reap."""
    if proc.returncode is None:
        _signal_group(proc, signal.SIGTERM)
        _wait_exited(proc, grace)
        _signal_group(proc, signal.SIGKILL)  # the leader if it ignored SIGTERM, and stragglers
    _reap(proc)


def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
    """Only by the thread reading them: a pipe closed under a blocked reader can hang forever."""
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def _kill_marked(value: str, *, prefix: bool = False) -> int:
    """SIGKILL every process whose environment has COOKIE=`value` (or starts with it): what left
    its process group. A pidfd pins each one before the check, so a reused pid is never hit."""
    needle = f"\0{COOKIE}={value}".encode() + (b"" if prefix else b"\0")
    try:
        names = os.listdir("/proc")
    except OSError:  # no procfs (not Linux): nothing to find this way
        return 0
    killed = 0
    for name in names:
        if not name.isdigit() or int(name) == os.getpid():
            continue
        if not _marked(name, needle):
            continue
        try:
            fd = os.pidfd_open(int(name))
        except (AttributeError, OSError):
            fd = None
        try:
            if not _marked(name, needle):  # the process the pidfd holds is the marked one
                continue
            if fd is None:
                os.kill(int(name), signal.SIGKILL)
            else:
                signal.pidfd_send_signal(fd, signal.SIGKILL)
            killed += 1
        except OSError:
            continue
        finally:
            if fd is not None:
                os.close(fd)
    return killed


def _marked(pid: str, needle: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return needle in b"\0" + f.read()
    except OSError:  # gone, or another user's
        return False


def kill_all() -> None:
    """Last resort when the daemon must exit at once: SIGKILL every program a command sensor of
    this process started, and whatever they left running. Safe to call from any thread."""
    with _live_lock:
        procs = list(_live)
    for proc in procs:
        _signal_group(proc, signal.SIGKILL)
    _kill_marked(f"{os.getpid()}/", prefix=True)


def _output(proc: subprocess.Popen[bytes], deadline: float) -> Iterator[tuple[str, bytes]]:
    """("out" | "err", bytes) as the program writes them, until both pipes close or the program
    has exited EXIT_DRAIN_S ago (an inheritor may hold stdout); TimeoutError at `deadline`."""
    assert proc.stdout is not None
    assert proc.stderr is not None
    exit_fd = _pidfd(proc)
    pipes = 2
    end = deadline
    exited = False
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ, "out")
        sel.register(proc.stderr, selectors.EVENT_READ, "err")
        if exit_fd is not None:
            sel.register(exit_fd, selectors.EVENT_READ, "exit")
        try:
            while pipes:
                now = time.monotonic()
                if not exited and exit_fd is None and _exited(proc):
                    exited, end = True, min(end, now + EXIT_DRAIN_S)
                if now >= end:
                    if exited:
                        return
                    raise TimeoutError
                wait = None if end == math.inf else end - now
                if exit_fd is None and not exited:
                    wait = 0.05 if wait is None else min(wait, 0.05)
                for key, _ in sel.select(wait):
                    if key.data == "exit":
                        sel.unregister(key.fileobj)
                        exited, end = True, min(end, time.monotonic() + EXIT_DRAIN_S)
                        continue
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        sel.unregister(key.fileobj)
                        pipes -= 1
                        continue
                    yield key.data, chunk
        finally:
            if exit_fd is not None:
                os.close(exit_fd)


def _exit_message(label: str, code: int, stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode(errors="replace").splitlines() if ln.strip()]
    tail = f": {printable(lines[-1])}" if lines else ""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"{label} was killed by {name}{tail}"
    return f"{label} exited with code {code}{tail}"


class _Tail:
    """The last few KiB a child wrote to stderr, for the one-line error message."""

    def __init__(self) -> None:
        self.data = b""

    def add(self, chunk: bytes) -> None:
        self.data = (self.data + chunk)[-STDERR_TAIL:]


class _Rate:
    """Token bucket: `rate` lines per second, bursts of up to max(rate, 1)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.burst = max(rate, 1.0)
        self.tokens = self.burst
        self.t = time.monotonic()

    def take(self, n: int) -> int:
        """How many of `n` lines may be taken now."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.t) * self.rate)
        self.t = now
        k = min(n, int(self.tokens))
        self.tokens -= k
        return k

    def wait(self) -> float:
        """Seconds until the next line may be taken."""
        return max(0.0, (1.0 - self.tokens) / self.rate)


# --- the sensor -----------------------------------------------------------------------------


class CommandSensor(Sensor[CommandOptions]):
    def __init__(self, config: SensorConfig[CommandOptions], hardware: Hardware) -> None:
        super().__init__(config, hardware)
        self.worker = f"command-{config.id}"
        """Its own thread: a slow program must not hold up other sensors."""
        self.label = self.options.label()
        self.outputs = self.options.declared()
        self.grace_s = GRACE_S
        self.restart_delays_s = RESTART_DELAYS_S
        """Stream mode (first, largest); tests shorten them."""
        self.pid: int | None = None
        """The child running now (stream) or last started (poll)."""
        self.cookie = f"{os.getpid()}/{next(_serial)}/{config.id}"
        """COOKIE's value in this sensor's children: what they leave behind carries it too."""
        self._stream: _Stream | None = None
        self._lock = threading.Lock()
        self._running: subprocess.Popen[bytes] | None = None
        """The poll child, while a read waits for it (for `interrupt()`)."""
        self._swept = 0

    @classmethod
    def channels_for(cls, options: CommandOptions) -> tuple[ChannelMeta, ...]:
        return tuple(o.meta() for o in options.declared())

    @property
    def dropped(self) -> int:
        return self._stream.dropped if self._stream is not None else 0

    @property
    def run_timeout(self) -> float:
        """A little under the poll timeout, so the error names the program rather than the poll."""
        t = self.config.read_timeout
        return max(t - min(0.5, t * 0.1), 0.05)

    def setup(self) -> None:
        if self.options.mode == "stream" and self._stream is None:
            self._stream = _Stream(self)
            self._stream.start()

    def watch(self, push: Push) -> None:
        if self._stream is not None:
            self._stream.push = push

    def read(self) -> Mapping[str, Value]:
        if self.options.mode == "stream":
            if self._stream is None:
                self.setup()
            assert self._stream is not None
            return self._stream.latest(min(self.run_timeout, FIRST_LINE_WAIT_S))
        return parse_reading(self._run_once(), self.outputs, self.label)

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
        self.sweep()

    def interrupt(self) -> None:
        with self._lock:
            if self._running is not None:
                _signal_group(self._running, signal.SIGKILL)
        if self._stream is not None:
            self._stream.interrupt()

    def sweep(self) -> None:
        """Kill what this sensor's programs left running outside their process group."""
        n = _kill_marked(self.cookie)
        if n:
            self._swept += n
            level = logging.WARNING if self._swept == n else logging.DEBUG
            log.log(
                level,
                "sensor %s: killed %d process(es) %s left running outside its process group",
                self.config.id,
                n,
                self.label,
            )

    def _run_once(self) -> str:
        """Run the program to completion within `run_timeout`; its stdout, or SensorError."""
        limit, timeout = self.options.max_output, self.run_timeout
        deadline = time.monotonic() + timeout
        proc = _spawn(self.options, self.cookie)
        self.pid = proc.pid
        with self._lock:
            self._running = proc
        out, err = bytearray(), _Tail()
        try:
            for kind, chunk in _output(proc, deadline):
                if kind == "err":
                    err.add(chunk)
                    continue
                out += chunk
                if len(out) > limit:
                    raise SensorError(f"{self.label} printed more than {limit} bytes (max_output)")
            if not _wait_exited(proc, deadline - time.monotonic()):
                raise TimeoutError
        except TimeoutError:
            raise SensorError(f"{self.label} timed out after {timeout:g} s (killed)") from None
        finally:
            with self._lock:  # a timeout, or stragglers it left running in its group
                _signal_group(proc, signal.SIGKILL)
                self._running = None
            _reap(proc)
            _close_pipes(proc)
            self.sweep()
        if proc.returncode:
            raise SensorError(_exit_message(self.label, proc.returncode, err.data))
        return out.decode(errors="replace")


class _Stream:
    """Stream mode: a supervisor thread runs the child, parses its lines, restarts it on exit.

    Lines are taken at most `max_rate` per second: past that the thread reads only when a line
    may be taken again (the program waits on the full pipe meanwhile), keeps the newest lines
    and counts the rest in `dropped`. A flood thus costs a few reads per second, not a core."""

    def __init__(self, sensor: CommandSensor) -> None:
        self.sensor = sensor
        self.options = sensor.options
        self.label = sensor.label
        self.push: Push | None = None
        self.cond = threading.Condition()
        self.values: dict[str, Value] | None = None
        self.error: str | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.stopping = threading.Event()
        self.closing = threading.Event()
        self.interrupted = False
        self.rate = _Rate(self.options.max_rate)
        self.dropped = 0
        self.thread = threading.Thread(
            target=self._supervise, name=f"command-{sensor.config.id}-stream", daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def latest(self, wait: float) -> dict[str, Value]:
        """The last line's values; until the first line, wait up to `wait` s for it."""
        with self.cond:
            if self.values is None and self.error is None:
                self.cond.wait_for(
                    lambda: self.values is not None or self.error is not None or self.interrupted,
                    wait,
                )
            if self.values is not None:
                return dict(self.values)
            raise SensorError(self.error or f"no output from {self.label} yet")

    def _set(self, values: dict[str, Value] | None, error: str | None) -> None:
        with self.cond:
            self.values, self.error = values, error
            self.cond.notify_all()

    def _supervise(self) -> None:
        first, largest = self.sensor.restart_delays_s
        delay = first
        while not self.stopping.is_set():
            started = time.monotonic()
            with self.cond:
                if self.stopping.is_set():
                    return
                try:
                    self.proc = proc = _spawn(self.options, self.sensor.cookie)
                    self.sensor.pid = proc.pid
                except SensorError as e:
                    proc, message = None, str(e)
            if proc is not None:
                message = self._follow(proc)
            if self.stopping.is_set():
                return
            if time.monotonic() - started >= STABLE_S:
                delay = first
            log.warning("sensor %s: %s; restarting in %g s", self.sensor.config.id, message, delay)
            self._set(None, f"{message}; restarting in {delay:g} s")
            self.stopping.wait(delay)
            delay = min(delay * 2, largest)

    def _follow(self, proc: subprocess.Popen[bytes]) -> str:
        """Read lines until the child's stdout closes or it exits; then stop its group and say
        why it ended."""
        err = _Tail()
        limit = self.options.max_output
        message: str | None = None
        rest = b""
        for kind, chunk in _output(proc, math.inf):
            if kind == "err":
                err.add(chunk)
                continue
            rest += chunk
            if b"\n" in chunk:
                *lines, rest = rest.split(b"\n")
                self._take(lines)
            if len(rest) > limit:
                message = f"{self.label} printed a line longer than {limit} bytes (max_output)"
                break
        stopping = self.stopping.is_set()  # then close() is stopping the child
        if not stopping:
            _wait_exited(proc, self.sensor.grace_s)  # stdout closed: it is ending, or should
            _stop(proc, self.sensor.grace_s)
        _close_pipes(proc)
        self.sensor.sweep()
        if stopping:
            return "stopped"
        assert proc.returncode is not None
        return message or _exit_message(self.label, proc.returncode, err.data)

    def _take(self, lines: list[bytes]) -> None:
        """Parse and push the newest lines the rate allows; count the others as dropped."""
        lines = [ln for ln in lines if ln.strip()]
        if not lines:
            return
        keep = self.rate.take(len(lines))
        if keep < len(lines):
            self.dropped += len(lines) - keep
            if self.dropped == len(lines) - keep:
                log.warning(
                    "sensor %s: %s prints more than %g lines/s (max_rate): extra lines are "
                    "dropped, and counted in the API's `dropped`",
                    self.sensor.config.id,
                    self.label,
                    self.options.max_rate,
                )
        limit = self.options.max_output
        for line in lines[len(lines) - keep :]:
            try:
                if len(line) > limit:
                    raise SensorError(
                        f"{self.label} printed a line longer than {limit} bytes (max_output)"
                    )
                text = line.decode(errors="replace")
                values = parse_reading(text, self.sensor.outputs, self.label)
            except SensorError as e:
                self._set(None, str(e))
                continue
            self._set(values, None)
            push = self.push
            if push is not None and values:
                push(values)
        if keep < len(lines):  # flooding: read again only when a line may be taken
            self.stopping.wait(self.rate.wait())

    def interrupt(self) -> None:
        """Make a waiting `latest()` return; once `close()` runs, kill the group outright."""
        with self.cond:
            self.interrupted = True
            self.cond.notify_all()
            proc = self.proc
        if self.closing.is_set() and proc is not None:
            _signal_group(proc, signal.SIGKILL)

    def close(self) -> None:
        self.closing.set()
        self.stopping.set()
        with self.cond:
            proc = self.proc
        if proc is not None:
            _stop(proc, self.sensor.grace_s)
        self.thread.join(timeout=EXIT_DRAIN_S + 1.0)


TYPE = SensorType(
    name="command",
    description="Any program as a sensor: a number or JSON object on stdout, polled or streamed.",
    options=CommandOptions,
    sensor=CommandSensor,
    default_interval=10.0,
    min_interval=0.5,
)
