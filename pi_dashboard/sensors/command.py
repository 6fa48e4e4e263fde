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
cannot have been reused. Mock mode runs commands for real: they are not hardware.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import select
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from pi_dashboard.config import ID_RE, SensorConfig
from pi_dashboard.errors import FieldError, SensorError
from pi_dashboard.hw import Hardware
from pi_dashboard.model import ChannelMeta, DeviceClass, Value
from pi_dashboard.sensors.base import Push, Sensor, SensorType

log = logging.getLogger(__name__)

GRACE_S = 2.0
"""How long a child has between SIGTERM and SIGKILL when the sensor closes."""
RESTART_DELAYS_S = (1.0, 60.0)
"""Stream mode: first and largest pause before restarting a child that died (doubling between)."""
STABLE_S = 60.0
"""A child that ran this long before dying restarts after the first delay again."""
FIRST_LINE_WAIT_S = 2.0
"""Stream mode: how long a read waits for a new child's first line before reporting none yet."""
STDERR_TAIL = 4096
MAX_OUTPUT_LIMIT = 16 * 1024 * 1024

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
        return f'"{Path(self.command[0]).name}"' if self.command else "shell command"

    def declared(self) -> tuple[OutputOptions, ...]:
        return self.outputs or (DEFAULT_OUTPUT,)


# --- one reading from text ------------------------------------------------------------------


def _snippet(text: str) -> str:
    text = text.strip()
    return repr(text if len(text) <= 60 else text[:57] + "...")


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
            raise SensorError(f'{label} printed unknown key "{key}" (declared: {", ".join(ids)})')
        if item is None:
            continue
        number = _number(item)
        if number is None:
            raise SensorError(f'{label} printed a non-number for "{key}": {_snippet(str(item))}')
        out[key] = number
    return out


# --- child processes ------------------------------------------------------------------------


def _spawn(options: CommandOptions) -> subprocess.Popen[bytes]:
    """Start the program in a session of its own (its pid is the group id); raise SensorError."""
    env = {**os.environ, **options.env} if options.env else None
    try:
        return subprocess.Popen(
            options.argv(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=env, cwd=options.cwd, start_new_session=True,
        )  # fmt: skip
    except OSError as e:
        where = f": {e.filename}" if e.filename else ""
        raise SensorError(f"cannot start {options.label()}: {e.strerror}{where}") from None


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Signal the child's whole process group, while its leader is unreaped (pid still ours)."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def _wait_exited(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait up to `timeout` s for the child to exit, without reaping it (a pidfd on Linux)."""
    if proc.returncode is not None:
        return True
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # not Linux >= 5.3: reaping here is the best we can do
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    try:
        ready, _, _ = select.select([fd], [], [], max(timeout, 0.0))
        return bool(ready)
    finally:
        os.close(fd)


def _stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM to the group, SIGKILL to whatever is left of it after `grace` s, then reap."""
    if proc.returncode is None:
        _signal_group(proc, signal.SIGTERM)
        _wait_exited(proc, grace)
        _signal_group(proc, signal.SIGKILL)  # the leader if it ignored SIGTERM, and stragglers
    proc.wait()


def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
    """Only by the thread reading them: a pipe closed under a blocked reader can hang forever."""
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def _exit_message(label: str, code: int, stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode(errors="replace").splitlines() if ln.strip()]
    tail = f": {lines[-1][:200]}" if lines else ""
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
        self.lock = threading.Lock()

    def add(self, chunk: bytes) -> None:
        with self.lock:
            self.data = (self.data + chunk)[-STDERR_TAIL:]

    def get(self) -> bytes:
        with self.lock:
            return self.data


def _drain(pipe: IO[bytes], tail: _Tail) -> None:
    for chunk in iter(lambda: pipe.read1(4096), b""):  # type: ignore[attr-defined]
        tail.add(chunk)


# --- the sensor -----------------------------------------------------------------------------


class CommandSensor(Sensor):
    def __init__(self, config: SensorConfig, hardware: Hardware) -> None:
        super().__init__(config, hardware)
        self.options: CommandOptions = config.options
        self.worker = f"command-{config.id}"
        """Its own thread: a slow program must not hold up other sensors."""
        self.label = self.options.label()
        self.outputs = self.options.declared()
        self.grace_s = GRACE_S
        self.restart_delays_s = RESTART_DELAYS_S
        """Stream mode (first, largest); tests shorten them."""
        self.pid: int | None = None
        """The child running now (stream) or last started (poll)."""
        self._stream: _Stream | None = None

    @property
    def channels(self) -> tuple[ChannelMeta, ...]:
        return tuple(o.meta() for o in self.outputs)

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

    def _run_once(self) -> str:
        """Run the program to completion within `run_timeout`; its stdout, or SensorError."""
        limit, timeout = self.options.max_output, self.run_timeout
        deadline = time.monotonic() + timeout
        proc = _spawn(self.options)
        self.pid = proc.pid
        out, err = bytearray(), _Tail()
        try:
            with selectors.DefaultSelector() as sel:
                assert proc.stdout is not None
                assert proc.stderr is not None
                sel.register(proc.stdout, selectors.EVENT_READ, "out")
                sel.register(proc.stderr, selectors.EVENT_READ, "err")
                while sel.get_map():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise SensorError(f"{self.label} timed out after {timeout:g} s (killed)")
                    for key, _ in sel.select(remaining):
                        chunk = os.read(key.fd, 65536)
                        if not chunk:
                            sel.unregister(key.fileobj)
                        elif key.data == "err":
                            err.add(chunk)
                        else:
                            out += chunk
                            if len(out) > limit:
                                raise SensorError(
                                    f"{self.label} printed more than {limit} bytes (max_output)"
                                )
            if not _wait_exited(proc, deadline - time.monotonic()):
                raise SensorError(f"{self.label} timed out after {timeout:g} s (killed)")
        finally:
            _signal_group(proc, signal.SIGKILL)  # a timeout, or stragglers it left running
            _stop(proc, 0.0)
            _close_pipes(proc)
        if proc.returncode:
            raise SensorError(_exit_message(self.label, proc.returncode, err.get()))
        return out.decode(errors="replace")


class _Stream:
    """Stream mode: a supervisor thread runs the child, parses its lines, restarts it on exit."""

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
        self.thread = threading.Thread(
            target=self._supervise, name=f"command-{sensor.config.id}-stream", daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def latest(self, wait: float) -> dict[str, Value]:
        """The last line's values; until the first line, wait up to `wait` s for it."""
        with self.cond:
            if self.values is None and self.error is None:
                self.cond.wait_for(lambda: self.values is not None or self.error is not None, wait)
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
                    self.proc = proc = _spawn(self.options)
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
        """Read lines until the child's stdout closes; then stop its group and say why it ended."""
        assert proc.stdout is not None
        assert proc.stderr is not None
        err = _Tail()
        drain = threading.Thread(target=_drain, args=(proc.stderr, err), daemon=True)
        drain.start()
        limit = self.options.max_output
        message: str | None = None
        for line in iter(lambda: proc.stdout.readline(limit + 1), b""):  # type: ignore[union-attr]
            if len(line) > limit and not line.endswith(b"\n"):
                message = f"{self.label} printed a line longer than {limit} bytes (max_output)"
                break
            if not line.strip():
                continue
            try:
                text = line.decode(errors="replace")
                values = parse_reading(text, self.sensor.outputs, self.label)
            except SensorError as e:
                self._set(None, str(e))
                continue
            self._set(values, None)
            push = self.push
            if push is not None and values:
                push(values)
        stopping = self.stopping.is_set()  # then close() is stopping the child
        if not stopping:
            _wait_exited(proc, self.sensor.grace_s)  # stdout closed: it is ending, or should
            _stop(proc, self.sensor.grace_s)
        drain.join(timeout=1.0)
        if not drain.is_alive():
            _close_pipes(proc)
        if stopping:
            return "stopped"
        assert proc.returncode is not None
        return message or _exit_message(self.label, proc.returncode, err.get())

    def close(self) -> None:
        self.stopping.set()
        with self.cond:
            proc = self.proc
        if proc is not None:
            _stop(proc, self.sensor.grace_s)
        self.thread.join(timeout=self.sensor.grace_s + 2.0)


def _channel_ids(options: CommandOptions) -> tuple[str, ...]:
    return tuple(o.id for o in options.declared())


TYPE = SensorType(
    name="command",
    options=CommandOptions,
    create=CommandSensor,
    description="Any program as a sensor: a number or JSON object on stdout, polled or streamed.",
    default_interval=10.0,
    min_interval=0.5,
    channel_ids=_channel_ids,  # type: ignore[arg-type]
)
