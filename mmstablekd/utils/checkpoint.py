"""Read checkpoints without running code: ``weights_only=True`` plus a scoped allow-list.

``torch.load(weights_only=True)`` unpickles tensors and plain Python containers only. MMEngine
checkpoints also hold a few other objects: the message hub's ``HistoryBuffer`` (whose state is
numpy arrays) and numpy scalars in ``meta`` / ``message_hub``. :func:`allowed_globals` lists
exactly those types (found by saving real ``Runner`` checkpoints, see
``tests/test_checkpoint_safety.py``); every other global is refused and nothing is executed.

* :func:`load_checkpoint_file` is the one loader of mmstablekd (teacher checkpoints,
  ``tools/test.py``, ``tools/convert_student.py``, the quickstart). Its errors name the file
  and say what is wrong with it (missing, a directory, empty, truncated, refused type).
* :func:`mmengine_checkpoints` is a context manager under which MMEngine's own checkpoint loads
  (``load_from``, ``--resume``, ``init_cfg=dict(type='Pretrained')``) go through that loader.
  It restores MMEngine's loaders and torch's safe-globals registry when it exits.

Nothing here runs at import time: importing mmstablekd changes no global of torch.

Opting in to full unpickling: set ``MMSTABLEKD_UNSAFE_LOAD=1`` (or pass ``--unsafe-load`` to
``tools/convert_student.py``). Unpickling a file can execute arbitrary code: only do this for
files you trust.
"""
import contextlib
import hashlib
import os
import os.path as osp
import pickle
import re
import tempfile
import warnings
from collections import OrderedDict
from typing import Any, Callable, Iterator, List, Tuple, Union

import torch

UNSAFE_LOAD_ENV = 'MMSTABLEKD_UNSAFE_LOAD'
_TRUE = ('1', 'true', 'yes', 'y')
# numpy scalar types seen in MMEngine checkpoints (metrics, seeds, counters in meta and the
# message hub); object and string dtypes are deliberately absent.
_NUMPY_DTYPES = ('bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32',
                 'uint64', 'float16', 'float32', 'float64')
_REFUSED_GLOBAL = re.compile(r"GLOBAL (.+?) was not an allowed global")
_REFUSED_OBJECT = re.compile(r'(?:but got|unrecognized function) (.+?)(?:\n|$)')

SafeGlobal = Union[Callable, Tuple[Callable, str]]


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message names the file and says why."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint that needs a type outside :func:`allowed_globals` to be unpickled."""


def unsafe_load_enabled() -> bool:
    """Whether the user opted in to full unpickling (``MMSTABLEKD_UNSAFE_LOAD=1``)."""
    return os.environ.get(UNSAFE_LOAD_ENV, '').strip().lower() in _TRUE


class _MethodOwner:
    """Stands in for a class in the unpickler so that only some of its functions are reachable.

    Pickle protocol 2 writes a function defined in a class body (e.g. the ``_annealing_cos``
    that ``OneCycleParamScheduler.state_dict()`` holds as ``anneal_func``) as
    ``getattr(<class>, '<name>')``. Admitting the class itself would let a file call or
    instantiate it; this marker is neither callable nor instantiable, and
    :func:`_restricted_getattr` answers only the listed names on it.

    Args:
        path (str): The class's full name, e.g.
            ``'mmengine.optim.scheduler.param_scheduler.OneCycleParamScheduler'``.
        names (tuple[str]): Its functions that may be looked up.
    """

    def __init__(self, path: str, names: Tuple[str, ...]) -> None:
        self.path = path
        self.names = names

    def __repr__(self) -> str:
        return f'<allow-listed functions {self.names} of {self.path}>'


# Functions that MMEngine's param schedulers keep in their state (static methods, pure math).
_SCHEDULER_FUNCTIONS = (
    ('mmengine.optim.scheduler.param_scheduler', 'OneCycleParamScheduler',
     ('_annealing_cos', '_annealing_linear')),
)
_OWNERS = tuple(_MethodOwner(f'{module}.{cls}', names)
                for module, cls, names in _SCHEDULER_FUNCTIONS)


def _owner_function(owner: _MethodOwner, name: str) -> Callable:
    """The real function ``name`` of the class that ``owner`` stands for."""
    import importlib
    module, cls = owner.path.rsplit('.', 1)
    return getattr(getattr(importlib.import_module(module), cls), name)


def _restricted_getattr(owner: Any, name: str) -> Callable:
    """``getattr`` restricted to the functions checkpoints hold as ``getattr(cls, name)``.

    General ``getattr`` would reach any attribute of an allowed object, so only these are
    answered: ``HistoryBuffer``'s statistics methods (kept in its ``statistics_methods``
    state) and the functions :data:`_SCHEDULER_FUNCTIONS` lists, looked up on their
    :class:`_MethodOwner` stand-in.
    """
    from mmengine.logging import HistoryBuffer
    if isinstance(owner, type) and issubclass(owner, HistoryBuffer) and (
            name in ('min', 'max', 'mean', 'current') or name in owner._statistics_methods):
        return getattr(owner, name)
    if isinstance(owner, _MethodOwner) and isinstance(name, str) and name in owner.names:
        return _owner_function(owner, name)
    raise pickle.UnpicklingError(f'Unsupported global: GLOBAL getattr({owner!r}, {name!r}) was '
                                 'not an allowed global (only HistoryBuffer statistics '
                                 'methods and the annealing functions of MMEngine param '
                                 'schedulers are)')


def allowed_globals() -> List[SafeGlobal]:
    """The types, beyond torch's own, that MMEngine/mmpretrain checkpoints contain.

    Found by saving the state of every MMEngine param scheduler and hook and of real
    ``Runner`` checkpoints (``tests/test_checkpoint_safety.py``,
    ``tests/test_checkpoint_coverage.py``). The same list serves :func:`load_checkpoint_file`
    and the opt-in :mod:`mmstablekd.safe_checkpoints` for MMEngine's own tools.

    Returns:
        list: Entries for ``torch.serialization.add_safe_globals``: mmengine's
        ``HistoryBuffer``; a restricted ``getattr`` (:func:`_restricted_getattr`) with
        non-callable stand-ins for the classes whose functions it answers
        (``OneCycleParamScheduler``'s ``_annealing_cos``/``_annealing_linear``, which its
        ``state_dict`` holds as ``anneal_func``); those functions under their own names (pickle
        protocol >= 4); numpy's array/scalar reconstruction functions, ``numpy.dtype`` and
        the numeric dtype classes. numpy < 2 wrote ``numpy.core.multiarray.*``, numpy >= 2
        writes ``numpy._core.multiarray.*``: both names are accepted.
    """
    import numpy as np
    from mmengine.logging import HistoryBuffer

    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    entries: List[SafeGlobal] = [HistoryBuffer, (_restricted_getattr, 'builtins.getattr'),
                                 np.ndarray, np.dtype]
    for owner in _OWNERS:
        entries.append((owner, owner.path))
        entries += [(_owner_function(owner, name), f'{owner.path}.{name}')
                    for name in owner.names]
    for fn in (multiarray._reconstruct, multiarray.scalar):
        for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
            entries.append((fn, f'{module}.{fn.__name__}'))
    entries += sorted({type(np.dtype(name)) for name in _NUMPY_DTYPES} - {np.dtype},
                      key=lambda t: t.__name__)
    return entries


def _refusal(source: str, error: Exception) -> CheckpointError:
    """Turn torch's weights-only ``UnpicklingError`` into an error naming the file."""
    text = str(error)
    match = _REFUSED_GLOBAL.search(text) or _REFUSED_OBJECT.search(text)
    if match is None:
        return CheckpointError(f'cannot read {source}: not a readable torch checkpoint '
                               f'(truncated or corrupted?): {text.strip()[-500:]}')
    return UnsafeCheckpointError(
        f'refused to load {source}: unpickling it needs {match.group(1)}, which is not one '
        'of the types MMEngine/mmpretrain checkpoints contain (mmstablekd reads checkpoints '
        'with torch.load(weights_only=True) and the allow-list in '
        'mmstablekd/utils/checkpoint.py; nothing in the file was executed). If you trust '
        f'this file, set {UNSAFE_LOAD_ENV}=1 (tools/convert_student.py: --unsafe-load) to '
        'unpickle it fully. Risk: unpickling can run arbitrary code from the file.')


def _mmengine_loader(filename: str, map_location: Any = None) -> Any:
    """MMEngine ``CheckpointLoader`` scheme for local files and URLs: our safe loader."""
    return load_checkpoint_file(filename, map_location)


@contextlib.contextmanager
def _allow_listed() -> Iterator[None]:
    """Add :func:`allowed_globals` to torch's safe globals; restore the registry on exit."""
    saved = torch.serialization.get_safe_globals()
    torch.serialization.add_safe_globals(allowed_globals())
    try:
        yield
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(saved)


@contextlib.contextmanager
def mmengine_checkpoints(source: str = 'a checkpoint') -> Iterator[None]:
    """Let MMEngine's checkpoint loads inside the block read MMEngine checkpoints safely.

    For the duration of the block: MMEngine's ``CheckpointLoader`` reads local files and
    ``http(s)://`` URLs with :func:`load_checkpoint_file` (so ``load_from``, ``--resume`` and
    ``init_cfg=dict(type='Pretrained')`` are safe whatever ``weights_only`` MMEngine passes),
    and :func:`allowed_globals` are in torch's safe-globals registry (for plain
    ``torch.load`` calls). Both are restored exactly as they were afterwards. With
    ``MMSTABLEKD_UNSAFE_LOAD=1`` it also sets torch's ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``
    for the block.

    Args:
        source (str): What plain ``torch.load`` calls in the block read, for errors.

    Raises:
        UnsafeCheckpointError: if a load in the block needs a type outside the allow-list.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    schemes = OrderedDict(CheckpointLoader._schemes)  # register_scheme mutates it in place
    env = os.environ.get('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD')
    CheckpointLoader.register_scheme(prefixes=('', 'http://', 'https://'),
                                     loader=_mmengine_loader, force=True)
    if unsafe_load_enabled() and 'TORCH_FORCE_WEIGHTS_ONLY_LOAD' not in os.environ:
        os.environ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] = '1'
    try:
        with _allow_listed():
            yield
    except pickle.UnpicklingError as e:
        raise _refusal(source, e) from None
    finally:
        CheckpointLoader._schemes = schemes
        if env is None:
            os.environ.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
        else:
            os.environ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] = env


def url_cache_path(url: str) -> str:
    """Where a downloaded ``http(s)://`` checkpoint is cached: a key of the whole URL.

    ``<torch hub dir>/checkpoints/mmstablekd/<sha256 of the URL, 16 hex>-<file name>``: two
    URLs with the same file name (``http://h/a/model.pth``, ``http://h/b/model.pth``) or that
    differ only in their query get different files; the file name stays for readability.
    """
    from torch.hub import get_dir
    key = hashlib.sha256(url.encode('utf-8')).hexdigest()[:16]
    name = osp.basename(url.split('?')[0].split('#')[0]) or 'checkpoint.pth'
    return osp.join(get_dir(), 'checkpoints', 'mmstablekd', f'{key}-{name}')


def local_checkpoint(path: str, what: str = 'checkpoint') -> str:
    """A readable local file for ``path``; ``http(s)://`` URLs are downloaded (cached under
    :func:`url_cache_path`, a key of the whole URL).

    Raises:
        CheckpointError: if the file is missing, a directory or empty (0 bytes).
    """
    path = osp.expanduser(path)
    if path.startswith(('http://', 'https://')):
        from torch.hub import download_url_to_file
        cached = url_cache_path(path)
        if not osp.isfile(cached):
            os.makedirs(osp.dirname(cached), exist_ok=True)
            download_url_to_file(path, cached)
        path = cached
    if osp.isdir(path):
        raise CheckpointError(f'{what} {path!r} is a directory, not a checkpoint file')
    if not osp.isfile(path):
        raise CheckpointError(f'{what} {path!r} does not exist')
    if osp.getsize(path) == 0:
        raise CheckpointError(f'{what} {path!r} is empty (0 bytes): an interrupted save or '
                              'copy? Re-save or re-download it')
    return path


def check_writable(path: str, what: str = 'output') -> None:
    """Check that the file ``path`` can be written, before any work that leads to it.

    Probes by creating (and removing) a temporary file in the nearest existing directory of
    ``path`` (permission bits alone do not tell: root ignores them, a read-only mount does
    not). Nothing is left behind.

    Raises:
        CheckpointError: ``path`` is a directory, or that directory refuses a new file.
    """
    if osp.isdir(path):
        raise CheckpointError(f'{what} {path!r} is a directory, not a file name')
    folder = osp.dirname(osp.abspath(path))
    while not osp.isdir(folder):
        if osp.exists(folder):
            raise CheckpointError(f'{what} {path!r}: {folder!r} is a file, not a directory')
        folder = osp.dirname(folder)
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise CheckpointError(f'{what} {path!r} cannot be written: {folder!r} refuses new '
                              f'files ({e.strerror or e})') from None


def load_checkpoint_file(path: str, map_location: Any = 'cpu', what: str = 'checkpoint',
                         unsafe_load: bool = False) -> Any:
    """``torch.load`` a checkpoint with ``weights_only=True`` and :func:`allowed_globals`.

    Args:
        path (str): Local path or ``http(s)://`` URL.
        map_location: Passed to ``torch.load``. Defaults to ``'cpu'``.
        what (str): How to name the file in errors, e.g. ``'model.teacher_ckpt'``.
        unsafe_load (bool): Unpickle fully, as with ``MMSTABLEKD_UNSAFE_LOAD=1`` (a tool's
            explicit ``--unsafe-load``): can run code from the file.

    Returns:
        The unpickled object (usually a dict with ``state_dict`` and ``meta``).

    Raises:
        CheckpointError: missing/empty/unreadable file; :class:`UnsafeCheckpointError` if it
            needs a type outside the allow-list (unless ``MMSTABLEKD_UNSAFE_LOAD=1``).
    """
    local = local_checkpoint(path, what)
    source = f'{what} {path!r}'
    try:
        if unsafe_load or unsafe_load_enabled():
            warnings.warn(f'unsafe load requested: unpickling {source} fully; this can run code '
                          'from the file', UserWarning, stacklevel=2)
            return torch.load(local, map_location=map_location, weights_only=False)
        with _allow_listed():
            return torch.load(local, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise _refusal(source, e) from None
    except Exception as e:  # torch raises many types for bad files (zip, pickle, EOF ...)
        raise CheckpointError(f'cannot read {source}: not a complete torch checkpoint '
                              f'(truncated or corrupted?): {type(e).__name__}: {e}') from None
