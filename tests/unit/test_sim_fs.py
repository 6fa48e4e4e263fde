"""The simulated /sys tree lives in RAM, goes away on close, never fails a stop, and folders left
by simulators that were killed are cleaned up by the next one."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pi_dashboard.sim import fs
from pi_dashboard.sim.world import SimWorld


def test_the_tree_is_in_memory_and_removed_on_close():
    world = SimWorld(seed=1)
    root = world.root
    assert (root / "proc/loadavg").is_file()
    if os.path.isdir("/dev/shm"):
        assert root.parent == fs.memory_base()
        assert str(root).startswith("/dev/shm/")
    world.close()
    assert not root.exists()


def test_a_cleanup_failure_is_logged_not_raised(tmp_path, caplog, monkeypatch):
    tree = fs.MemoryTree(tmp_path)

    def refuse(path, *a, **k):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(shutil, "rmtree", refuse)
    with caplog.at_level(logging.WARNING):
        tree.cleanup()
    assert "could not remove the simulated tree" in caplog.text


def test_stale_trees_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = tmp_path / f"{fs.TREE_PREFIX}{dead.stdout.strip()}-abc123"
    (stale / "proc").mkdir(parents=True)
    mine = tmp_path / f"{fs.TREE_PREFIX}{os.getpid()}-live"
    mine.mkdir()
    other = tmp_path / "unrelated"
    other.mkdir()
    tree = fs.MemoryTree(tmp_path)
    assert not stale.exists(), "a dead simulator's tree is gone"
    assert mine.exists(), "a live process's tree stays"
    assert other.exists()
    tree.cleanup()
    assert not tree.path.exists()


def test_without_dev_shm_it_falls_back_and_says_so(monkeypatch, caplog, tmp_path):
    monkeypatch.setattr(os.path, "isdir", lambda p: False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    with caplog.at_level(logging.WARNING):
        base = fs.memory_base()
    assert base == tmp_path
    assert "may be a disk" in caplog.text


@pytest.mark.skipif(
    not (os.path.isdir("/dev/shm") and os.path.exists("/proc/self/io")),
    reason="needs Linux's /dev/shm and /proc/self/io",
)
def test_a_ticking_world_writes_nothing_to_disk():
    """What the SD card would see: this process's write_bytes while the tree is rewritten."""

    def written() -> int:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
        return 0

    world = SimWorld(seed=1)
    try:
        before = written()
        for _ in range(200):
            world.tick(0.5)
        assert written() - before == 0
    finally:
        world.close()


def test_the_simulated_world_ticks_at_half_the_shortest_simulated_interval():
    """Each tick rewrites files: the world need not change faster than anything reads it."""
    import tomllib

    from pi_dashboard.app import SIM_TICK_S, sim_tick
    from pi_dashboard.config import parse_config
    from pi_dashboard.demo import demo_config
    from pi_dashboard.sensors.registry import TYPES

    def config(toml: str) -> object:
        return parse_config(tomllib.loads(toml), TYPES)

    probe = '[[sensors]]\nid = "tank"\ntype = "ds18b20"\ninterval = {}\n'
    assert sim_tick(config(probe.format(3)), TYPES) == 1.5
    assert sim_tick(config(probe.format(1)), TYPES) == SIM_TICK_S[0]
    assert sim_tick(config(probe.format(60)), TYPES) == SIM_TICK_S[1]
    # the demo sensor is no simulated hardware: a 1 s demo does not speed the world up
    demo = '[[sensors]]\nid = "d"\ntype = "demo"\ninterval = 1\n'
    assert sim_tick(config(demo + probe.format(3)), TYPES) == 1.5
    assert sim_tick(demo_config(), TYPES) == 1.0  # its HC-SR04 reads every 2 s


def test_the_world_ticks_on_a_thread_of_its_own_until_stopped():
    """Not through the event loop (nothing of the loop's runs here), and stop() ends it."""
    import threading

    from waiting import wait_until

    world = SimWorld(seed=1)
    try:
        world.run(0.01)
        wait_until(lambda: world.env.t >= 0.05)
        ticker = next(t for t in threading.enumerate() if t.name == "sim-world")
        world.stop()
        assert not ticker.is_alive()
        stopped_at = world.env.t
        world.run(0.01)  # started again (an app started twice on one world in tests)
        wait_until(lambda: world.env.t >= stopped_at + 0.05)
    finally:
        world.close()
    assert not any(t.name == "sim-world" for t in threading.enumerate())
