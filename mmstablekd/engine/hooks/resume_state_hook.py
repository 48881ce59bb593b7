"""What ``--resume`` needs beyond MMEngine: the RNG states, and a word when nothing is found."""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.runner import BaseLoop, find_latest_checkpoint

from mmstablekd.registry import HOOKS

RNG_KEY = 'rng_state'


def capture_rng() -> dict:
    """The states of Python's ``random``, numpy's global RNG and torch's (CPU and CUDA).

    Stored as tensors and plain numbers only, so a checkpoint holding them still loads with
    ``torch.load(weights_only=True)``.
    """
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    version, py_state, py_gauss = random.getstate()
    state = dict(torch=torch.get_rng_state(),
                 numpy_keys=torch.from_numpy(np.asarray(keys, dtype=np.int64)),
                 numpy_pos=int(pos), numpy_has_gauss=int(has_gauss), numpy_gauss=float(gauss),
                 python_version=int(version), python_state=torch.tensor(py_state),
                 python_gauss=py_gauss)
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict) -> None:
    """Set the RNG states saved by :func:`capture_rng`."""
    torch.set_rng_state(state['torch'])
    np.random.set_state(('MT19937', state['numpy_keys'].numpy().astype(np.uint32),
                         state['numpy_pos'], state['numpy_has_gauss'], state['numpy_gauss']))
    random.setstate((state['python_version'], tuple(int(v) for v in state['python_state']),
                     state['python_gauss']))
    cuda = state.get('cuda')
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


@HOOKS.register_module()
class ResumeStateHook(Hook):
    """Make a resumed run continue exactly where the saved one stopped.

    * Every checkpoint stores the RNG states (torch CPU/CUDA, numpy, ``random``) of the moment
      it is written; ``--resume`` restores them at ``before_train``. The data order needs no
      state (MMEngine's ``DefaultSampler`` draws it from seed + epoch), and the augmentations
      (numpy/``random`` in the main process, or workers re-seeded per epoch from the seed)
      continue from the restored states, so a resumed CPU run is bit-identical to the
      uninterrupted one. Not covered: ``persistent_workers=True`` with ``num_workers > 0``
      (the workers' own states are not saved), and distributed runs with
      ``randomness.diff_rank_seed=True`` (only rank 0's states are saved; not restored).
    * Validation during training runs between the save and the next epoch; it gets its
      own RNG draws and puts the training states back afterwards, so it does not shift the
      training stream (and the uninterrupted and the resumed run see the same one).
    * ``--resume`` without a path (``resume=True``, ``load_from=None``) that finds no
      checkpoint in the work dir logs a loud warning naming the work dir: the run starts from
      scratch, as MMEngine does (so "always pass ``--resume``" restart scripts keep working).
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None
        self._outside_val: Optional[dict] = None

    def before_run(self, runner) -> None:
        """Warn when auto-resume will find nothing to resume."""
        if not isinstance(runner._train_loop, BaseLoop):
            return
        if runner._resume and runner._load_from is None and \
                find_latest_checkpoint(runner.work_dir) is None:
            runner.logger.warning(
                '\n' + '!' * 78 + f'\n--resume found no checkpoint to resume in '
                f'{runner.work_dir} (no last_checkpoint file): training STARTS FROM SCRATCH. '
                'If you meant another run, pass its work dir (--work-dir) or the checkpoint '
                '(--resume PATH).\n' + '!' * 78)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store the RNG states in ``checkpoint['meta']``."""
        checkpoint.setdefault('meta', {})[RNG_KEY] = capture_rng()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """On resume, keep the saved states to restore them at ``before_train``."""
        if not getattr(runner, '_resume', False):
            return
        self._pending = (checkpoint.get('meta') or {}).get(RNG_KEY)
        if self._pending is not None and get_world_size() > 1 and \
                runner._randomness_cfg.get('diff_rank_seed', False):
            # Only rank 0's states are saved: restoring them everywhere would give every
            # rank the same stream, which diff_rank_seed=True asks to avoid.
            self._pending = None
            runner.logger.info('diff_rank_seed=True: the RNG states are not restored.')
        elif self._pending is None:
            runner.logger.warning('The resumed checkpoint holds no RNG states (written '
                                  'without ResumeStateHook): the resumed run continues with '
                                  'other random augmentations than the original would have.')

    def before_train(self, runner) -> None:
        """Restore the resumed RNG states, after everything else that draws at start-up."""
        if self._pending is not None:
            restore_rng(self._pending)
            self._pending = None
            runner.logger.info('Restored the RNG states (torch, numpy, random) of the '
                               'resumed checkpoint.')

    def before_val(self, runner) -> None:
        """Set the training RNG states aside while validating."""
        self._outside_val = capture_rng()

    def after_val(self, runner) -> None:
        """Put the training RNG states back."""
        if self._outside_val is not None:
            restore_rng(self._outside_val)
            self._outside_val = None
