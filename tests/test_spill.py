"""Temporary folders of `batch` runs that were killed are removed by the next run (issue 10,
point 13): a run owns its folder through an OS lock on a file inside it (with its process id),
which dies with the process however it dies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from evalbook.bureau import batch
from evalbook.adapters import filelock
from tests.conftest import EXAMPLE, ROOT

posix_only = pytest.mark.skipif(os.name != "posix", reason="SIGKILL")


def _holder(folder: Path) -> subprocess.Popen:
    """Another process that owns `folder` the way a running batch does."""
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from evalbook.adapters import filelock
        held = filelock.try_acquire(Path({str(folder)!r}) / "owner.lock")
        print("held" if held else "busy", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE)
    assert process.stdout.readline().strip() == b"held"
    return process


def _spill(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "results.jsonl").write_text("部分结果")
    return folder


def test_only_folders_of_dead_runs_are_removed(tmp_path):
    dead = _spill(tmp_path, "evalbook-batch-111-dead")
    alive = _spill(tmp_path, "evalbook-batch-222-alive")
    young = _spill(tmp_path, "evalbook-batch-333-young")  # no owner file yet (just created)
    old = _spill(tmp_path, "evalbook-merge-444-old")  # an older version's run, two days ago
    other = _spill(tmp_path, "someone-else-batch")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))

    killed = _holder(dead)
    killed.kill()
    killed.wait()
    running = _holder(alive)
    try:
        assert (dead / "owner.lock").read_text().strip() == str(killed.pid)  # who owned it, for a person
        removed = batch.remove_dead_spills(tmp_path)
        assert sorted(removed) == sorted([dead.name, old.name])
        assert not dead.exists() and not old.exists()
        assert alive.exists() and young.exists() and other.exists()
    finally:
        running.kill()
        running.wait()
    assert batch.remove_dead_spills(tmp_path) == [alive.name]  # its owner is gone now


def test_a_run_owns_its_folder_and_removes_it(tmp_path, monkeypatch):
    monkeypatch.setattr(batch.tempfile, "tempdir", str(tmp_path))
    with batch.spill_folder("evalbook-batch-") as folder:
        assert folder.parent == tmp_path and folder.name.startswith(f"evalbook-batch-{os.getpid()}-")
        assert filelock.try_acquire(folder / batch.OWNER_FILE) is None  # held while running
        assert batch.remove_dead_spills(tmp_path) == []
    assert list(tmp_path.iterdir()) == []


@posix_only
def test_batch_killed_outright_leaves_nothing_behind_after_the_next_run(tmp_path):
    spill_root = tmp_path / "tmp"
    spill_root.mkdir()
    inputs = tmp_path / "各部门"
    inputs.mkdir()
    for i in range(40):
        (inputs / f"部门{i:02d}.xlsm").write_bytes(EXAMPLE.read_bytes())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(spill_root)}
    argv = [sys.executable, "-m", "evalbook.cli", "batch", "--jobs", "1", str(inputs), "-o", str(tmp_path / "汇总.xlsx")]
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not any(spill_root.glob("evalbook-batch-*/owner.lock")):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert [p.name.startswith("evalbook-batch-") for p in spill_root.iterdir()] == [True]  # left by the kill

    subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, timeout=300)
    assert list(spill_root.iterdir()) == []
