"""What StableKD's and SSKD's per-stage parameter schedulers share: the stage lengths."""
from typing import List, Optional, Sequence, Tuple

from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler

from mmstablekd.utils.stages import stage_epochs as derive_stage_epochs


class StagedParamScheduler(_ParamScheduler):
    """A parameter schedule made of ``num_stages`` consecutive training stages.

    Stage lengths are derived from the scheduler's span ``end - begin`` (by default
    ``train_cfg.max_epochs``) with the rule the distillers and stage hooks use
    (:func:`mmstablekd.utils.stages.stage_epochs`), unless ``stage_epochs`` is given. With
    ``convert_to_iter_based=True`` the value is updated every iteration. Subclasses define
    :meth:`factor_at`, the value / initial value as a closed form of the step, so a resumed run
    continues exactly.

    Args:
        optimizer: Wrapped optimizer.
        param_name (str): Parameter to schedule.
        num_stages (int): Number of training stages.
        stage_epochs (Sequence[int], optional): Explicit epochs (or iterations when
            ``by_epoch=False``) per stage.
        begin, end, last_step, by_epoch, verbose: as in MMEngine's schedulers.
        epoch_length (int, optional): Iterations per epoch, set when converted to iter-based.
    """

    def __init__(self,
                 optimizer,
                 param_name: str,
                 num_stages: int,
                 stage_epochs: Optional[Sequence[int]] = None,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False,
                 epoch_length: Optional[int] = None):
        name = type(self).__name__
        self.check_num_stages(num_stages)
        if end == INF:
            raise ValueError(f'{name} needs a finite `end`; leave it unset to use '
                             'train_cfg.max_epochs')
        self.num_stages = num_stages
        self.epoch_length = epoch_length
        scale = epoch_length if epoch_length else 1
        try:
            self.stage_epochs = derive_stage_epochs((end - begin) // scale, num_stages,
                                                    stage_epochs)
        except ValueError as e:
            raise ValueError(f'param_scheduler ({name}): {e}') from None
        self.stage_lengths = [e * scale for e in self.stage_epochs]
        self.stage_lengths[-1] += (end - begin) - sum(self.stage_lengths)
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    @staticmethod
    def check_num_stages(num_stages) -> None:
        """Raise a ValueError naming ``param_scheduler.num_stages`` unless it is an int >= 1."""
        if isinstance(num_stages, bool) or not isinstance(num_stages, int) or num_stages < 1:
            raise ValueError(f'param_scheduler.num_stages must be an int >= 1, got {num_stages!r}')

    @classmethod
    def build_iter_from_epoch(cls, *args, begin=0, end=INF, by_epoch=True, epoch_length=None,
                              **kwargs):
        """Build an iteration-based instance from an epoch-based config."""
        if not by_epoch:
            raise ValueError('Only epoch-based configs (by_epoch=True) can be converted')
        if end == INF:
            raise ValueError(f'{cls.__name__} needs a finite `end`')
        return cls(*args, begin=int(begin * epoch_length), end=int(end * epoch_length),
                   by_epoch=False, epoch_length=epoch_length, **kwargs)

    def stage_at(self, step: int) -> Tuple[int, int, int]:
        """``(stage, steps into that stage, stage length)`` at ``step`` steps after ``begin``
        (steps past the end count in the last stage)."""
        start = 0
        for stage, length in enumerate(self.stage_lengths):
            if step < start + length or stage == self.num_stages - 1:
                return stage, step - start, length
            start += length
        raise AssertionError('unreachable')

    def factor_at(self, step: int) -> float:
        """Value / initial value at ``step`` steps after ``begin``."""
        raise NotImplementedError

    def _get_value(self) -> List[float]:
        factor = self.factor_at(self.last_step - self.begin)
        return [group[f'initial_{self.param_name}'] * factor
                for group in self.optimizer.param_groups]
