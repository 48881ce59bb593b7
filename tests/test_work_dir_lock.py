"""Issue 14, case 5: a second training run in a work dir that a live run holds fails fast,
naming the holder; a lock left by a dead process is taken over."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mmstablekd.engine.hooks.work_dir_lock_hook import WorkDirLock

REPO = Path(__file__).resolve().parents[1]


def write_lock(path: Path, pid: int, host: str = None) -> None:
    path.write_text(json.dumps(dict(pid=pid, host=host or socket.gethostname(), token='x',
                                    started='2026-01-01 10:00:00 UTC',
                                    command='python tools/train.py other.py')))


@pytest.fixture
def live_process():
    proc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])
    yield proc
    proc.kill()
    proc.wait()


def test_lock_is_exclusive_names_its_holder_and_is_released(tmp_path, live_process):
    path = tmp_path / '.train.lock'
    write_lock(path, live_process.pid)
    holder = WorkDirLock(str(path)).acquire()
    assert holder['pid'] == live_process.pid
    live_process.kill()
    live_process.wait()  # the holder is gone: its lock is stale and taken over
    lock = WorkDirLock(str(path))
    assert lock.acquire() is None
    assert json.loads(path.read_text())['pid'] == os.getpid()
    lock.release()
    assert not path.exists()


def test_lock_of_another_host_is_respected(tmp_path):
    path = tmp_path / '.train.lock'
    write_lock(path, 1, host='some-other-host')
    assert WorkDirLock(str(path)).acquire()['host'] == 'some-other-host'


def test_release_leaves_a_lock_taken_over_by_another_run(tmp_path):
    path = tmp_path / '.train.lock'
    lock = WorkDirLock(str(path))
    assert lock.acquire() is None
    write_lock(path, os.getppid())  # e.g. someone deleted ours and started a run
    lock.release()
    assert path.exists()


def test_second_tools_train_run_fails_fast_naming_the_holder(teacher_cfg, tmp_path,
                                                              live_process):
    work = tmp_path / 'w'
    work.mkdir()
    write_lock(work / '.train.lock', live_process.pid)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, str(REPO / 'tools/train.py'), teacher_cfg,
                           '--work-dir', str(work)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f'is in use by another training run: pid {live_process.pid} on host ' \
           f'{socket.gethostname()}, started 2026-01-01 10:00:00 UTC' in log, log[-3000:]
    assert not list(work.glob('*.pth'))
    assert json.loads((work / '.train.lock').read_text())['pid'] == live_process.pid


@pytest.fixture
def teacher_cfg(data_override):
    return data_override('configs/teachers/resnet34_cifar100.py', extra='''
model = dict(backbone=dict(stem_channels=4, base_channels=4), head=dict(num_classes=4,
             in_channels=32))
train_cfg = dict(max_epochs=1)
''')
