"""Switch SSKD's training phase (backbone stage 1..K, then the head) at epoch boundaries."""
from typing import List, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.runner import BaseLoop, EpochBasedTrainLoop

from mmstablekd.engine.schedulers.stage_step_lr import StageStepParamScheduler
from mmstablekd.models.distillers.sskd import SSKD
from mmstablekd.registry import HOOKS
from mmstablekd.utils.stages import stage_at
from mmstablekd.utils.stages import stage_epochs as derive_stage_epochs
from .stablekd_stage_hook import drop_stale_losses, unwrap
from .stage_plan import check_resumed_plan, save_plan


@HOOKS.register_module()
class SSKDStageHook(Hook):
    """Set the SSKD phase from the epoch: ``K`` backbone stages, then the head phase.

    Phase ``p`` covers ``stage_epochs[p]`` epochs. The phase is recomputed from
    ``runner.epoch`` before every epoch (and ``model.set_stage`` re-applies the freezing), so
    ``--resume`` into the middle of any phase continues in that phase.

    ``stage_epochs`` must have ``K + 1`` positive entries (one per backbone stage, then the
    head phase) summing to ``train_cfg.max_epochs``; this is checked at ``before_run``. By
    default the epochs are split evenly (the last phase takes the remainder). The phase plan
    is saved with every checkpoint, and a resume with another plan is refused
    (see ``stage_plan.py``).

    Args:
        stage_epochs (Sequence[int], optional): Epochs of every phase.
    """

    priority = 'NORMAL'

    def __init__(self, stage_epochs: Optional[Sequence[int]] = None) -> None:
        if stage_epochs is not None and (not isinstance(stage_epochs, (list, tuple)) or not all(
                isinstance(e, int) and not isinstance(e, bool) for e in stage_epochs)):
            raise TypeError(f'SSKDStageHook.stage_epochs must be a list of ints, '
                            f'got {stage_epochs!r}')
        self.stage_epochs = list(stage_epochs) if stage_epochs is not None else None
        self.epochs: List[int] = []
        self._announced: Optional[int] = None

    @staticmethod
    def _model(runner):
        model = unwrap(runner.model)
        if not isinstance(model, SSKD):
            raise TypeError(f'SSKDStageHook needs model.type="SSKD", got {type(model).__name__}')
        return model

    def before_run(self, runner) -> None:
        """Check the phase epochs against the model and ``train_cfg.max_epochs``."""
        if not isinstance(runner._train_loop, BaseLoop):  # test/val-only run
            return
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            raise TypeError('SSKDStageHook switches phases by epoch: use '
                            "train_cfg=dict(by_epoch=True, max_epochs=...)")
        model = self._model(runner)
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
            self.epochs = derive_stage_epochs(runner.max_epochs, model.num_stages,
                                              self.stage_epochs)
        except ValueError as e:
            raise ValueError(f'SSKDStageHook: {e}') from None
        model.stage_driver = type(self).__name__
        runner.logger.info('SSKD phases: ' + ', '.join(
            f'{model.phase_str(p)}: {e} epochs' for p, e in enumerate(self.epochs)))
        check_lr_phases(runner, self.epochs)

    def _plan(self, runner) -> dict:
        return dict(max_epochs=runner.max_epochs, stage_epochs=list(self.epochs),
                    num_stages=self._model(runner).num_stages)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store the phase plan in ``checkpoint['meta']``."""
        if self.epochs:
            save_plan(checkpoint, self._plan(runner))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Refuse to resume a checkpoint whose phase plan differs from this run's."""
        if self.epochs:
            check_resumed_plan(runner, checkpoint, self._plan(runner), type(self).__name__)

    def before_train_epoch(self, runner) -> None:
        """Enter the phase that contains ``runner.epoch``."""
        model = self._model(runner)
        stage = stage_at(runner.epoch, self.epochs)
        model.set_stage(stage)
        if self._announced != stage:
            self._announced = stage
            drop_stale_losses(runner)
            runner.logger.info(f'SSKD from epoch {runner.epoch + 1}: {model.phase_str()}')
        runner.message_hub.update_info('sskd_stage', stage)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Log the current phase with the training scalars."""
        runner.message_hub.update_scalar('train/sskd_stage', self._model(runner).stage)


def check_lr_phases(runner, epochs: List[int]) -> None:
    """Raise if a per-stage LR schedule (``StageStepLR``) restarts at other epochs than the
    phases of ``SSKDStageHook`` (e.g. ``stage_epochs`` given to only one of them)."""
    schedulers = getattr(runner, 'param_schedulers', None) or []
    if isinstance(schedulers, dict):
        schedulers = [s for group in schedulers.values() for s in group]
    for scheduler in schedulers:
        if isinstance(scheduler, StageStepParamScheduler) and scheduler.stage_epochs != epochs:
            raise ValueError(
                f'SSKDStageHook phases of {epochs} epochs, but param_scheduler '
                f'{type(scheduler).__name__} restarts the LR at phases of '
                f'{scheduler.stage_epochs} epochs: give both the same stage_epochs (or neither)')
