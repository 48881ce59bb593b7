"""Switch SSKD's training phase (backbone stage 1..K, then the head) at epoch boundaries."""
from typing import List

from mmengine.runner import EpochBasedTrainLoop
from mmpretrain.utils import get_ori_model

from mmstablekd.engine.schedulers.stage_step_lr import StageStepParamScheduler
from mmstablekd.models.distillers.sskd import SSKD
from mmstablekd.registry import HOOKS
from mmstablekd.utils.stages import stage_epochs as derive_stage_epochs
from .stage_plan import StageHook, iter_schedulers


@HOOKS.register_module()
class SSKDStageHook(StageHook):
    """Set the SSKD phase from the epoch: ``K`` backbone stages, then the head phase.

    Phase ``p`` covers ``stage_epochs[p]`` epochs; ``model.set_stage`` re-applies the
    freezing. See :class:`~.stage_plan.StageHook` for the protocol (phase recomputed every
    epoch, so ``--resume`` into the middle of any phase continues in that phase; plan saved
    with checkpoints; resume with another plan refused).

    ``stage_epochs`` must have ``K + 1`` positive entries (one per backbone stage, then the
    head phase) summing to ``train_cfg.max_epochs``; this is checked at ``before_run``. By
    default the epochs are split evenly (the last phase takes the remainder).

    Args:
        stage_epochs (Sequence[int], optional): Epochs of every phase.
    """

    method = 'SSKD'
    model_type = 'SSKD'
    scalar_name = 'sskd_stage'

    def _model(self, runner):
        model = get_ori_model(runner.model)
        if not isinstance(model, SSKD):
            raise TypeError(f'SSKDStageHook needs model.type="SSKD", got {type(model).__name__}')
        return model

    def resolve_epochs(self, runner, model) -> List[int]:
        """``stage_epochs`` (K + 1 entries) or an even split of ``max_epochs``."""
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            raise TypeError('SSKDStageHook switches phases by epoch: use '
                            "train_cfg=dict(by_epoch=True, max_epochs=...)")
        if self.stage_epochs is not None and len(self.stage_epochs) != model.num_stages:
            raise ValueError(
                f'SSKDStageHook.stage_epochs={self.stage_epochs} must have {model.num_stages} '
                f'entries: one per backbone stage ({model.num_stages - 1}, model.boundaries) '
                'and one for the head phase')
        if self.stage_epochs is None and runner.max_epochs < model.num_stages:
            raise ValueError(
                f'SSKDStageHook: train_cfg.max_epochs={runner.max_epochs} is smaller than the '
                f'number of SSKD phases ({model.num_stages}); every phase needs an epoch')
        try:
            return derive_stage_epochs(runner.max_epochs, model.num_stages, self.stage_epochs)
        except ValueError as e:
            raise ValueError(f'SSKDStageHook: {e}') from None

    def check_schedulers(self, runner, model) -> None:
        """Raise if a per-stage LR schedule (``StageStepLR``) restarts at other epochs than
        the phases (e.g. ``stage_epochs`` given to only one of them)."""
        for scheduler in iter_schedulers(getattr(runner, 'param_schedulers', None)):
            if isinstance(scheduler, StageStepParamScheduler) and \
                    scheduler.stage_epochs != self.epochs:
                raise ValueError(
                    f'SSKDStageHook phases of {self.epochs} epochs, but param_scheduler '
                    f'{type(scheduler).__name__} restarts the LR at phases of '
                    f'{scheduler.stage_epochs} epochs: give both the same stage_epochs '
                    '(or neither)')

    def plan(self, runner) -> dict:
        """``max_epochs``, ``stage_epochs`` and ``num_stages``."""
        return dict(max_epochs=runner.max_epochs, stage_epochs=list(self.epochs),
                    num_stages=self._model(runner).num_stages)

    def describe(self, model) -> str:
        """E.g. ``SSKD phases: stage 1/4 (backbone.layer1): 3 epochs, ...``."""
        return 'SSKD phases: ' + ', '.join(
            f'{model.phase_str(p)}: {e} epochs' for p, e in enumerate(self.epochs))
