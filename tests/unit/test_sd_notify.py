"""sd_notify and journal formatting, against real unix sockets and real file descriptors."""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path

from pi_dashboard.service import JournalFormatter, Notifier, log_formatter, under_journal


def test_from_env_reads_and_unsets_systemd_variables():
    env = {"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
    n = Notifier.from_env(env)
    assert n.address == "@x"
    assert n.watchdog_s == 30.0
    assert env == {}, "children (command sensors) must not inherit them"


def test_watchdog_meant_for_another_process_is_ignored():
    n = Notifier.from_env({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"})
    assert n.watchdog_s is None
    assert Notifier.from_env({}).address is None


def test_send_never_blocks_on_a_full_socket(tmp_path: Path):
    """systemd not reading: datagrams are dropped, the event loop is never held up."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind(str(path))
        n = Notifier(str(path))
        results = [n.send("WATCHDOG=1") for _ in range(5000)]
        assert results[0] is True
        assert results[-1] is False, "5000 unread datagrams should fill the receive queue"
        assert receiver.recv(100) == b"WATCHDOG=1"
        n.stopping()


def test_send_without_a_listener_is_false():
    assert Notifier(None).send("READY=1") is False
    assert Notifier("/nonexistent/notify").send("READY=1") is False


def test_journal_formatter_prefixes_every_line_with_the_priority():
    fmt = JournalFormatter("%(levelname)s %(name)s: %(message)s")
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    lines = fmt.format(record).splitlines()
    assert lines[0] == "<3>ERROR x: failed"
    assert len(lines) > 2
    assert all(line.startswith("<3>") for line in lines), lines
    warning = logging.LogRecord("x", logging.WARNING, __file__, 1, "hot", None, None)
    assert fmt.format(warning) == "<4>WARNING x: hot"


def test_journal_stream_must_be_our_stderr(tmp_path: Path, monkeypatch):
    """An inherited JOURNAL_STREAM (a shell started from a systemd session) is not the journal."""
    with (tmp_path / "log").open("w") as f:
        st = os.fstat(f.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
        assert under_journal(f)
        assert isinstance(log_formatter(f), JournalFormatter)
        with (tmp_path / "other").open("w") as other:
            assert not under_journal(other)
            assert not isinstance(log_formatter(other), JournalFormatter)
