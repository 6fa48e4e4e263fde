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
