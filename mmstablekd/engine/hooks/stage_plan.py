"""The stage plan of a staged run, saved with every checkpoint and checked on resume.

A resumed run continues the saved schedule: the epoch counter, the LR scheduler state and the
stage all come from the checkpoint. If ``train_cfg.max_epochs``, the stage epochs or the number
of stages changed in between, the new plan and the restored state disagree (the stage can go
backwards, the LR freeze at its base value), so :func:`check_resumed_plan` refuses that resume.
The stage hooks (``StableKDStageHook``, ``SSKDStageHook``) are each a :class:`StageHook`: one
protocol that drives a staged distiller's stage from the epoch, stores the plan with
:func:`save_plan` in ``before_save_checkpoint`` and checks it in ``after_load_checkpoint``.
"""
from typing import List, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.runner import BaseLoop, find_latest_checkpoint
from mmpretrain.utils import get_ori_model

from mmstablekd.utils.stages import stage_at

PLAN_KEY = 'stage_plan'


def save_plan(checkpoint: dict, plan: dict) -> None:
    """Put ``plan`` (e.g. ``{'max_epochs': 6, 'stage_epochs': [2, 2, 2]}``) into the meta."""
    checkpoint.setdefault('meta', {})[PLAN_KEY] = dict(plan)


def saved_plan(checkpoint: dict) -> Optional[dict]:
    """The plan stored in ``checkpoint``; for checkpoints written before plans were stored,
    the stage epochs of a stage-cyclic scheduler state if there is one, else None."""
    plan = (checkpoint.get('meta') or {}).get(PLAN_KEY)
    if plan is not None:
        return dict(plan)
    states = checkpoint.get('param_schedulers') or []
    if isinstance(states, dict):
        states = [s for group in states.values() for s in group]
    for state in states:
        if isinstance(state, dict) and 'stage_epochs' in state and 'num_stages' in state:
            return dict(stage_epochs=list(state['stage_epochs']))
    return None


def check_resumed_plan(runner, checkpoint: dict, plan: dict, owner: str) -> None:
    """Raise if ``runner`` resumes ``checkpoint`` with a stage plan other than the saved one.

    Does nothing when the checkpoint is loaded with ``load_from`` (no resume): that starts a
    new schedule from the weights.

    Args:
        runner: The MMEngine runner (``runner._resume`` tells a resume from a load).
        checkpoint (dict): The loaded checkpoint.
        plan (dict): The current plan; keys are config fields, e.g. ``max_epochs``.
        owner (str): Who checks (named in the message), e.g. ``'StableKDStageHook'``.

    Raises:
        ValueError: naming every field that changed, old and new value.
    """
    if not getattr(runner, '_resume', False):
        return
    saved = saved_plan(checkpoint)
    if saved is None:
        return
    changed = [f'{_field(k)}: {saved[k]} -> {plan[k]}' for k in plan
               if k in saved and _norm(saved[k]) != _norm(plan[k])]
    if not changed:
        return
    path = runner._load_from or find_latest_checkpoint(runner.work_dir) or 'the checkpoint'
    raise ValueError(
        f'{owner}: cannot resume from {path}: the stage plan changed since it was saved ('
        + '; '.join(changed) + '). A resumed run continues the saved schedule (epoch, stage, '
        'LR scheduler state), which the new plan contradicts: the stage would jump and the LR '
        'would not follow the stages. Resume with the original settings, or start a new '
        f'schedule from these weights with load_from (no --resume): --cfg-options '
        f'load_from={path}')


def _field(key: str) -> str:
    return 'train_cfg.max_epochs' if key == 'max_epochs' else key


def _norm(value):
    return list(value) if isinstance(value, (list, tuple)) else value


def drop_stale_losses(runner, prefix: str = 'train/loss_') -> None:
    """Forget logged per-term losses when a stage change ends some of them.

    MMEngine's message hub keeps every scalar it has seen, so a loss term that a new stage no
    longer produces (e.g. ``loss_mse_b1`` after the first recomposition) would go on being
    logged with its last value. Terms that still exist refill at the next iteration.
    """
    scalars = runner.message_hub.log_scalars
    for key in [k for k in scalars if k.startswith(prefix)]:
        scalars.pop(key)


def iter_schedulers(param_schedulers) -> list:
    """Flatten the runner's ``param_schedulers`` (list, or dict of lists)."""
    if param_schedulers is None:
        return []
    if isinstance(param_schedulers, dict):
        return [s for group in param_schedulers.values() for s in group]
    return list(param_schedulers)


class StageHook(Hook):
    """The one protocol by which a hook drives a staged distiller's stage from the epoch.

    The distiller (a :class:`~mmstablekd.models.distillers.blockwise.BlockwiseDistiller`)
    offers ``num_stages``, ``stage``, ``set_stage(stage)``, ``stage_str(stage)`` and a
    ``stage_driver`` slot. The hook:

    * ``before_run``: resolves the epochs of every stage (:meth:`resolve_epochs`), checks the
      schedulers against them (:meth:`check_schedulers`), registers itself as the model's
      ``stage_driver`` and logs the plan (nothing happens in a test/val-only run);
    * ``before_train_epoch``: enters the stage that contains ``runner.epoch`` (recomputed
      every epoch, so ``--resume`` into the middle of any stage continues correctly) and on a
      change drops stale loss scalars and logs ``<method> stage s/S from epoch e: ...``;
    * saves the stage plan with every checkpoint and refuses a resume with another plan
      (:func:`save_plan` / :func:`check_resumed_plan`);
    * logs the stage with the training scalars (``train/<scalar_name>``).

    Subclasses set :attr:`method` / :attr:`model_type` / :attr:`scalar_name` and implement
    :meth:`resolve_epochs`, :meth:`check_schedulers` and :meth:`plan`.

    Args:
        stage_epochs (Sequence[int], optional): Explicit epochs per stage.
    """

    priority = 'NORMAL'
    #: Method name in log lines, e.g. ``'StableKD'``.
    method = 'staged'
    #: ``model.type`` the hook drives (named in the error for another model).
    model_type = 'StableKD'
    #: Scalar logged every iteration (under ``train/``).
    scalar_name = 'stage'

    def __init__(self, stage_epochs: Optional[Sequence[int]] = None) -> None:
        if stage_epochs is not None and (not isinstance(stage_epochs, (list, tuple)) or not all(
                isinstance(e, int) and not isinstance(e, bool) for e in stage_epochs)):
            raise TypeError(f'{type(self).__name__}.stage_epochs must be a list of ints, '
                            f'got {stage_epochs!r}')
        self.stage_epochs = list(stage_epochs) if stage_epochs is not None else None
        self.epochs: List[int] = []
        self._announced: Optional[int] = None

    def _model(self, runner):
        model = get_ori_model(runner.model)
        if not all(hasattr(model, a) for a in ('set_stage', 'num_stages', 'stage_str')):
            raise TypeError(f'{type(self).__name__} needs a staged distiller (e.g. '
                            f'model.type="{self.model_type}"), got {type(model).__name__}')
        return model

    def resolve_epochs(self, runner, model) -> List[int]:
        """Epochs of every stage for this run."""
        raise NotImplementedError

    def check_schedulers(self, runner, model) -> None:
        """Raise (or warn) when a scheduler disagrees with the stage epochs."""

    def plan(self, runner) -> dict:
        """The stage plan saved with checkpoints (``max_epochs``, ``stage_epochs``, ...)."""
        return dict(max_epochs=runner.max_epochs, stage_epochs=list(self.epochs))

    def describe(self, model) -> str:
        """The plan as logged at ``before_run``."""
        return f'{self.method}: ' + ', '.join(
            f'{model.stage_str(s)}: {e} epochs' for s, e in enumerate(self.epochs))

    def before_run(self, runner) -> None:
        """Resolve the stage epochs and check model, hook and schedulers agree."""
        if not isinstance(runner._train_loop, BaseLoop):  # test/val-only run
            return
        model = self._model(runner)
        self.epochs = self.resolve_epochs(runner, model)
        self.check_schedulers(runner, model)
        model.stage_driver = type(self).__name__
        runner.logger.info(self.describe(model))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store the stage plan in ``checkpoint['meta']``."""
        if self.epochs:
            save_plan(checkpoint, self.plan(runner))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Refuse to resume a checkpoint whose stage plan differs from this run's."""
        if self.epochs:
            check_resumed_plan(runner, checkpoint, self.plan(runner), type(self).__name__)

    def before_train_epoch(self, runner) -> None:
        """Enter the stage that contains ``runner.epoch``; log a change of stage."""
        model = self._model(runner)
        stage = stage_at(runner.epoch, self.epochs)
        model.set_stage(stage)
        if stage != self._announced:
            drop_stale_losses(runner)
            runner.logger.info(f'{self.method} stage {stage}/{model.num_stages - 1} from '
                               f'epoch {runner.epoch + 1}: {model.stage_str()}')
            self._announced = stage

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Log the current stage with the training scalars."""
        runner.message_hub.update_scalar(f'train/{self.scalar_name}',
                                         self._model(runner).stage)
