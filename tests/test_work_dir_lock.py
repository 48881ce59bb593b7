"""Issue 14, case 5: a second training run in a work dir that a live run holds fails fast,
naming the holder; a lock left by a dead process is taken over. Issue 19.5: the refused run
leaves the work dir byte-identical, and of several processes taking over one stale lock
exactly one wins."""
import hashlib
import json
import multiprocessing
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


def tree_hash(root: Path) -> str:
    """A hash of every path under ``root`` and of every file's bytes."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob('*')):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_second_tools_train_run_fails_fast_naming_the_holder(teacher_cfg, tmp_path,
                                                              live_process):
    work = tmp_path / 'w'
    (work / '20260101_100000' / 'vis_data').mkdir(parents=True)
    write_lock(work / '.train.lock', live_process.pid)
    # what the holder wrote: its config dump (the name tools/train.py dumps ours to), logs
    (work / 'cfg.py').write_text('# the config the holder trains with\n')
    (work / '20260101_100000' / '20260101_100000.log').write_text('epoch 1\n')
    (work / 'last_checkpoint').write_text(str(work / 'epoch_1.pth'))
    before = tree_hash(work)
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
    assert tree_hash(work) == before, sorted(map(str, work.rglob('*')))
    assert 'Traceback' not in log


def _dead_pid() -> int:
    proc = subprocess.Popen(['true'])
    proc.wait()
    return proc.pid


def _racer(dirs, barrier, results) -> None:
    for i, folder in enumerate(dirs):
        barrier.wait()
        results.put((i, WorkDirLock(os.path.join(folder, '.train.lock')).acquire() is None))
        barrier.wait()  # every racer (winner included) stays alive until all have tried


def test_stale_lock_takeover_has_exactly_one_winner(tmp_path):
    trials, racers = 300, 4
    dead = _dead_pid()
    dirs = []
    for i in range(trials):
        folder = tmp_path / str(i)
        folder.mkdir()
        write_lock(folder / '.train.lock', dead)
        dirs.append(str(folder))
    ctx = multiprocessing.get_context('fork')
    barrier, results = ctx.Barrier(racers), ctx.Queue()
    procs = [ctx.Process(target=_racer, args=(dirs, barrier, results)) for _ in range(racers)]
    for proc in procs:
        proc.start()
    wins = [0] * trials
    for _ in range(trials * racers):
        i, won = results.get(timeout=120)
        wins[i] += won
    for proc in procs:
        proc.join(timeout=60)
    assert wins == [1] * trials, [(i, n) for i, n in enumerate(wins) if n != 1][:10]


@pytest.fixture
def teacher_cfg(data_override):
    return data_override('configs/teachers/resnet34_cifar100.py', extra='''
model = dict(backbone=dict(stem_channels=4, base_channels=4), head=dict(num_classes=4,
             in_channels=32))
train_cfg = dict(max_epochs=1)
''')
