"""One training run per work dir: a lock file that a second run there fails on."""
import atexit
import contextlib
import fcntl
import json
import os
import os.path as osp
import socket
import sys
import time
import uuid
from typing import Dict, Iterator, Optional

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


@contextlib.contextmanager
def _directory_mutex(directory: str) -> Iterator[None]:
    """An exclusive ``flock`` on ``directory`` itself (no file is created) for the block."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor drops the flock


class WorkDirLock:
    """A lock file that names its holder (pid, host, start time, command).

    Taken atomically: the record is written to a private temporary file first and
    ``os.link``-ed to the lock path, which fails if the path exists, so the lock file is
    never seen half-written. A lock whose holder runs on this host but no longer exists
    (killed, crashed) is stale and taken over; so is one held by this very process (a run in
    the same process that raised before releasing it). The takeover (re-read, check, remove,
    link) runs under an exclusive ``flock`` on the lock's directory, so of several processes
    that find one stale lock at once exactly one takes it over; the others then see a live
    holder.

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
        record = f'{self.path}.{self.token}.tmp'
        with open(record, 'w') as f:
            json.dump(me, f)
        try:
            return self._acquire(record)
        finally:
            os.remove(record)

    def _acquire(self, record: str) -> Optional[dict]:
        for _ in range(3):
            if self._link(record):
                return None
            holder = _read(self.path)
            if not self._stale(holder):
                return holder or {}
            with _directory_mutex(osp.dirname(osp.abspath(self.path))):
                current = _read(self.path)
                if current != holder:  # changed since we looked: look again
                    continue
                try:
                    os.remove(self.path)
                except FileNotFoundError:
                    pass
                if self._link(record):
                    return None
        return _read(self.path) or {}

    def _link(self, record: str) -> bool:
        try:
            os.link(record, self.path)
        except FileExistsError:
            return False
        self.held = True
        atexit.register(self.release)
        return True

    @staticmethod
    def _stale(holder: Optional[dict]) -> bool:
        if holder is None:  # unreadable (the file appears complete): corrupt, or removed
            return True
        if holder.get('host') != socket.gethostname():
            return False  # cannot tell whether a process on another host lives
        pid = holder.get('pid')
        return not isinstance(pid, int) or (pid == os.getpid() and
                                            _HELD.get(holder.get('token')) is None) \
            or not _alive(pid)

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
        _HELD.pop(self.token, None)


# Locks this process holds, by token: a run's lock taken before its Runner is built
# (take_work_dir_lock) is found again by its WorkDirLockHook.
_HELD: Dict[str, WorkDirLock] = {}


def _locked_message(work_dir: str, lock: WorkDirLock, holder: Optional[dict]) -> str:
    return (f'work_dir {work_dir} is in use by another training run: {describe(holder)}. Two '
            'runs in one work dir overwrite each other\'s checkpoints; wait for it to finish '
            f'or pass another --work-dir. If that process no longer runs, delete {lock.path}.')


def take_work_dir_lock(work_dir: str, filename: str = '.train.lock') -> WorkDirLock:
    """Take the lock of ``work_dir`` for this process, before anything writes there.

    ``tools/train.py`` calls this before it builds the Runner (whose ``__init__`` already
    creates the log dir and dumps the config into the work dir), so a refused run leaves
    the work dir exactly as it was. The config's :class:`WorkDirLockHook` then finds the
    lock held by this process and keeps it. Only the work dir itself may be created here
    (if it did not exist).

    Raises:
        WorkDirLockedError: another live run holds it.
    """
    work_dir = osp.abspath(work_dir)
    path = osp.join(work_dir, filename)
    lock = _held_lock(path)
    if lock is not None:
        return lock
    os.makedirs(work_dir, exist_ok=True)
    lock = WorkDirLock(path)
    holder = lock.acquire()
    if holder is not None:
        raise WorkDirLockedError(_locked_message(work_dir, lock, holder))
    _HELD[lock.token] = lock
    return lock


def _held_lock(path: str) -> Optional['WorkDirLock']:
    """The lock of ``path`` that this process holds, if any."""
    holder = _read(path)
    lock = _HELD.get((holder or {}).get('token'))
    return lock if lock is not None and lock.held else None


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
            try:
                self.lock = take_work_dir_lock(runner.work_dir, self.filename)
            except WorkDirLockedError as e:
                error = str(e)
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
