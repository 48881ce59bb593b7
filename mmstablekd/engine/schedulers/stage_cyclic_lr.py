"""Per-stage triangular2 cyclic learning rate of StableKD (paper App. B, DnD Table 5)."""
from typing import List, Optional, Sequence, Tuple

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler

from mmstablekd.registry import PARAM_SCHEDULERS
from mmstablekd.utils.stages import stage_epochs as derive_stage_epochs


class StageCyclicParamScheduler(_ParamScheduler):
    r"""One triangle per training stage, the amplitude halving every stage.

    With ``v0`` the optimizer's initial value (e.g. ``optimizer.lr``), ``base = base_ratio*v0``
    and ``peak = peak_ratio*v0``, stage ``s`` spanning steps ``[S_s, S_s + L_s)`` and
    ``u = (t - S_s) / L_s``:

    .. math::
        v(t) = base + \frac{peak - base}{2^s} \cdot
            \begin{cases} 2u & u < 1/2 \\ 2(1 - u) & u \ge 1/2 \end{cases}

    i.e. linear warm-up over the first half of the stage and linear annealing over the
    second. Stage lengths are derived from the scheduler's span ``end - begin`` (by default
    ``train_cfg.max_epochs``) with the same rule the ``StableKD`` model and the
    ``StableKDStageHook`` use, unless ``stage_epochs`` is given. With
    ``convert_to_iter_based=True`` the value is updated every iteration.

    Args:
        optimizer: Wrapped optimizer.
        param_name (str): Parameter to schedule.
        num_stages (int): n+1 for StableKD-k/n.
        stage_epochs (Sequence[int], optional): explicit epochs (or iterations when
            ``by_epoch=False``) per stage.
        base_ratio (float): base / initial value. Defaults to 3e-3.
        peak_ratio (float): peak / initial value. Defaults to 10.
        begin, end, last_step, by_epoch, verbose: as in MMEngine's schedulers.
        epoch_length (int, optional): iterations per epoch, set when converted to iter-based.
    """

    def __init__(self,
                 optimizer,
                 param_name: str,
                 num_stages: int,
                 stage_epochs: Optional[Sequence[int]] = None,
                 base_ratio: float = 3e-3,
                 peak_ratio: float = 10.0,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False,
                 epoch_length: Optional[int] = None):
        if not isinstance(num_stages, int) or num_stages < 1:
            raise ValueError(f'param_scheduler.num_stages must be an int >= 1, got {num_stages!r}')
        if end == INF:
            raise ValueError(f'{type(self).__name__} needs a finite `end`; leave it unset to '
                             'use train_cfg.max_epochs')
        if not 0 <= base_ratio <= peak_ratio:
            raise ValueError(f'param_scheduler: need 0 <= base_ratio <= peak_ratio, got '
                             f'{base_ratio} and {peak_ratio}')
        self.num_stages = num_stages
        self.base_ratio = base_ratio
        self.peak_ratio = peak_ratio
        self.epoch_length = epoch_length
        scale = epoch_length if epoch_length else 1
        span = (end - begin) // scale
        try:
            self.stage_epochs = derive_stage_epochs(span, num_stages, stage_epochs)
        except ValueError as e:
            raise ValueError(f'param_scheduler ({type(self).__name__}): {e}') from None
        self.stage_lengths = [e * scale for e in self.stage_epochs]
        self.stage_lengths[-1] += (end - begin) - sum(self.stage_lengths)
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

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

    def triangle_at(self, step: int) -> Tuple[int, float]:
        """Stage and height of the unit triangle (0 at a stage's ends, 1 mid-stage) at
        ``step`` steps after ``begin``; a closed form in ``step`` (exact after a resume)."""
        start = 0
        for stage, length in enumerate(self.stage_lengths):
            if step < start + length or stage == self.num_stages - 1:
                u = min(max((step - start) / length, 0.0), 1.0)
                return stage, (2 * u if u < 0.5 else 2 * (1 - u))
            start += length
        raise AssertionError('unreachable')

    def factor_at(self, step: int) -> float:
        """Value / initial value at ``step`` steps after ``begin``."""
        stage, tri = self.triangle_at(step)
        amplitude = (self.peak_ratio - self.base_ratio) / 2**stage
        return self.base_ratio + amplitude * tri

    def _get_value(self) -> List[float]:
        factor = self.factor_at(self.last_step - self.begin)
        return [group[f'initial_{self.param_name}'] * factor
                for group in self.optimizer.param_groups]


@PARAM_SCHEDULERS.register_module()
class StageCyclicLR(LRSchedulerMixin, StageCyclicParamScheduler):
    """StableKD's per-stage triangular2 learning rate; see :class:`StageCyclicParamScheduler`.

    Example::

        param_scheduler = dict(type='StageCyclicLR', num_stages=3, by_epoch=True,
                               convert_to_iter_based=True)
    """
