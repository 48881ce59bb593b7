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
import os
import os.path as osp
import pickle
import re
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


def _history_buffer_method(owner: Any, name: str) -> Callable:
    """``getattr`` restricted to ``HistoryBuffer``'s statistics methods.

    Pickle protocol 2 (``torch.save``'s) writes the functions ``HistoryBuffer`` keeps in its
    ``statistics_methods`` state as ``getattr(HistoryBuffer, 'min')``; general ``getattr``
    would reach any attribute of an allowed object, so only these are answered.
    """
    from mmengine.logging import HistoryBuffer
    if isinstance(owner, type) and issubclass(owner, HistoryBuffer) and (
            name in ('min', 'max', 'mean', 'current') or name in owner._statistics_methods):
        return getattr(owner, name)
    raise pickle.UnpicklingError(f'Unsupported global: GLOBAL getattr({owner!r}, {name!r}) was '
                                 'not an allowed global (only HistoryBuffer statistics '
                                 'methods are)')


def allowed_globals() -> List[SafeGlobal]:
    """The types, beyond torch's own, that MMEngine/mmpretrain checkpoints contain.

    Returns:
        list: Entries for ``torch.serialization.add_safe_globals``: mmengine's
        ``HistoryBuffer`` and its statistics methods (:func:`_history_buffer_method`),
        numpy's array/scalar reconstruction functions, ``numpy.dtype`` and the numeric dtype
        classes. numpy < 2 wrote ``numpy.core.multiarray.*``, numpy >= 2
        writes ``numpy._core.multiarray.*``: both names are accepted.
    """
    import numpy as np
    from mmengine.logging import HistoryBuffer

    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    entries: List[SafeGlobal] = [HistoryBuffer, (_history_buffer_method, 'builtins.getattr'),
                                 np.ndarray, np.dtype]
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


def local_checkpoint(path: str, what: str = 'checkpoint') -> str:
    """A readable local file for ``path``; ``http(s)://`` URLs are downloaded (cached).

    Raises:
        CheckpointError: if the file is missing, a directory or empty (0 bytes).
    """
    path = osp.expanduser(path)
    if path.startswith(('http://', 'https://')):
        from torch.hub import download_url_to_file, get_dir
        cached = osp.join(get_dir(), 'checkpoints', osp.basename(path.split('?')[0]))
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
