"""What ``--resume`` needs beyond MMEngine: the RNG states, the run's seed in the data order,
a word when nothing is found, and the student of a distillation checkpoint for ``load_from``."""
import functools
import random
from collections import OrderedDict
from typing import Optional

import numpy as np
import torch
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.runner import BaseLoop, find_latest_checkpoint

from mmstablekd.registry import HOOKS
from mmstablekd.utils.checkpoint import CheckpointError
from mmstablekd.utils.student_export import STUDENT_PREFIX
from .stablekd_stage_hook import unwrap

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


def reseed_train_data(runner, seed: int) -> bool:
    """Rebuild the train data order and worker seeds of ``runner`` from ``seed``.

    MMEngine builds the train sampler (``seed`` attribute: ``DefaultSampler``,
    ``InfiniteSampler``, mmpretrain's ``RepeatAugSampler``) and the loader's
    ``worker_init_fn`` with the seed of the *new* process; with ``randomness.seed=None`` that
    is a fresh draw, not the resumed run's. This sets both to ``seed`` and, for iteration
    based loops, restarts the loop's data iterator (it drew its first epoch's order at build
    time). Call it before the first resumed iteration.

    Returns:
        bool: Whether anything was changed.
    """
    loop = runner.train_loop
    loader = getattr(loop, 'dataloader', None)
    if loader is None:
        return False
    batch_sampler = getattr(loader, 'batch_sampler', None)
    sampler = getattr(batch_sampler, 'sampler', None) or getattr(loader, 'sampler', None)
    changed = False
    if sampler is not None and hasattr(sampler, 'seed') and sampler.seed != seed:
        sampler.seed = seed
        changed = True
    init_fn = loader.worker_init_fn
    if isinstance(init_fn, functools.partial) and init_fn.keywords.get('seed', seed) != seed:
        loader.worker_init_fn = functools.partial(init_fn.func, *init_fn.args,
                                                  **dict(init_fn.keywords, seed=seed))
        changed = True
    if changed and hasattr(loop, 'dataloader_iterator'):
        loop.dataloader_iterator = type(loop.dataloader_iterator)(loader)
    return changed


def student_of_distillation_checkpoint(model, checkpoint: dict, source: str) -> bool:
    """Let a plain classifier ``load_from`` a distillation checkpoint: keep its student.

    A distiller's checkpoint has keys ``student.*``, ``teacher.*`` and distillation modules;
    loaded into a plain ``ImageClassifier`` none of them matches, and MMEngine loads 0 tensors
    with only a warning. If the model has no ``student.*`` keys of its own, matches none of
    the checkpoint's keys, and the checkpoint has ``student.*`` keys, ``checkpoint
    ['state_dict']`` is replaced (in place) by the student's weights with the prefix
    stripped.

    Returns:
        bool: Whether the student was taken.

    Raises:
        CheckpointError: the student's keys do not match the model's either.
    """
    state = checkpoint.get('state_dict')
    if not isinstance(state, dict):
        return False
    own = set(model.state_dict())
    if any(k.startswith(STUDENT_PREFIX) for k in own) or own & set(state):
        return False
    student = OrderedDict((k[len(STUDENT_PREFIX):], v) for k, v in state.items()
                          if k.startswith(STUDENT_PREFIX))
    if not student:
        return False
    if not own & set(student):
        raise CheckpointError(
            f'{source} is a distillation checkpoint, and neither its keys nor its student\'s '
            f'(student.* without the prefix, e.g. {next(iter(student))!r}) match the '
            f'model of the config (e.g. {sorted(own)[0]!r}): it was trained for another '
            'architecture; nothing was loaded')
    checkpoint['state_dict'] = student
    return True


@HOOKS.register_module()
class ResumeStateHook(Hook):
    """Make a resumed run continue exactly where the saved one stopped.

    * Every checkpoint stores the RNG states (torch CPU/CUDA, numpy, ``random``) of the moment
      it is written; ``--resume`` restores them at ``before_train``. The data order comes
      from the sampler's seed + epoch: MMEngine records the run's seed in ``meta['seed']``
      (the drawn one when ``randomness.seed=None``), and on resume the train sampler and the
      workers' seeds are rebuilt from it (:func:`reseed_train_data`) -- MMEngine builds them
      with the new process's seed, which for ``seed=None`` is another draw. The
      augmentations (numpy/``random`` in the main process, or workers re-seeded per epoch
      from the seed) continue from the restored states, so a resumed CPU run is
      bit-identical to the uninterrupted one, with or without a fixed seed. Not covered:
      ``persistent_workers=True`` with ``num_workers > 0`` (the workers' own states are not
      saved), and distributed runs with ``randomness.diff_rank_seed=True`` (only rank 0's
      states are saved; not restored).
    * Validation during training runs between the save and the next epoch; it gets its
      own RNG draws and puts the training states back afterwards, so it does not shift the
      training stream (and the uninterrupted and the resumed run see the same one).
    * ``--resume`` without a path (``resume=True``, ``load_from=None``) that finds no
      checkpoint in the work dir logs a loud warning naming the work dir: the run starts from
      scratch, as MMEngine does (so "always pass ``--resume``" restart scripts keep working).
    * ``load_from`` (not a resume) of a distillation checkpoint into a plain classifier loads
      its student (:func:`student_of_distillation_checkpoint`) instead of 0 keys.
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
        """On resume, keep the saved RNG states and re-seed the data order from the run's seed;
        on ``load_from``, take the student of a distillation checkpoint for a plain model."""
        if not getattr(runner, '_resume', False):
            source = f'load_from {runner._load_from!r}' if runner._load_from else \
                'the loaded checkpoint'
            if student_of_distillation_checkpoint(unwrap(runner.model), checkpoint, source):
                runner.logger.info(f'{source} is a distillation '
                                   'checkpoint: loading its student (student.* keys without '
                                   'the prefix); teacher and distillation modules dropped.')
            return
        meta = checkpoint.get('meta') or {}
        diff_rank = get_world_size() > 1 and runner._randomness_cfg.get('diff_rank_seed', False)
        seed = meta.get('seed')
        if isinstance(seed, int) and not diff_rank and \
                isinstance(getattr(runner, '_train_loop', None), BaseLoop) and \
                reseed_train_data(runner, seed):
            runner.logger.info(f'Rebuilt the train data order from the resumed run\'s seed '
                               f'{seed}.')
        self._pending = meta.get(RNG_KEY)
        if self._pending is not None and diff_rank:
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
