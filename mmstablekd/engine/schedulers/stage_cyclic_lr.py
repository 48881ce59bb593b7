"""Per-stage triangular2 cyclic learning rate of StableKD (paper App. B, DnD Table 5)."""
from typing import Optional, Sequence, Tuple

from mmengine.logging import MMLogger
from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF

from mmstablekd.registry import PARAM_SCHEDULERS
from .staged_param_scheduler import StagedParamScheduler


class StageCyclicParamScheduler(StagedParamScheduler):
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

    Drop-in default: the cycle peaks at the optimizer's own value (``peak_ratio=1``) and its
    base is ``3e-4`` of it, the paper's base:peak proportion (3e-3 : 10), so adding this
    scheduler to an existing config never raises its learning rate. The paper's recipe
    (App. B, DnD Table 5: base ``3e-3*lr``, peak ``10*lr``) is ``base_ratio=3e-3,
    peak_ratio=10``, as every StableKD config under ``configs/`` states explicitly. The range
    is logged once when the scheduler is built, as a warning when the peak exceeds the
    optimizer's value.

    Args:
        optimizer: Wrapped optimizer.
        param_name (str): Parameter to schedule.
        num_stages (int): n+1 for StableKD-k/n.
        stage_epochs (Sequence[int], optional): explicit epochs (or iterations when
            ``by_epoch=False``) per stage.
        base_ratio (float): base / initial value. Defaults to 3e-4 (paper: 3e-3 with
            ``peak_ratio=10``).
        peak_ratio (float): peak / initial value. Defaults to 1 (the optimizer's value;
            paper: 10).
        begin, end, last_step, by_epoch, verbose: as in MMEngine's schedulers.
        epoch_length (int, optional): iterations per epoch, set when converted to iter-based.
    """

    def __init__(self,
                 optimizer,
                 param_name: str,
                 num_stages: int,
                 stage_epochs: Optional[Sequence[int]] = None,
                 base_ratio: float = 3e-4,
                 peak_ratio: float = 1.0,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False,
                 epoch_length: Optional[int] = None):
        if not 0 <= base_ratio <= peak_ratio:
            raise ValueError(f'param_scheduler: need 0 <= base_ratio <= peak_ratio, got '
                             f'{base_ratio} and {peak_ratio}')
        self.base_ratio = base_ratio
        self.peak_ratio = peak_ratio
        super().__init__(optimizer, param_name, num_stages, stage_epochs, begin, end,
                         last_step, by_epoch, verbose, epoch_length)
        self.log_range()

    def log_range(self) -> None:
        """Log the cycle's base and peak once (a warning when the peak exceeds the
        optimizer's value, i.e. ``peak_ratio > 1``)."""
        name, key = type(self).__name__, f'initial_{self.param_name}'
        initial = max(group[key] for group in self.optimizer.param_groups)
        msg = (f'{name}: {self.param_name} cycles from base {self.base_ratio * initial:.4g} to '
               f'peak {self.peak_ratio * initial:.4g} (base_ratio={self.base_ratio:g}, '
               f'peak_ratio={self.peak_ratio:g} x the optimizer\'s {self.param_name}='
               f'{initial:.4g}).')
        logger = MMLogger.get_current_instance()
        if self.peak_ratio > 1:
            logger.warning(f'{msg} The peak is {self.peak_ratio:g}x the optimizer\'s value (as '
                           'configured); peak_ratio=1 keeps it at the optimizer\'s value.')
        else:
            logger.info(msg)

    def triangle_at(self, step: int) -> Tuple[int, float]:
        """Stage and height of the unit triangle (0 at a stage's ends, 1 mid-stage) at
        ``step`` steps after ``begin``; a closed form in ``step`` (exact after a resume)."""
        stage, offset, length = self.stage_at(step)
        u = min(max(offset / length, 0.0), 1.0)
        return stage, (2 * u if u < 0.5 else 2 * (1 - u))

    def factor_at(self, step: int) -> float:
        """Value / initial value at ``step`` steps after ``begin``."""
        stage, tri = self.triangle_at(step)
        amplitude = (self.peak_ratio - self.base_ratio) / 2**stage
        return self.base_ratio + amplitude * tri


@PARAM_SCHEDULERS.register_module()
class StageCyclicLR(LRSchedulerMixin, StageCyclicParamScheduler):
    """StableKD's per-stage triangular2 learning rate; see :class:`StageCyclicParamScheduler`.

    Example (the paper's range, stated explicitly; without the ratios the cycle peaks at the
    optimizer's ``lr``)::

        param_scheduler = dict(type='StageCyclicLR', num_stages=3, base_ratio=3e-3,
                               peak_ratio=10.0, by_epoch=True, convert_to_iter_based=True)
    """
