"""One training run per work dir: a lock file that a second run there fails on."""
import atexit
import json
import os
import os.path as osp
import socket
import sys
import time
import uuid
from typing import Optional

from mmengine.dist import broadcast_object_list, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.runner import BaseLoop

from mmstablekd.registry import HOOKS


class WorkDirLockedError(RuntimeError):
    """Another live training run holds the work dir."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def _read(path: str) -> Optional[dict]:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def describe(holder: Optional[dict]) -> str:
    """``'pid 123 on host h, started 2026-01-01 10:00:00 UTC (python tools/train.py ...)'``."""
    if not holder:
        return 'an unknown process (unreadable lock file)'
    return (f"pid {holder.get('pid')} on host {holder.get('host')}, started "
            f"{holder.get('started')} ({holder.get('command')})")


class WorkDirLock:
    """A lock file that names its holder (pid, host, start time, command).

    Taken atomically (``O_CREAT | O_EXCL``). A lock whose holder runs on this host but no
    longer exists (killed, crashed) is stale and taken over; so is one held by this very
    process (a run in the same process that raised before releasing it).

    Args:
        path (str): The lock file.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.token = uuid.uuid4().hex
        self.held = False

    def acquire(self) -> Optional[dict]:
        """Take the lock; returns None on success, else the holder's record."""
        me = dict(pid=os.getpid(), host=socket.gethostname(), token=self.token,
                  started=time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime()),
                  command=' '.join([osp.basename(sys.executable)] + sys.argv))
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = _read(self.path)
                if holder is None:  # maybe being written right now: look again
                    time.sleep(0.2)
                    holder = _read(self.path)
                if not self._stale(holder):
                    return holder or {}
                try:
                    os.remove(self.path)
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, 'w') as f:
                json.dump(me, f)
            self.held = True
            atexit.register(self.release)
            return None
        return _read(self.path) or {}

    @staticmethod
    def _stale(holder: Optional[dict]) -> bool:
        if holder is None:  # unreadable twice: a crash between create and write
            return True
        if holder.get('host') != socket.gethostname():
            return False  # cannot tell whether a process on another host lives
        pid = holder.get('pid')
        return not isinstance(pid, int) or pid == os.getpid() or not _alive(pid)

    def release(self) -> None:
        """Remove the lock file if it is still ours."""
        if not self.held:
            return
        holder = _read(self.path)
        if holder is not None and holder.get('token') == self.token:
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass
        self.held = False


@HOOKS.register_module()
class WorkDirLockHook(Hook):
    """Refuse to train in a work dir that another live run is training in.

    At ``before_run`` of a training run (before any checkpoint is loaded or written) rank 0
    takes ``{work_dir}/{filename}``; if another live process holds it, every rank raises
    :class:`WorkDirLockedError` naming that process (pid, host, start time, command). Two runs
    in one work dir would otherwise overwrite each other's ``epoch_N.pth`` and
    ``last_checkpoint``. The lock is released at ``after_run`` and, if the run dies with an
    exception, when the process exits; a lock left by a killed process is taken over.

    Args:
        filename (str): Lock file name inside the work dir. Defaults to ``'.train.lock'``.
    """

    priority = 'VERY_HIGH'

    def __init__(self, filename: str = '.train.lock') -> None:
        if not isinstance(filename, str) or not filename or osp.basename(filename) != filename:
            raise ValueError(f'WorkDirLockHook.filename must be a plain file name, '
                             f'got {filename!r}')
        self.filename = filename
        self.lock: Optional[WorkDirLock] = None

    def before_run(self, runner) -> None:
        """Take the lock (rank 0) or fail on every rank."""
        if not isinstance(runner._train_loop, BaseLoop):  # test/val-only run
            return
        error = None
        if get_rank() == 0:
            os.makedirs(runner.work_dir, exist_ok=True)
            self.lock = WorkDirLock(osp.join(runner.work_dir, self.filename))
            holder = self.lock.acquire()
            if holder is not None:
                error = (f'work_dir {runner.work_dir} is in use by another training run: '
                         f'{describe(holder)}. Two runs in one work dir overwrite each '
                         'other\'s checkpoints; wait for it to finish or pass another '
                         f'--work-dir. If that process no longer runs, delete {self.lock.path}.')
        if get_world_size() > 1:
            shared = [error]
            broadcast_object_list(shared, src=0)
            error = shared[0]
        if error is not None:
            raise WorkDirLockedError(error)

    def after_run(self, runner) -> None:
        """Release the lock."""
        if self.lock is not None:
            self.lock.release()
