"""Switch StableKD's training stage (its active partition) at epoch boundaries."""
from typing import List, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop

from mmstablekd.registry import HOOKS
from mmstablekd.utils.stages import stage_at
from mmstablekd.utils.stages import stage_epochs as derive_stage_epochs


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


@HOOKS.register_module()
class StableKDStageHook(Hook):
    """Set the StableKD stage from the epoch and log the active partition.

    The stage of epoch ``e`` (0-based) follows from the stage epochs, which are derived from
    ``train_cfg.max_epochs`` by the paper's rule (``utils/stages.py``) unless given
    explicitly on the model or here. The stage is recomputed from ``runner.epoch`` before
    every epoch, so ``--resume`` into the middle of any stage continues correctly.

    At ``before_run`` the model, this hook and any ``StageCyclicLR`` scheduler must agree on
    the number of stages and their epochs; otherwise a ``ValueError`` says who disagrees.

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
        runner.logger.info(
            f'StableKD: {model.num_stages} stage(s) of {self.epochs} epochs; partitions '
            + ' -> '.join(model.partition_str(s) for s in range(model.num_stages)))

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
