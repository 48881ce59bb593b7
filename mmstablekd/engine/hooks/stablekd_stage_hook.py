"""Switch StableKD's training stage (its active partition) at epoch boundaries."""
from typing import List

from mmpretrain.utils import get_ori_model

from mmstablekd.registry import HOOKS
from mmstablekd.utils.stages import stage_epochs as derive_stage_epochs
from .stage_plan import StageHook, drop_stale_losses, iter_schedulers

#: The bare model inside an (MM)DDP wrapper (kept for the hooks that import it from here).
unwrap = get_ori_model

__all__ = ['StableKDStageHook', 'drop_stale_losses', 'iter_schedulers', 'unwrap',
           'warn_if_lr_not_stage_cyclic']


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
class StableKDStageHook(StageHook):
    """Set the StableKD stage from the epoch and log the active partition.

    The stage of epoch ``e`` (0-based) follows from the stage epochs, which are derived from
    ``train_cfg.max_epochs`` by the paper's rule (``utils/stages.py``) unless given
    explicitly on the model or here. See :class:`~.stage_plan.StageHook` for the protocol
    (stage recomputed every epoch, plan saved with checkpoints, resume with another plan
    refused).

    At ``before_run`` the model, this hook and any ``StageCyclicLR`` scheduler must agree on
    the number of stages and their epochs; otherwise a ``ValueError`` says who disagrees. A
    warning is logged when the LR is not stage-cyclic (no ``StageCyclicLR``; with a single
    stage a ``OneCycleLR`` is one cycle per stage too).

    Args:
        stage_epochs (Sequence[int], optional): Explicit epochs per stage.
    """

    method = 'StableKD'
    model_type = 'StableKD'
    scalar_name = 'stablekd_stage'

    def resolve_epochs(self, runner, model) -> List[int]:
        """The paper's rule from ``max_epochs``, or the model's / this hook's stage epochs."""
        model_epochs = getattr(model, 'stage_epochs', None)
        if self.stage_epochs and model_epochs and list(model_epochs) != self.stage_epochs:
            raise ValueError(f'custom_hooks {type(self).__name__}.stage_epochs='
                             f'{self.stage_epochs} disagrees with '
                             f'model.stage_epochs={model_epochs}')
        try:
            return derive_stage_epochs(runner.max_epochs, model.num_stages,
                                       self.stage_epochs or model_epochs)
        except ValueError as e:
            raise ValueError(f'{type(self).__name__}: {e}') from None

    def check_schedulers(self, runner, model) -> None:
        """Stage-cyclic schedulers must use the same stages; warn if none is stage-cyclic."""
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

    def plan(self, runner) -> dict:
        """``max_epochs``, ``stage_epochs`` and ``num_recompositions``."""
        return dict(max_epochs=runner.max_epochs, stage_epochs=list(self.epochs),
                    num_recompositions=self._model(runner).num_stages - 1)

    def describe(self, model) -> str:
        """E.g. ``StableKD: 3 stage(s) of [2, 2, 2] epochs; partitions {1}{2}.. -> ...``."""
        return (f'StableKD: {model.num_stages} stage(s) of {self.epochs} epochs; partitions '
                + ' -> '.join(model.partition_str(s) for s in range(model.num_stages)))
