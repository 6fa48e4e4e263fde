"""The `command` sensor runs real programs: numbers and JSON from stdout, every way a program can
fail, and stream mode's pushes, restarts and clean shutdown. Process checks read /proc, so a
zombie waiting for its reaper counts as gone."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from waiting import wait_until

from pi_dashboard.errors import ConfigError, SensorError
from pi_dashboard.sensors.command import CommandSensor


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


@pytest.fixture
def command(make_sensor, tmp_path):
    """TOML keys after `type = "command"` -> the sensor, run in tmp_path, closed after the test."""
    made: list[CommandSensor] = []

    def make(keys: str) -> CommandSensor:
        sensor = make_sensor(
            f'[[sensors]]\nid = "c"\ntype = "command"\ncwd = "{tmp_path}"\n{keys}\n'
        )
        assert isinstance(sensor, CommandSensor)
        sensor.grace_s = 0.5
        made.append(sensor)
        return sensor

    yield make
    for sensor in made:
        sensor.close()


def shell(script: str) -> str:
    return f"shell = {json.dumps(script)}"


# --- poll ------------------------------------------------------------------------------------


def test_a_number_goes_to_the_first_output(command):
    sensor = command('command = ["echo", " 42.5 "]')
    assert sensor.read() == {"value": 42.5}
    assert [c.id for c in sensor.channels] == ["value"]
    assert sensor.worker == "command-c"


def test_a_json_object_maps_to_declared_outputs(command):
    sensor = command(
        shell('echo \'{"load": 0.25, "temp": 48.3, "spare": null}\'')
        + '\noutputs = [{ id = "load", precision = 2 },'
        ' { id = "temp", name = "SoC", unit = "°C", kind = "temperature",'
        " valid_range = [-40, 125] },"
        ' { id = "spare" }]'
    )
    assert sensor.read() == {"load": 0.25, "temp": 48.3}
    temp = sensor.channels[1]
    assert (temp.name, temp.unit, temp.device_class.value, temp.valid_range) == (
        "SoC", "°C", "temperature", (-40.0, 125.0),
    )  # fmt: skip


def test_env_is_added_to_the_environment(command):
    sensor = command(shell('echo "$PI_DASH_TEST"') + '\nenv = { PI_DASH_TEST = "7" }')
    assert sensor.read() == {"value": 7.0}


def test_non_zero_exit_names_the_code_and_stderr(command):
    sensor = command(shell('echo 1; echo "first" >&2; echo "sensor unplugged" >&2; exit 3'))
    with pytest.raises(SensorError, match=r"^shell command exited with code 3: sensor unplugged$"):
        sensor.read()


def test_killed_by_a_signal(command):
    sensor = command(shell("kill -SEGV $$"))
    with pytest.raises(SensorError, match="was killed by SIGSEGV"):
        sensor.read()


def test_timeout_kills_the_whole_process_group(command, tmp_path):
    sensor = command(shell("sleep 30 & echo $! > child.pid; wait") + "\ntimeout = 0.5")
    start = time.monotonic()
    with pytest.raises(SensorError, match=r"^shell command timed out after 0.45 s \(killed\)$"):
        sensor.read()
    assert time.monotonic() - start < 2.0
    grandchild = int((tmp_path / "child.pid").read_text())
    assert sensor.pid is not None
    assert not alive(sensor.pid)
    assert wait_until(lambda: not alive(grandchild))


def test_garbage_output(command):
    sensor = command('command = ["echo", "hello world"]')
    with pytest.raises(SensorError, match=r"""^"echo" printed 'hello world': not a number"""):
        sensor.read()
    sensor = command('command = ["echo", "[1, 2]"]')
    with pytest.raises(SensorError, match="not a finite number"):
        sensor.read()
    sensor = command('command = ["echo", "nan"]')
    with pytest.raises(SensorError, match="not a finite number"):
        sensor.read()
    sensor = command('command = ["true"]')
    with pytest.raises(SensorError, match='"true" printed nothing'):
        sensor.read()


def test_json_keys_must_be_declared(command):
    sensor = command(shell('echo \'{"a": 1, "b": 2}\'') + '\noutputs = [{ id = "a" }]')
    with pytest.raises(SensorError, match=r'unknown key "b" \(declared: a\)'):
        sensor.read()
    sensor = command(shell('echo \'{"a": "warm"}\'') + '\noutputs = [{ id = "a" }]')
    with pytest.raises(SensorError, match="""non-number for "a": 'warm'"""):
        sensor.read()


def test_oversized_output_is_cut_off(command):
    sensor = command('command = ["yes"]\nmax_output = 1000')
    with pytest.raises(SensorError, match=r'^"yes" printed more than 1000 bytes \(max_output\)$'):
        sensor.read()
    assert sensor.pid is not None
    assert not alive(sensor.pid)


def test_a_program_that_does_not_exist(command):
    sensor = command('command = ["no-such-program-pi-dashboard"]')
    with pytest.raises(SensorError, match=r"cannot start .*No such file or directory"):
        sensor.read()


def test_stragglers_of_a_finished_poll_are_stopped(command, tmp_path):
    sensor = command(shell("sleep 30 >/dev/null 2>&1 & echo $! > child.pid; echo 5"))
    assert sensor.read() == {"value": 5.0}
    grandchild = int((tmp_path / "child.pid").read_text())
    assert wait_until(lambda: not alive(grandchild))


# --- stream ----------------------------------------------------------------------------------


def test_stream_lines_are_pushed(command):
    script = "sleep 0.2; for i in 1 2 3; do echo $i; sleep 0.02; done; exec sleep 30"
    sensor = command(shell(script) + '\nmode = "stream"')
    pushed: list[dict] = []
    sensor.watch(pushed.append)  # before setup there is nothing to watch: a no-op
    sensor.setup()
    sensor.watch(pushed.append)  # polling calls watch right after the first setup
    assert wait_until(lambda: len(pushed) == 3)
    assert pushed == [{"value": 1.0}, {"value": 2.0}, {"value": 3.0}]
    assert sensor.read() == {"value": 3.0}
    pid = sensor.pid
    sensor.setup()  # idempotent: still the same child
    assert sensor.pid == pid
    assert sensor.read() == {"value": 3.0}


def test_stream_child_and_its_group_are_killed_on_close(command, tmp_path):
    sensor = command(
        shell("trap '' TERM; sleep 30 & echo $! > child.pid; echo 1; wait") + '\nmode = "stream"'
    )
    sensor.setup()
    assert wait_until(lambda: (tmp_path / "child.pid").exists() and sensor.pid is not None)
    assert sensor.read() == {"value": 1.0}
    pid, grandchild = sensor.pid, int((tmp_path / "child.pid").read_text())
    assert alive(pid)
    assert alive(grandchild)
    start = time.monotonic()
    sensor.close()  # SIGTERM is ignored: SIGKILL after the grace period
    assert 0.4 < time.monotonic() - start < 3.0
    assert not alive(pid)
    assert wait_until(lambda: not alive(grandchild))


def test_stream_crash_is_an_error_then_the_child_restarts(command, tmp_path):
    script = ("if [ -e started ]; then echo 2; exec sleep 30; fi; "
              "touch started; echo 1; echo 'lost the sensor' >&2; exit 3")  # fmt: skip
    sensor = command(shell(script) + '\nmode = "stream"')
    sensor.restart_delays_s = (0.3, 0.3)
    pushed: list[dict] = []
    sensor.setup()
    sensor.watch(pushed.append)
    assert wait_until(lambda: sensor.pid is not None)
    first = sensor.pid

    def failing() -> bool:
        try:
            sensor.read()
        except SensorError as e:
            return "exited with code 3: lost the sensor; restarting in 0.3 s" in str(e)
        return False

    assert wait_until(failing)
    assert wait_until(lambda: {"value": 2.0} in pushed)
    assert sensor.read() == {"value": 2.0}
    assert sensor.pid != first
    assert not alive(first)


def test_stream_garbage_line_is_an_error_until_a_good_one(command):
    sensor = command(shell("echo 1; echo junk; exec sleep 30") + '\nmode = "stream"')
    sensor.setup()

    def says_junk() -> bool:
        try:
            sensor.read()
        except SensorError as e:
            return "printed 'junk'" in str(e)
        return False

    assert wait_until(says_junk)


def test_stream_without_output_yet(command):
    sensor = command('command = ["sleep", "30"]\nmode = "stream"\ntimeout = 0.3')
    sensor.setup()
    with pytest.raises(SensorError, match='no output from "sleep" yet'):
        sensor.read()


# --- leftovers, stop, untrusted output ----------------------------------------------------

ESCAPE = (
    "import os, sys, time\n"
    "if os.fork() == 0:\n"
    "    os.setsid()\n"
    "    open('child.pid', 'w').write(str(os.getpid()))\n"
    "    time.sleep(30)\n"
    "    os._exit(0)\n"
    "while not os.path.exists('child.pid') or not open('child.pid').read():\n"
    "    time.sleep(0.01)\n"
    "print(5, flush=True)\n"
)


def escaped(tmp_path: Path) -> int:
    assert wait_until(lambda: (tmp_path / "child.pid").exists())
    assert wait_until(lambda: (tmp_path / "child.pid").read_text() != "")
    return int((tmp_path / "child.pid").read_text())


def session_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[3])


def test_a_setsid_grandchild_is_killed_after_the_poll(command, tmp_path, caplog):
    (tmp_path / "escape.py").write_text(ESCAPE)
    sensor = command('command = ["python3", "escape.py"]')
    assert sensor.read() == {"value": 5.0}
    grandchild = escaped(tmp_path)
    assert wait_until(lambda: not alive(grandchild)), "it left the group and outlived the poll"
    assert "left running outside its process group" in caplog.text


def test_a_setsid_grandchild_of_a_stream_is_killed_on_close(command, tmp_path):
    (tmp_path / "escape.py").write_text(ESCAPE + "time.sleep(30)\n")
    sensor = command('command = ["python3", "escape.py"]\nmode = "stream"')
    sensor.setup()
    grandchild = escaped(tmp_path)
    assert wait_until(lambda: sensor.pid is not None and alive(grandchild))
    assert session_of(grandchild) != sensor.pid, "the test's grandchild must escape the session"
    sensor.close()
    assert wait_until(lambda: not alive(grandchild))


def test_a_background_job_holding_stdout_does_not_hold_the_poll(command):
    """`cmd &` keeps stdout open after the shell exits: the read ends with the shell."""
    sensor = command(shell("sleep 30 & echo 5") + "\ntimeout = 10")
    start = time.monotonic()
    assert sensor.read() == {"value": 5.0}
    assert time.monotonic() - start < 2.0


def test_interrupt_ends_a_running_poll_at_once(command):
    import threading

    sensor = command('command = ["sleep", "30"]\ntimeout = 30')
    errors: list[Exception] = []

    def read() -> None:
        try:
            sensor.read()
        except Exception as e:
            errors.append(e)

    thread = threading.Thread(target=read)
    thread.start()
    assert wait_until(lambda: sensor.pid is not None and alive(sensor.pid))
    start = time.monotonic()
    sensor.interrupt()
    thread.join(2)
    assert not thread.is_alive()
    assert time.monotonic() - start < 1.0
    assert isinstance(errors[0], SensorError)
    assert "killed by SIGKILL" in str(errors[0])


def test_kill_all_kills_every_child_and_what_it_left(command, tmp_path):
    from pi_dashboard.sensors.command import kill_all

    (tmp_path / "escape.py").write_text(ESCAPE + "time.sleep(30)\n")
    sensor = command('command = ["python3", "escape.py"]\nmode = "stream"')
    sensor.setup()
    grandchild = escaped(tmp_path)
    assert wait_until(lambda: sensor.pid is not None)
    pid = sensor.pid
    kill_all()
    assert wait_until(lambda: not alive(pid))
    assert wait_until(lambda: not alive(grandchild))


def test_escape_sequences_and_binary_never_reach_messages(command):
    from pi_dashboard.sensors.command import printable

    sensor = command(shell(r"printf '\033[2J\033]0;pwned\007\033[31mbad\001\377\n'"))
    with pytest.raises(SensorError) as e:
        sensor.read()
    assert str(e.value) == "shell command printed 'bad\ufffd\ufffd': not a number or a JSON object"
    sensor = command(shell(r"printf 'E\033[1mrr\033[0m\033[K \033[7mdone\n' >&2; exit 4"))
    with pytest.raises(SensorError, match=r"^shell command exited with code 4: Err done$"):
        sensor.read()
    sensor = command(
        shell("""printf '{"\\u001b[31mx\\u202e": 1}'""") + '\noutputs = [{ id = "a" }]'
    )
    with pytest.raises(SensorError) as e:
        sensor.read()
    assert "\x1b" not in str(e.value)
    assert "\u202e" not in str(e.value)
    assert printable("a\tb\n\nc" + "x" * 300, 20) == "a b cxxxxxxxxxxxx..."


def test_a_stream_flood_is_rate_limited_dropped_and_counted(command, caplog):
    sensor = command('command = ["yes", "1"]\nmode = "stream"\nmax_rate = 20')
    pushed: list[dict] = []
    sensor.setup()
    sensor.watch(pushed.append)
    cpu = time.process_time()
    start = time.monotonic()
    wait_until(lambda: sensor.dropped > 100_000 and len(pushed) >= 40)  # a second past the burst
    elapsed, cpu = time.monotonic() - start, time.process_time() - cpu
    assert len(pushed) <= 20 * elapsed + 20 + 1, f"{len(pushed)} lines taken in {elapsed:.2f} s"
    assert cpu < 0.5 * elapsed, f"reading the flood took {cpu:.2f} s of CPU in {elapsed:.2f} s"
    assert caplog.text.count("prints more than 20 lines/s (max_rate)") == 1
    assert sensor.read() == {"value": 1.0}


# --- config ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "field", "message"),
    [
        ("", "sensors[0].command", "exactly one of"),
        ('command = ["x"]\nshell = "x"', "sensors[0].command", "exactly one of"),
        ("command = []", "sensors[0].command", "must name a program"),
        ('shell = " "', "sensors[0].shell", "must not be empty"),
        ('shell = "x"\nmode = "daemon"', "sensors[0].mode", "one of 'poll', 'stream'"),
        ('shell = "x"\nmax_output = 0', "sensors[0].max_output", "1 to"),
        ('shell = "x"\nmax_rate = 0', "sensors[0].max_rate", "must be > 0"),
        ('shell = "x"\nmax_rate = 5000', "sensors[0].max_rate", "<= 1000"),
        ('shell = "x"\noutputs = [{ id = "A" }]', "sensors[0].outputs[0].id", "not a valid id"),
        ('shell = "x"\noutputs = [{ id = "a", kind = "motion" }]', "sensors[0].outputs[0].kind",
         "unknown kind"),
        ('shell = "x"\noutputs = [{ id = "a" }, { id = "a" }]', "sensors[0].outputs[1].id",
         "declared twice"),
        ('shell = "x"\nchannels = [{ id = "a" }]', "sensors[0].channels", "must be a table"),
    ],
)  # fmt: skip
def test_config_errors(make_config, keys, field, message):
    with pytest.raises(ConfigError, match=message) as e:
        make_config(f'[[sensors]]\nid = "c"\ntype = "command"\n{keys}\n')
    assert e.value.field == field


def test_channel_tables_are_checked_against_outputs(make_config):

    text = '[[sensors]]\nid = "c"\ntype = "command"\nshell = "x"\noutputs = [{ id = "load" }]\n'
    make_config(text + "[sensors.channels.load]\nscale = 100\n")
    with pytest.raises(ConfigError, match=r"unknown channel \(known: load\)"):
        make_config(text + "[sensors.channels.value]\nscale = 100\n")
