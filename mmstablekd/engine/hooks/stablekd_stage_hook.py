"""Switch StableKD's training stage (its active partition) at epoch boundaries."""
from typing import List, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop

from mmstablekd.registry import HOOKS
from mmstablekd.utils.stages import stage_at
from mmstablekd.utils.stages import stage_epochs as derive_stage_epochs
from .stage_plan import check_resumed_plan, save_plan


def unwrap(model):
    """The bare model inside an (MM)DDP wrapper."""
    return model.module if is_model_wrapper(model) else model


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


def warn_if_lr_not_stage_cyclic(runner, num_stages: int) -> None:
    """Log a warning unless an LR scheduler restarts its cycle at every StableKD stage.

    A scheduler is stage-cyclic when it has ``num_stages``/``stage_epochs`` (as
    ``StageCyclicLR``); with one stage a ``OneCycleLR`` is one cycle per stage as well.
    """
    lr = [s for s in iter_schedulers(runner.param_schedulers)
          if getattr(s, 'param_name', None) == 'lr']
    if any(hasattr(s, 'stage_epochs') and hasattr(s, 'num_stages') for s in lr):
        return
    if num_stages == 1 and any(type(s).__name__ == 'OneCycleLR' for s in lr):
        return
    names = ', '.join(type(s).__name__ for s in lr) or 'none'
    runner.logger.warning(
        f'StableKD with {num_stages} stage(s) but the LR schedule ({names}) is not '
        'stage-cyclic: the paper restarts a triangular LR cycle at every stage. Use '
        f"param_scheduler=dict(type='StageCyclicLR', num_stages={num_stages}, by_epoch=True, "
        'convert_to_iter_based=True) unless the deviation is deliberate (it peaks at the '
        "optimizer's lr; the paper's range is base_ratio=3e-3, peak_ratio=10).")


@HOOKS.register_module()
class StableKDStageHook(Hook):
    """Set the StableKD stage from the epoch and log the active partition.

    The stage of epoch ``e`` (0-based) follows from the stage epochs, which are derived from
    ``train_cfg.max_epochs`` by the paper's rule (``utils/stages.py``) unless given
    explicitly on the model or here. The stage is recomputed from ``runner.epoch`` before
    every epoch, so ``--resume`` into the middle of any stage continues correctly.

    At ``before_run`` the model, this hook and any ``StageCyclicLR`` scheduler must agree on
    the number of stages and their epochs; otherwise a ``ValueError`` says who disagrees. A
    warning is logged when the LR is not stage-cyclic (no ``StageCyclicLR``; with a single
    stage a ``OneCycleLR`` is one cycle per stage too). The stage plan (``max_epochs``, stage
    epochs, ``num_recompositions``) is saved with every checkpoint, and a resume with another
    plan is refused (see ``stage_plan.py``).

    Args:
        stage_epochs (Sequence[int], optional): Explicit epochs per stage.
    """

    priority = 'NORMAL'

    def __init__(self, stage_epochs: Optional[Sequence[int]] = None) -> None:
        self.stage_epochs = list(stage_epochs) if stage_epochs is not None else None
        self.epochs: List[int] = []
        self._logged_stage: Optional[int] = None

    def _model(self, runner):
        model = unwrap(runner.model)
        if not hasattr(model, 'set_stage') or not hasattr(model, 'num_stages'):
            raise TypeError(f'{type(self).__name__} needs a staged distiller (e.g. '
                            f'model.type="StableKD"), got {type(model).__name__}')
        return model

    def before_run(self, runner) -> None:
        """Resolve the stage epochs and check model, hook and schedulers agree."""
        if not isinstance(runner._train_loop, BaseLoop):  # test/val-only run
            return
        model = self._model(runner)
        model_epochs = getattr(model, 'stage_epochs', None)
        if self.stage_epochs and model_epochs and list(model_epochs) != self.stage_epochs:
            raise ValueError(f'custom_hooks {type(self).__name__}.stage_epochs='
                             f'{self.stage_epochs} disagrees with '
                             f'model.stage_epochs={model_epochs}')
        try:
            self.epochs = derive_stage_epochs(runner.max_epochs, model.num_stages,
                                              self.stage_epochs or model_epochs)
        except ValueError as e:
            raise ValueError(f'{type(self).__name__}: {e}') from None
        for sched in iter_schedulers(runner.param_schedulers):
            if not hasattr(sched, 'stage_epochs') or not hasattr(sched, 'num_stages'):
                continue
            if sched.num_stages != model.num_stages or sched.stage_epochs != self.epochs:
                raise ValueError(
                    f'param_scheduler {type(sched).__name__} has {sched.num_stages} stages of '
                    f'{sched.stage_epochs} epochs, but the model (num_recompositions='
                    f'{model.num_stages - 1}) and {type(self).__name__} use '
                    f'{model.num_stages} stages of {self.epochs} epochs')
        warn_if_lr_not_stage_cyclic(runner, model.num_stages)
        model.stage_driver = type(self).__name__
        runner.logger.info(
            f'StableKD: {model.num_stages} stage(s) of {self.epochs} epochs; partitions '
            + ' -> '.join(model.partition_str(s) for s in range(model.num_stages)))

    def _plan(self, runner) -> dict:
        return dict(max_epochs=runner.max_epochs, stage_epochs=list(self.epochs),
                    num_recompositions=self._model(runner).num_stages - 1)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store the stage plan in ``checkpoint['meta']``."""
        if self.epochs:
            save_plan(checkpoint, self._plan(runner))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Refuse to resume a checkpoint whose stage plan differs from this run's."""
        if self.epochs:
            check_resumed_plan(runner, checkpoint, self._plan(runner), type(self).__name__)

    def before_train_epoch(self, runner) -> None:
        """Enter the stage that contains ``runner.epoch`` and log a change of partition."""
        model = self._model(runner)
        stage = stage_at(runner.epoch, self.epochs)
        model.set_stage(stage)
        if stage != self._logged_stage:
            drop_stale_losses(runner)
            runner.logger.info(f'StableKD stage {stage}/{model.num_stages - 1} from epoch '
                               f'{runner.epoch + 1}: partition {model.partition_str()}')
            self._logged_stage = stage

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Log the current stage with the training scalars."""
        runner.message_hub.update_scalar('train/stablekd_stage', self._model(runner).stage)
